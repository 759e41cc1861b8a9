"""Tiny Recursive Model (TRM): depth by recursion of one tiny network (chapter 10).

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
rest of the book; puzzle tokens are ``(L, B)``. ``blocks_applied`` counts the blocks a
forward pass applies. The model is trained by ``companion.trm_training`` (the losses,
deep supervision, the batches of puzzles)."""

import math
from contextlib import nullcontext

import torch
from torch import nn

from companion.checks import Float, Ids, Int, Is, Pair, Real, checked


class MixerBlock(nn.Module):
    """An MLP across positions, then an MLP across features, each residual and
    RMS-normed.

    ``u (L, B, D) → (L, B, D)``. The position MLP has hidden size ``expansion · L``, the
    feature MLP ``expansion · D``; normalisation comes after each residual sum
    (post-norm, as in TRM), which keeps the recursed ``y`` and ``z`` at a fixed scale.
    ``forward`` does not check ``u``: it runs ``n · T`` times per supervision step, on
    what ``TRM.forward`` or ``OnePass.forward`` checked once."""

    @checked(seq_len=Int(), dim=Int(), expansion=Int())
    def __init__(self, seq_len: int, dim: int, expansion: int = 2):
        super().__init__()
        self.seq_len, self.dim = seq_len, dim
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


@checked(n_layers=Int())  # the blocks check the other sizes
def tiny_net(
    seq_len: int, dim: int, n_layers: int = 2, expansion: int = 2
) -> nn.Sequential:
    """The shared network: ``n_layers`` mixer blocks, ``(L, B, D) → (L, B, D)``."""
    return nn.Sequential(
        *[MixerBlock(seq_len, dim, expansion) for _ in range(n_layers)]
    )


class PuzzleEmbedding(nn.Module):
    """Token plus learned position embedding: ``tokens (L, B) long → (L, B, D)``."""

    @checked(vocab_size=Int(), seq_len=Int(), dim=Int())
    def __init__(self, vocab_size: int, seq_len: int, dim: int):
        super().__init__()
        self.vocab_size, self.seq_len = vocab_size, seq_len
        self.tokens = nn.Embedding(vocab_size, dim)
        self.positions = nn.Parameter(0.1 * torch.randn(seq_len, 1, dim))

    @checked(tokens=Ids("self.seq_len", "B", below="self.vocab_size"))
    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.tokens(tokens) + self.positions


class OnePass(nn.Module):
    """The baseline: the same embedding, network and output head as ``TRM``, applied
    once.

    ``tokens (L, B) → logits (L, B, C)``. It has the parameters of a ``TRM`` with the
    same sizes, minus the halting head."""

    @checked(num_classes=Int())  # the embedding and the network check the others
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        num_classes: int,
        dim: int = 64,
        n_layers: int = 2,
        expansion: int = 2,
    ):
        super().__init__()
        self.embed = PuzzleEmbedding(vocab_size, seq_len, dim)
        self.net = tiny_net(seq_len, dim, n_layers, expansion)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(self.embed(tokens)))


TOKENS = Ids("self.seq_len", "B", below="self.embed.vocab_size")  # a batch of puzzles
YZ = Float("self.seq_len", "B", "self.dim", like="self")  # y or z, (L, B, D)
STATE = Pair(YZ, YZ, parts=("y", "z"), label="(y, z)", optional=True)
PROBABILITY = Real(0, 1, low_open=True, high_open=True)


