"""Tiny Recursive Model (TRM): depth by recursion of one tiny network (chapter 9).

Jolicoeur-Martineau, "Less is more: recursive reasoning with tiny networks" (2025),
simplifying the Hierarchical Reasoning Model of Wang et al. (2025). A puzzle ``x`` is
embedded once; the model keeps a current answer ``y`` and a latent "scratchpad" ``z``,
both ``(L, B, D)``, and refines them with a single network ``net`` of two mixer blocks:

* **latent recursion**: ``n`` times ``z ← net(x + y + z)``, then ``y ← net(y + z)``;
* **deep recursion**: ``T - 1`` latent recursions without gradient, then one with
  gradient;
* **deep supervision**: up to ``n_sup`` deep recursions, each with its own loss and
  optimizer step; ``(y, z)`` are detached and carried to the next one;
* **halting**: a head on ``y`` predicts whether the current answer is entirely correct.
  The paper uses it during training only (the official code runs every step at test
  time); ``TRM.solve`` lets a puzzle stop at test time as soon as the head says so.

``SingleStateTRM`` is the paper's "single z" ablation: one carried state instead of two.

The blocks mix across positions and then across features, like MLP-Mixer (Tolstikhin et
al., 2021), the variant the paper uses for Sudoku. Sequences are ``(L, B, D)`` as in the
rest of the book; puzzle tokens are ``(L, B)``."""

import math
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from companion.checks import (
    check_dtype,
    check_ids,
    check_integer,
    check_positive_int,
    check_tensor,
)


class MixerBlock(nn.Module):
    """An MLP across positions, then an MLP across features, each residual and
    RMS-normed.

    ``u (L, B, D) → (L, B, D)``. The position MLP has hidden size ``expansion · L``, the
    feature MLP ``expansion · D``; normalisation comes after each residual sum
    (post-norm, as in TRM), which keeps the recursed ``y`` and ``z`` at a fixed scale.
    ``forward`` does not check ``u``: it runs ``n · T`` times per supervision step, on
    what ``TRM.forward`` or ``OnePass.forward`` checked once."""

    def __init__(self, seq_len: int, dim: int, expansion: int = 2):
        super().__init__()
        self.seq_len = check_positive_int("seq_len", seq_len)
        self.dim = check_positive_int("dim", dim)
        check_positive_int("expansion", expansion)
        self.positions = nn.Sequential(
            nn.Linear(seq_len, expansion * seq_len),
            nn.ReLU(),
            nn.Linear(expansion * seq_len, seq_len),
        )
        self.features = nn.Sequential(
            nn.Linear(dim, expansion * dim), nn.ReLU(), nn.Linear(expansion * dim, dim)
        )
        self.norm1, self.norm2 = nn.RMSNorm(dim), nn.RMSNorm(dim)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        mixed = self.positions(u.permute(1, 2, 0)).permute(2, 0, 1)
        u = self.norm1(u + mixed)
        return self.norm2(u + self.features(u))


def tiny_net(
    seq_len: int, dim: int, n_layers: int = 2, expansion: int = 2
) -> nn.Sequential:
    """The shared network: ``n_layers`` mixer blocks, ``(L, B, D) → (L, B, D)``."""
    check_positive_int("n_layers", n_layers)
    return nn.Sequential(
        *[MixerBlock(seq_len, dim, expansion) for _ in range(n_layers)]
    )


