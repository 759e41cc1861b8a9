"""Training and evaluating any recurrent layer on the long-range tasks (chapters 3 and 5).

A ``LongRangeTask`` bundles a batch sampler from ``companion.data.long_range``, the loss that
reads a recurrent layer's outputs, and the loss of the best memoryless guess (the baseline a
network has to beat to show it remembers anything). The layer is anything with the book's
recurrent interface (``forward(x (L, B, D)) -> (L, B, H)``, ``decode``, ``input_dim``,
``output_dim``): the RNN of chapter 2, the LSTM and GRU of chapter 5.

Tasks from Hochreiter & Schmidhuber (1997) and Arjovsky, Shah & Bengio (2016).
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from companion.checks import check_floating, check_integer, check_positive_int, check_shape
from companion.data.long_range import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
)
from companion.training import fit

Batch = tuple[torch.Tensor, torch.Tensor]


def adding_loss(layer: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean squared error of the prediction read from the last hidden state.

    ``batch = (x (L, B, 2), y (B,))``; the layer's ``output_dim`` must be 1.
    """
    x, y = batch
    check_floating("x", x)
    dims = check_shape("x", x, ("L", "B", 2))
    check_shape("y", y, ("B",), dims)
    prediction = layer.decode(layer(x)[-1]).squeeze(-1)
    return F.mse_loss(prediction, y)


def copy_loss(layer: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean cross-entropy per step (nats) of the outputs at every step.

    ``batch = (x (L, B, D) one-hot, y (L, B) long classes)``; the layer's ``output_dim`` is the
    number of target classes.
    """
    x, y = batch
    check_floating("x", x)
    dims = check_shape("x", x, ("L", "B", "D"))
    check_integer("y", y)
    check_shape("y", y, ("L", "B"), dims)
    logits = layer.decode(layer(x))
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


@dataclass(frozen=True)
class LongRangeTask:
    """A task: ``sample(batch_size, generator) -> (x, y)``, ``loss(layer, (x, y)) -> scalar``,
    the input and output sizes a layer needs, and the ``baseline`` loss of a memoryless guess."""

    name: str
    input_dim: int
    output_dim: int
    baseline: float
    sample: Callable[[int, torch.Generator], Batch]
    loss: Callable[[nn.Module, Batch], torch.Tensor]


def adding_task(seq_len: int) -> LongRangeTask:
    """The adding problem on sequences of length ``seq_len``; baseline MSE 1/6."""
    adding_problem(seq_len, 1)  # validates seq_len now rather than at the first batch
    return LongRangeTask(
        name=f"adding, L={seq_len}", input_dim=2, output_dim=1, baseline=ADDING_BASELINE_MSE,
        sample=lambda batch_size, generator: adding_problem(seq_len, batch_size, generator),
        loss=adding_loss)


def copy_task(delay: int, n_symbols: int = 8, n_copy: int = 10) -> LongRangeTask:
    """The copy-memory task with ``delay`` steps between the symbols and the delimiter's end;
    baseline ``n_copy log(n_symbols) / (delay + 2 n_copy)``."""
    baseline = copy_memory_baseline(delay, n_symbols, n_copy)
    return LongRangeTask(
        name=f"copy, T={delay}", input_dim=n_symbols + 2, output_dim=n_symbols + 1,
        baseline=baseline,
        sample=lambda batch_size, generator: copy_memory(delay, batch_size, n_symbols, n_copy,
                                                         generator),
        loss=copy_loss)


class FreshBatches:
    """A re-iterable of ``n_batches`` batches that are new at every pass (an endless data set
    cut into epochs). Seeded: two objects built with the same arguments yield the same batches."""

    def __init__(self, task: LongRangeTask, n_batches: int, batch_size: int, seed: int = 0):
        check_positive_int("n_batches", n_batches)
        check_positive_int("batch_size", batch_size)
        self.task, self.n_batches, self.batch_size = task, n_batches, batch_size
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self):
        for _ in range(self.n_batches):
            yield self.task.sample(self.batch_size, self.generator)


def check_layer_fits(layer: nn.Module, task: LongRangeTask) -> None:
    """Raise ``ValueError`` unless the layer's ``input_dim`` and ``output_dim`` match the task."""
    for name in ("input_dim", "output_dim"):
        want, got = getattr(task, name), getattr(layer, name, None)
        if got != want:
            raise ValueError(f"expected a layer with {name}={want} for the task '{task.name}', "
                             f"got {got}")


def train_on_task(layer: nn.Module, task: LongRangeTask, *, epochs: int,
                  batches_per_epoch: int = 10, batch_size: int = 64, lr: float = 1e-2,
                  clip: float | None = 1.0, optimizer: torch.optim.Optimizer | None = None,
                  test_size: int = 256, seed: int = 0, progress: bool = True) -> dict:
    """Train ``layer`` on fresh batches of ``task`` with ``companion.training.fit``.

    Each epoch is ``batches_per_epoch`` new batches of ``batch_size`` sequences; after each one
    the loss is measured on the same ``test_size`` held-out sequences. The optimiser is Adam with
    learning rate ``lr`` unless ``optimizer`` is given; ``clip`` is the gradient-norm threshold
    (``None``: no clipping). Returns ``fit``'s history (``train_loss``, ``grad_norm``,
    ``test_loss``, one value per epoch) with ``steps``, the number of updates done at the end of
    each epoch, and ``baseline``, the task's memoryless loss.
    """
    check_layer_fits(layer, task)
    train = FreshBatches(task, batches_per_epoch, batch_size, seed)
    test = list(FreshBatches(task, 1, test_size, seed + 1))
    if optimizer is None:
        optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    history = fit(layer, train, task.loss, optimizer, epochs, test_batches=test, clip=clip,
                  progress=progress, desc=task.name)
    history["steps"] = [batches_per_epoch * (i + 1) for i in range(len(history["train_loss"]))]
    history["baseline"] = task.baseline
    return history