class TRM(nn.Module):
    """Tiny Recursive Model with deep supervision and a halting head.

    ``n`` latent updates per recursion, ``T`` recursions per supervision step (the first
    ``T - 1`` without gradient), ``n_sup`` supervision steps at most. The initial ``y``
    and ``z`` are fixed random vectors ``(D,)`` shared by all positions (buffers, as in
    the official code). With ``full_backprop=True`` (an ablation, not the paper's
    method) the first ``T - 1`` recursions record a graph too, so the gradient goes
    through all ``T``."""

    @checked(num_classes=Int(), n=Int(), T=Int(), n_sup=Int(), full_backprop=Is(bool))
    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        num_classes: int,
        dim: int = 64,
        n: int = 2,
        T: int = 2,
        n_sup: int = 4,
        n_layers: int = 2,
        expansion: int = 2,
        full_backprop: bool = False,
    ):
        super().__init__()
        self.n, self.T, self.n_sup = n, T, n_sup
        self.full_backprop = full_backprop
        self.seq_len, self.dim = seq_len, dim
        self.embed = PuzzleEmbedding(vocab_size, seq_len, dim)
        self.net = tiny_net(seq_len, dim, n_layers, expansion)
        self.head = nn.Linear(dim, num_classes)
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

    @checked(tokens=TOKENS, state=STATE)
    def forward(self, tokens: torch.Tensor, state=None):
        """One supervision step.

        ``tokens (L, B)`` long; ``state`` is ``(y, z)`` from the previous step, or
        ``None`` for the first. Returns ``(logits (L, B, C), halt_logit (B,), state)``
        where the new ``state`` is detached: the next step starts from its values but
        sends no gradient back into this one. ``halt_logit > 0`` means "the answer is
        correct, stop"."""
        x = self.embed(tokens)
        y, z = self.initial_state(x) if state is None else state
        y, z = self.deep_recursion(x, y, z)
        halt_logit = self.halt_head(y.mean(0)).squeeze(-1)
        return self.head(y), halt_logit, (y.detach(), z.detach())

    @checked(tokens=TOKENS, n_steps=Int(optional=True))
    @torch.no_grad()
    def unroll(self, tokens: torch.Tensor, n_steps: int | None = None):
        """Run ``n_steps`` supervision steps (default ``n_sup``) without halting.

        Returns ``(predictions (S, L, B), halt_logits (S, B))``: the answer and the
        halting logit after each step."""
        n_steps = self.n_sup if n_steps is None else n_steps
        state, preds, halts = None, [], []
        for _ in range(n_steps):
            logits, halt_logit, state = self.forward.bare(tokens, state)
            preds.append(logits.argmax(-1))
            halts.append(halt_logit)
        return torch.stack(preds), torch.stack(halts)

    @checked(tokens=TOKENS, n_steps=Int(optional=True), threshold=PROBABILITY)
    @torch.no_grad()
    def solve(
        self, tokens: torch.Tensor, n_steps: int | None = None, threshold: float = 0.5
    ):
        """Answer with early halting: a puzzle stops at its first step with
        ``sigmoid(halt_logit) > threshold`` (``halt_logit > 0`` for the default 0.5).

        Returns ``(predictions (L, B), steps_used (B,))``. Steps stop being computed
        once every puzzle of the batch has halted; a puzzle that never halts uses
        ``n_steps`` (default ``n_sup``)."""
        n_steps = self.n_sup if n_steps is None else n_steps
        logit_threshold = math.log(threshold / (1.0 - threshold))
        state, answer, steps, running = None, None, None, None
        for step in range(1, n_steps + 1):
            logits, halt_logit, state = self.forward.bare(tokens, state)
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


@checked(model=Is((TRM, OnePass)))
def blocks_applied(model: TRM | OnePass) -> int:
    """The blocks of ``model.net`` applied to a puzzle in one forward pass (one
    supervision step of a ``TRM``), counted by a forward hook on each block.

    It checks ``TRM.effective_depth`` without using its formula: for a ``TRM`` the two
    are equal, ``T · (n + 1) · n_layers``; ``OnePass`` applies ``n_layers``."""
    calls = []
    hooks = [b.register_forward_hook(lambda *_: calls.append(1)) for b in model.net]
    with torch.no_grad():
        model(torch.zeros(model.embed.seq_len, 1, dtype=torch.long))
    for hook in hooks:
        hook.remove()
    return len(calls)
