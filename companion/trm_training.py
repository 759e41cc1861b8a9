"""Training the Tiny Recursive Model of ``companion.trm`` (chapter 10 and page 10b): the
losses, deep supervision, batches of puzzles, and the scores.

Deep supervision (Jolicoeur-Martineau 2025, after Wang et al. 2025) trains on one batch
with ``n_sup`` supervision steps; each runs one deep recursion from the carried,
detached state ``(y, z)``, takes its own loss (cross-entropy of every cell, plus the
halting head's binary cross-entropy on "the answer is entirely right") and its own
optimizer step, as in the paper's pseudo-code. ``companion.training.fit`` takes one
optimizer step per batch, hence ``train_trm``; the one-pass baseline trains with
``fit`` and ``one_pass_loss``.

Puzzles are ``(N, L)`` integer tensors, one per row (``companion.data.puzzles``);
``PuzzleBatches`` serves them as the models read them, ``(L, B)``. ``above`` compares
two variants trained from several seeds."""

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from companion.checks import Float, Ids, Int, Is, checked
from companion.trm import TRM

LOGITS, TARGET = Float("L", "B", "C"), Ids("L", "B", below="C")  # scores, classes
ROWS = Ids("N", "L")  # a data set of puzzles, one per row


def _check_cells(door) -> None:
    """At least one cell and one puzzle: a mean over none is undefined."""
    if door.dims["L"] == 0 or door.dims["B"] == 0:
        raise ValueError(f"expected at least one cell and one puzzle, got {door.dims}")


@checked(_check_cells, logits=LOGITS, target=TARGET)
def cell_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every cell: ``logits (L, B, C)`` floats, ``target
    (L, B)`` classes in ``[0, C)`` (so no cell is ignored: ``F.cross_entropy`` would
    skip the cells equal to -100)."""
    return F.cross_entropy(logits.flatten(0, 1), target.flatten())


def one_pass_loss(model: nn.Module, batch) -> torch.Tensor:
    """``cell_loss`` of ``model(tokens)`` for a batch ``(tokens, target)``, both
    ``(L, B)``.

    The ``loss_fn`` that trains ``OnePass`` with ``companion.training.fit``.
    """
    tokens, target = batch
    return cell_loss(model(tokens), target)


@checked(_check_cells, logits=LOGITS, halt_logit=Float("B"), target=TARGET)
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
    cells = cell_loss.bare(logits, target)
    solved = (logits.argmax(-1) == target).all(0).float()
    return cells + halt_weight * F.binary_cross_entropy_with_logits(halt_logit, solved)


@checked(model=Is(TRM), optimizer=Is(torch.optim.Optimizer), n_sup=Int(optional=True))
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
    n_sup = model.n_sup if n_sup is None else n_sup
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
    ``(N, L)``, ``N >= 1``.

    Each iteration draws a new order from ``torch``'s global generator, so a seeded
    chapter gets the same batches every run. It can be handed to
    ``companion.training.fit``."""

    @checked(inputs=Ids("N", "L", nonempty="N"), targets=ROWS, batch_size=Int())
    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int):
        self.inputs, self.targets, self.batch_size = inputs, targets, batch_size

    def __len__(self) -> int:
        return -(-len(self.inputs) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.inputs))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.inputs[idx].T, self.targets[idx].T


@checked(model=Is(TRM), epochs=Int(), n_sup=Int(optional=True))
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

    ``batches`` yields ``(tokens (L, B), target (L, B))`` (a ``PuzzleBatches``);
    ``companion.training.fit`` takes one optimizer step per batch, deep supervision
    takes ``n_sup`` of them (default ``model.n_sup``), hence this loop. Adam with rate
    ``lr``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    bar = tqdm(range(epochs), desc=desc, disable=not progress)
    for _ in bar:
        losses = []
        for tokens, target in batches:
            losses += deep_supervision_step.bare(
                model, optimizer, tokens, target, n_sup
            )
        if not losses:
            raise ValueError("expected batches to hold at least one batch, got none")
        history.append(sum(losses) / len(losses))
        bar.set_postfix(loss=f"{history[-1]:.3f}", refresh=False)
    return history


@checked(_check_cells, predictions=Ids("L", "B"), target=Ids("L", "B"))
def exact_and_cell_accuracy(
    predictions: torch.Tensor,
    target: torch.Tensor,
) -> tuple[float, float]:
    """Fraction of puzzles entirely right, and of cells right.

    ``predictions, target (L, B)`` integer class indices, one puzzle per column.
    """
    right = predictions == target
    return float(right.all(0).float().mean()), float(right.float().mean())


@checked(a=Float("S", nonempty="S"), b=Float("R", nonempty="R"))
def above(a: torch.Tensor, b: torch.Tensor) -> float:
    """How far the worst seed of ``a`` lies above the best seed of ``b``:
    ``min(a) - max(b)``, for the scores ``a (S,)`` and ``b (R,)`` of two variants,
    one per seed (higher is better).

    Positive: every seed of ``a`` beats every seed of ``b``, a difference beyond the
    seed-to-seed spread; negative: the two ranges overlap."""
    return float(a.min() - b.max())
