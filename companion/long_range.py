"""The long-range tasks of chapters 3 and 5: generators, memoryless baselines, training.

Two synthetic tasks, generated on the fly, whose answer depends on inputs seen long
before:

* **Adding problem** (Hochreiter & Schmidhuber 1997, experiment 4): the input has two
  channels, values drawn uniformly in ``[0, 1]`` and a marker that is 1 at exactly two
  steps and 0 elsewhere; the target is the sum of the two marked values. Here both
  markers fall in the first half of the sequence, so the network must carry them for at
  least ``L - L // 2`` steps. A constant prediction can do no better than predicting the
  mean, 1, whose mean squared error is the variance of a sum of two uniforms:
  ``2 / 12 = 1 / 6``.
* **Copy memory** (Arjovsky, Shah & Bengio 2016): ``n_copy`` symbols drawn from an
  alphabet of ``n_symbols``, then ``delay - 1`` blanks, a delimiter and ``n_copy`` more
  blanks; the network must output blanks until the delimiter has been read, then the
  ``n_copy`` symbols in order. A network without memory outputs blanks, then a uniform
  guess at each of the last ``n_copy`` steps: its mean cross-entropy per step is
  ``n_copy log(n_symbols) / (delay + 2 n_copy)``.

Inputs are float tensors ``(L, B, D)`` ready for any recurrent layer of the book.
``memoryless_cross_entropy`` estimates a memoryless baseline from sampled targets (Monte
Carlo).

A ``LongRangeTask`` bundles a batch sampler, the loss that reads a recurrent layer's
outputs, and the loss of the best memoryless guess (the baseline a network has to beat
to show it remembers anything); ``train_on_task`` trains a layer on one with
``companion.training.fit``. The layer is anything with the book's recurrent interface
(``forward(x (L, B, D)) -> (L, B, H)``, ``decode``, ``input_dim``, ``output_dim``): the
RNN of chapter 2, the LSTM and GRU of chapter 5."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from companion.checks import Float, Ids, Int, Is, Pair, Tensor, That, checked
from companion.seeding import generator as seeded_generator
from companion.training import fit

Batch = tuple[torch.Tensor, torch.Tensor]
ADDING_BASELINE_MSE = 1 / 6
COPY_SIZES = dict(delay=Int(), n_symbols=Int(2), n_copy=Int())  # copy_memory's sizes


@checked(seq_len=Int(4), batch_size=Int(), generator=Is(torch.Generator, optional=True))
def adding_problem(
    seq_len: int, batch_size: int, generator: torch.Generator | None = None
):
    """A batch of the adding problem: ``x (L, B, 2)`` float and the target ``y (B,)``.

    ``x[..., 0]`` holds the values, uniform in ``[0, 1]``; ``x[..., 1]`` is 1 at two
    distinct steps drawn uniformly among the first ``L // 2`` and 0 elsewhere; ``y`` is
    the sum of the two marked values. ``seq_len`` must be at least 4 so that the first
    half holds two steps."""
    values = torch.rand(seq_len, batch_size, generator=generator)
    # argsort of uniform noise gives a uniform random permutation; its first two entries
    # are two distinct positions.
    noise = torch.rand(seq_len // 2, batch_size, generator=generator)
    positions = noise.argsort(dim=0)[:2]
    markers = torch.zeros(seq_len, batch_size)
    markers.scatter_(0, positions, 1.0)
    x = torch.stack([values, markers], dim=-1)
    y = (values * markers).sum(dim=0)
    return x, y


@checked(batch_size=Int(), generator=Is(torch.Generator, optional=True), **COPY_SIZES)
def copy_memory(
    delay: int,
    batch_size: int,
    n_symbols: int = 8,
    n_copy: int = 10,
    generator: torch.Generator | None = None,
):
    """A batch of the copy-memory task: one-hot inputs ``x (L, B, n_symbols + 2)`` and
    the target classes ``y (L, B)`` (long), with ``L = delay + 2 n_copy``.

    Input categories: 0 is the blank, ``1..n_symbols`` the symbols, ``n_symbols + 1``
    the delimiter, found at step ``n_copy + delay - 1``. Target classes: 0 (blank)
    everywhere except the last ``n_copy`` steps, which hold the first ``n_copy`` input
    symbols."""
    seq_len = delay + 2 * n_copy
    symbols = torch.randint(1, n_symbols + 1, (n_copy, batch_size), generator=generator)
    tokens = torch.zeros(seq_len, batch_size, dtype=torch.long)
    tokens[:n_copy] = symbols
    tokens[n_copy + delay - 1] = n_symbols + 1
    target = torch.zeros(seq_len, batch_size, dtype=torch.long)
    target[-n_copy:] = symbols
    x = F.one_hot(tokens, n_symbols + 2).float()
    return x, target


@checked(**COPY_SIZES)
def copy_memory_baseline(delay: int, n_symbols: int = 8, n_copy: int = 10) -> float:
    """Mean cross-entropy per step (nats) of the memoryless strategy on ``copy_memory``:
    ``n_copy log(n_symbols) / (delay + 2 n_copy)``."""
    return n_copy * math.log(n_symbols) / (delay + 2 * n_copy)


@checked(num_classes=Int(2, size="C"), targets=Ids("L", "B", below="C"))
def memoryless_cross_entropy(targets: torch.Tensor, num_classes: int) -> float:
    """Mean cross-entropy per step (nats) of the best predictor that knows the step
    index but remembers none of the inputs, estimated on sampled ``targets (L, B)``
    (long classes).

    That predictor outputs, at step ``t``, the distribution of the target at ``t`` over
    the batch (its empirical marginal); on ``copy_memory`` targets this estimates
    ``copy_memory_baseline``."""
    one_hot = F.one_hot(targets, num_classes).float()
    marginals = one_hot.mean(1, keepdim=True)  # (L, 1, C): the prediction at each step
    return float(-(one_hot * marginals.clamp_min(1e-12).log()).sum(-1).mean())


def _xy(x: Tensor, y: Tensor) -> Pair:
    """A batch ``(x, y)`` whose parts meet the specs ``x`` and ``y``."""
    return Pair(x, y, parts=("x", "y"), label="a pair (x, y)")


@checked(batch=_xy(Float("L", "B", 2), Float("B")))
def adding_loss(layer: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean squared error of the prediction read from the last hidden state.

    ``batch = (x (L, B, 2), y (B,))``; the layer's ``output_dim`` must be 1.
    """
    x, y = batch
    prediction = layer.decode(layer(x)[-1]).squeeze(-1)
    return F.mse_loss(prediction, y)