class PuzzleEmbedding(nn.Module):
    """Token plus learned position embedding: ``tokens (L, B) long → (L, B, D)``."""

    def __init__(self, vocab_size: int, seq_len: int, dim: int):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.seq_len = check_positive_int("seq_len", seq_len)
        self.tokens = nn.Embedding(vocab_size, check_positive_int("dim", dim))
        self.positions = nn.Parameter(0.1 * torch.randn(seq_len, 1, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        check_tensor("tokens", tokens, (self.seq_len, "B"))
        check_ids("tokens", tokens, self.vocab_size)
        return self.tokens(tokens) + self.positions


class OnePass(nn.Module):
    """The baseline: the same embedding, network and output head as ``TRM``, applied
    once.

    ``tokens (L, B) → logits (L, B, C)``. It has the parameters of a ``TRM`` with the
    same sizes, minus the halting head."""

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        dim: int = 64,
        n_layers: int = 2,
        expansion: int = 2,
    ):
        super().__init__()
        self.embed = PuzzleEmbedding(vocab_size, seq_len, dim)
        self.net = tiny_net(seq_len, dim, n_layers, expansion)
        self.head = nn.Linear(dim, check_positive_int("n_classes", n_classes))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(self.embed(tokens)))


class TRM(nn.Module):
    """Tiny Recursive Model with deep supervision and a halting head.

    ``n`` latent updates per recursion, ``T`` recursions per supervision step (the first
    ``T - 1`` without gradient), ``n_sup`` supervision steps at most. The initial ``y``
    and ``z`` are fixed random vectors ``(D,)`` shared by all positions (buffers, as in
    the official code). With ``full_backprop=True`` (an ablation, not the paper's
    method) the first ``T - 1`` recursions record a graph too, so the gradient goes
    through all ``T``."""

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        n_classes: int,
        dim: int = 64,
        n: int = 2,
        T: int = 2,
        n_sup: int = 4,
        n_layers: int = 2,
        expansion: int = 2,
        full_backprop: bool = False,
    ):
        super().__init__()
        self.n, self.T = check_positive_int("n", n), check_positive_int("T", T)
        self.n_sup = check_positive_int("n_sup", n_sup)
        if not isinstance(full_backprop, bool):
            raise TypeError(
                f"expected full_backprop to be a bool, got {full_backprop!r}"
            )
        self.full_backprop = full_backprop
        self.seq_len, self.dim = seq_len, dim
        self.embed = PuzzleEmbedding(vocab_size, seq_len, dim)
        self.net = tiny_net(seq_len, dim, n_layers, expansion)
        self.head = nn.Linear(dim, check_positive_int("n_classes", n_classes))
        self.halt_head = nn.Linear(dim, 1)
        self.register_buffer("y_init", torch.randn(dim))
        self.register_buffer("z_init", torch.randn(dim))

    @property
    def effective_depth(self) -> int:
        """Blocks applied to the puzzle in one supervision step:
        ``T · (n + 1) · n_layers``."""
        return self.T * (self.n + 1) * len(self.net)

    def initial_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(y, z)``, each ``(L, B, D)`` like the embedded puzzle ``x``."""
        return self.y_init.expand_as(x), self.z_init.expand_as(x)

    def latent_recursion(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor):
        """``n`` times ``z ← net(x + y + z)``, then ``y ← net(y + z)``; all
        ``(L, B, D)``."""
        for _ in range(self.n):
            z = self.net(x + y + z)
        y = self.net(y + z)
        return y, z

    def deep_recursion(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor):
        """``T - 1`` latent recursions without gradient, then one with gradient.

        ``x, y, z (L, B, D)`` → ``(y, z)``, each ``(L, B, D)``. With ``full_backprop``
        every recursion records a graph."""
        with nullcontext() if self.full_backprop else torch.no_grad():
            for _ in range(self.T - 1):
                y, z = self.latent_recursion(x, y, z)
        return self.latent_recursion(x, y, z)

    def forward(self, tokens: torch.Tensor, state=None):
        """One supervision step.

        ``tokens (L, B)`` long; ``state`` is ``(y, z)`` from the previous step, or
        ``None`` for the first. Returns ``(logits (L, B, C), halt_logit (B,), state)``
        where the new ``state`` is detached: the next step starts from its values but
        sends no gradient back into this one. ``halt_logit > 0`` means "the answer is
        correct, stop"."""
        x = self.embed(tokens)
        if state is None:
            state = self.initial_state(x)
        y, z = state
        for name, t in (("y", y), ("z", z)):
            check_tensor(name, t, (self.seq_len, x.shape[1], self.dim))
            check_dtype(name, t, x.dtype)
        y, z = self.deep_recursion(x, y, z)
        halt_logit = self.halt_head(y.mean(0)).squeeze(-1)
        return self.head(y), halt_logit, (y.detach(), z.detach())

    @torch.no_grad()
    def unroll(self, tokens: torch.Tensor, n_steps: int | None = None):
        """Run ``n_steps`` supervision steps (default ``n_sup``) without halting.

        Returns ``(predictions (S, L, B), halt_logits (S, B))``: the answer and the
        halting logit after each step."""
        n_steps = (
            self.n_sup if n_steps is None else check_positive_int("n_steps", n_steps)
        )
        state, preds, halts = None, [], []
        for _ in range(n_steps):
            logits, halt_logit, state = self(tokens, state)
            preds.append(logits.argmax(-1))
            halts.append(halt_logit)
        return torch.stack(preds), torch.stack(halts)

    @torch.no_grad()
    def solve(
        self, tokens: torch.Tensor, n_steps: int | None = None, threshold: float = 0.5
    ):
        """Answer with early halting: a puzzle stops at its first step with
        ``sigmoid(halt_logit) > threshold`` (``halt_logit > 0`` for the default 0.5).

        Returns ``(predictions (L, B), steps_used (B,))``. Steps stop being computed
        once every puzzle of the batch has halted; a puzzle that never halts uses
        ``n_steps`` (default ``n_sup``)."""
        n_steps = (
            self.n_sup if n_steps is None else check_positive_int("n_steps", n_steps)
        )
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise TypeError(
                f"expected threshold to be a float in (0, 1), got {threshold!r}"
            )
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"expected threshold in (0, 1), got {threshold!r}")
        logit_threshold = math.log(threshold / (1.0 - threshold))
        state, answer, steps, running = None, None, None, None
        for step in range(1, n_steps + 1):
            logits, halt_logit, state = self(tokens, state)
            pred = logits.argmax(-1)
            if answer is None:
                answer, steps = (
                    pred,
                    torch.full_like(halt_logit, n_steps, dtype=torch.long),
                )
                running = torch.ones_like(halt_logit, dtype=torch.bool)
            answer = torch.where(running, pred, answer)
            stop = running & (halt_logit > logit_threshold)
            steps[stop] = step
            running = running & ~stop
            if not running.any():
                break
        return answer, steps