@checked(batch=_xy(Float("L", "B", "D"), Ids("L", "B")))
def copy_loss(layer: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean cross-entropy per step (nats) of the outputs at every step.

    ``batch = (x (L, B, D) one-hot, y (L, B) long classes)``; the layer's ``output_dim``
    is the number of target classes."""
    x, y = batch
    logits = layer.decode(layer(x))
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


@dataclass(frozen=True)
class LongRangeTask:
    """A task: ``sample(batch_size, generator) -> (x, y)``,
    ``loss(layer, (x, y)) -> scalar``, the input and output sizes a layer needs, and the
    ``baseline`` loss of a memoryless guess."""

    name: str
    input_dim: int
    output_dim: int
    baseline: float
    sample: Callable[[int, torch.Generator], Batch]
    loss: Callable[[nn.Module, Batch], torch.Tensor]


@checked(seq_len=Int(4))
def adding_task(seq_len: int) -> LongRangeTask:
    """The adding problem on sequences of length ``seq_len``; baseline MSE 1/6."""
    return LongRangeTask(
        name=f"adding, L={seq_len}",
        input_dim=2,
        output_dim=1,
        baseline=ADDING_BASELINE_MSE,
        sample=lambda batch_size, generator: adding_problem.bare(
            seq_len, batch_size, generator
        ),
        loss=adding_loss,
    )


@checked(**COPY_SIZES)
def copy_task(delay: int, n_symbols: int = 8, n_copy: int = 10) -> LongRangeTask:
    """The copy-memory task with ``delay`` steps between the symbols and the delimiter's
    end; baseline ``n_copy log(n_symbols) / (delay + 2 n_copy)``."""
    return LongRangeTask(
        name=f"copy, T={delay}",
        input_dim=n_symbols + 2,
        output_dim=n_symbols + 1,
        baseline=copy_memory_baseline.bare(delay, n_symbols, n_copy),
        sample=lambda batch_size, generator: copy_memory.bare(
            delay, batch_size, n_symbols, n_copy, generator
        ),
        loss=copy_loss,
    )


class FreshBatches:
    """A re-iterable of ``n_batches`` batches that are new at every pass (an endless
    data set cut into epochs). Seeded like every random source of the book, with
    ``companion.seeding.generator(seed)`` (``seed`` shifted by ``BOOK_SEED``, and
    checked there): two objects built with the same arguments yield the same
    batches."""

    @checked(task=Is(LongRangeTask), n_batches=Int(), batch_size=Int())
    def __init__(
        self, task: LongRangeTask, n_batches: int, batch_size: int, seed: int = 0
    ):
        self.task, self.n_batches, self.batch_size = task, n_batches, batch_size
        self.generator = seeded_generator(seed)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self):
        for _ in range(self.n_batches):
            yield self.task.sample(self.batch_size, self.generator)


def _sizes(x) -> tuple:
    return getattr(x, "input_dim", None), getattr(x, "output_dim", None)


FITS = That(  # the layer's sizes are the task's
    lambda layer, door: _sizes(layer) == _sizes(door.args["task"]),
    "expected layer with input_dim={task.input_dim}, output_dim={task.output_dim} "
    "({task.name}), got {value}",
)


@checked(task=Is(LongRangeTask), layer=FITS, batches_per_epoch=Int(), test_size=Int())
def train_on_task(
    layer: nn.Module,
    task: LongRangeTask,
    *,
    epochs: int,
    batches_per_epoch: int = 10,
    batch_size: int = 64,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    optimizer: torch.optim.Optimizer | None = None,
    test_size: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Train ``layer`` on fresh batches of ``task`` with ``companion.training.fit``.

    Each epoch is ``batches_per_epoch`` new batches of ``batch_size`` sequences;
    after each one the loss is measured on the same ``test_size`` held-out
    sequences. The optimiser is Adam with learning rate ``lr`` unless ``optimizer``
    is given; ``clip`` is the gradient-norm threshold (``None``: no clipping).
    Returns ``fit``'s history (``train_loss``, ``grad_norm``, ``test_loss``, one
    value per epoch) with ``steps``, the number of updates done at the end of each
    epoch, and ``baseline``, the task's memoryless loss. ``seed`` seeds the batches
    (``FreshBatches``): the training batches with ``seed``, the test set with
    ``seed + 1``.
    """
    train = FreshBatches(task, batches_per_epoch, batch_size, seed)
    test = list(FreshBatches(task, 1, test_size, seed + 1))
    if optimizer is None:
        optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    history = fit(
        layer,
        train,
        task.loss,
        optimizer,
        epochs,
        test_batches=test,
        clip=clip,
        progress=progress,
        desc=task.name,
    )
    epochs_done = len(history["train_loss"])
    history["steps"] = [batches_per_epoch * (i + 1) for i in range(epochs_done)]
    history["baseline"] = task.baseline
    return history