class SingleStateTRM(TRM):
    """The ablation "why two states": one carried state ``z`` instead of ``(y, z)``.

    A latent recursion applies the network ``n + 1`` times, ``z ← net(x + z)``, and
    the answer is read from ``z`` itself, as in the paper's "single z" variant (its
    Table 2). The network, heads and sizes are those of ``TRM``: same parameters, same
    depth ``T · (n + 1) · n_layers``, same training; only the separate answer state is
    gone, so ``z`` must hold both the answer and the reasoning. The state carried
    between steps is ``(z, z)``, so that every method of ``TRM`` works unchanged."""

    def latent_recursion(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor):
        """``n + 1`` times ``z ← net(x + z)``; returns ``(z, z)``, all ``(L, B, D)``
        (``y`` is ignored)."""
        for _ in range(self.n + 1):
            z = self.net(x + z)
        return z, z


def cell_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every cell: ``logits (L, B, C)``, ``target (L, B)``
    long."""
    dims = check_tensor("logits", logits, ("L", "B", "C"))
    check_tensor("target", target, ("L", "B"), dims)
    check_integer("target", target)
    return F.cross_entropy(logits.reshape(-1, dims["C"]), target.reshape(-1))


def one_pass_loss(model: nn.Module, batch) -> torch.Tensor:
    """``cell_loss`` of ``model(tokens)`` for a batch ``(tokens, target)``, both
    ``(L, B)``.

    The ``loss_fn`` that trains ``OnePass`` with ``companion.training.fit``.
    """
    tokens, target = batch
    return cell_loss(model(tokens), target)


def supervision_loss(
    logits: torch.Tensor,
    halt_logit: torch.Tensor,
    target: torch.Tensor,
    halt_weight: float = 0.5,
) -> torch.Tensor:
    """Cross-entropy of every cell plus ``halt_weight`` × BCE of the halting head.

    ``logits (L, B, C)``, ``halt_logit (B,)``, ``target (L, B)`` long. The halting
    target is 1 for a puzzle whose predicted answer is entirely correct, 0 otherwise.
    """
    cells = cell_loss(logits, target)
    check_tensor("halt_logit", halt_logit, ("B",), {"B": target.shape[1]})
    solved = (logits.argmax(-1) == target).all(0).float()
    return cells + halt_weight * F.binary_cross_entropy_with_logits(halt_logit, solved)


def deep_supervision_step(
    model: TRM,
    optimizer: torch.optim.Optimizer,
    tokens: torch.Tensor,
    target: torch.Tensor,
    n_sup: int | None = None,
    halt_weight: float = 0.5,
) -> list[float]:
    """Train on one batch with deep supervision; return the loss of each supervision
    step.

    ``tokens, target (L, B)`` long. Each of the ``n_sup`` steps (default
    ``model.n_sup``) runs one deep recursion from the carried, detached ``(y, z)``,
    takes its own loss and its own optimizer step, as in the paper's pseudo-code."""
    n_sup = model.n_sup if n_sup is None else check_positive_int("n_sup", n_sup)
    model.train()
    state, losses = None, []
    for _ in range(n_sup):
        logits, halt_logit, state = model(tokens, state)
        loss = supervision_loss(logits, halt_logit, target, halt_weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


class PuzzleBatches:
    """Re-iterable shuffled batches ``(tokens (L, B), target (L, B))`` of data sets
    ``(N, L)``.

    Each iteration draws a new order from ``torch``'s global generator, so a seeded
    chapter gets the same batches every run. It can be handed to
    ``companion.training.fit``."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int):
        dims = check_tensor("inputs", inputs, ("N", "L"))
        check_tensor("targets", targets, ("N", "L"), dims)
        check_integer("inputs", inputs)
        check_integer("targets", targets)
        self.inputs, self.targets = inputs, targets
        self.batch_size = check_positive_int("batch_size", batch_size)

    def __len__(self) -> int:
        return -(-len(self.inputs) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.inputs))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.inputs[idx].T, self.targets[idx].T


def train_trm(
    model: TRM,
    batches: PuzzleBatches,
    epochs: int,
    lr: float = 2e-3,
    n_sup: int | None = None,
    progress: bool = True,
    desc: str = "TRM",
) -> list[float]:
    """Train with deep supervision; return the mean loss (over batches and steps) per
    epoch.

    ``companion.training.fit`` takes one optimizer step per batch; deep supervision
    takes ``n_sup`` of them (default ``model.n_sup``), hence this loop. Adam with rate
    ``lr``."""
    check_positive_int("epochs", epochs)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    bar = tqdm(range(epochs), desc=desc, disable=not progress)
    for _ in bar:
        losses = []
        for tokens, target in batches:
            losses.extend(
                deep_supervision_step(model, optimizer, tokens, target, n_sup)
            )
        history.append(sum(losses) / len(losses))
        bar.set_postfix(loss=f"{history[-1]:.3f}", refresh=False)
    return history


def exact_and_cell_accuracy(
    predictions: torch.Tensor,
    target: torch.Tensor,
) -> tuple[float, float]:
    """Fraction of puzzles entirely right, and of cells right.

    ``predictions, target (L, B)`` integer class indices, one puzzle per column.
    """
    dims = check_tensor("predictions", predictions, ("L", "B"))
    check_tensor("target", target, ("L", "B"), dims)
    check_integer("predictions", predictions)
    check_integer("target", target)
    right = predictions == target
    return float(right.all(0).float().mean()), float(right.float().mean())
