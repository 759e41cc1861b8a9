"""Watching a recurrent network train (TP4 question 5, chapter 5's TensorBoard page):
gradient norms and histograms per parameter, gate histograms, and reading them back from
TensorBoard's files.

``TrainingMonitor`` attaches to a model and its optimiser without touching the training
loop (it works with ``companion.training.fit`` as is):

* a hook on every parameter (``register_post_accumulate_grad_hook``) reads the norm of
  its gradient as soon as backpropagation has written it, so the norm is the one
  *before* clipping; every ``every`` updates it also logs the gradient's histogram;
* a hook on the optimiser (``register_step_pre_hook``) closes each update: it stores the
  norms, and every ``every`` updates copies the gate values that the recurrent layer
  recorded in its last forward pass (``record_gates``, ``last_gates``, see
  ``companion.recurrent``). The layer records its gates only for those updates, so the
  other forward passes keep their fast path (the LSTM's hand-written backward).

With a TensorBoard ``SummaryWriter`` the same values are logged, as the course's TP4
asks: scalars ``grad_norm/<parameter>`` at every update, and with ``add_histogram``
every ``every`` updates, ``grad/<parameter>`` (the gradient before clipping) and
``gates/<gate>`` (all the values of one batch, ``(L, B, H)``, on fixed bins: ``[0, 1]``
for a sigmoid gate, ``[-1, 1]`` for the tanh candidate, so that histograms of different
updates and runs share their bins).

``read_histograms(run_dir)`` reads the histograms of one run back from its event files
with TensorBoard's ``EventAccumulator``, as ``Histogram`` records (bin edges, counts and
the exact moments TensorBoard stores), so that a page can draw what TensorBoard
shows."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New
from torch import nn

from companion.checks import Int, Is, That, checked

SIGMOID_BINS = np.linspace(0.0, 1.0, 41)  # 40 bins of width 0.025 for f, i, o, r, z
TANH_BINS = np.linspace(-1.0, 1.0, 41)  # and for the candidates, in (-1, 1)


OPTIMIZER = Is(torch.optim.Optimizer)
_GATED = "expected {name} to be a layer with record_gates and last_gates, got {value}"
GATED = That(lambda m: m is None or hasattr(m, "last_gates"), _GATED, TypeError)


class TrainingMonitor:
    """Record per-parameter gradient norms at every update and gate values every
    ``every``.

    ``layer`` is the recurrent layer whose gates are watched (it must offer
    ``record_gates`` and ``last_gates``); ``None`` records gradient norms only.
    Attributes after training: ``grad_norms[name]`` is a list with one float per update;
    ``gates[step]`` is a dict ``{gate: tensor (L, B, H)}`` for the updates
    ``0, every, 2 every, …``. With a ``writer`` (a ``SummaryWriter``, or anything with
    its ``add_scalar`` and ``add_histogram``), the norms go to TensorBoard at every
    update, the histograms of the gradients and of the gates every ``every`` updates.
    Call ``close()`` to remove the hooks."""

    @checked(model=Is(nn.Module), optimizer=OPTIMIZER, layer=GATED, every=Int())
    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        layer: nn.Module | None = None,
        writer=None,
        every: int = 10,
    ):
        self.layer, self.writer, self.every = layer, writer, every
        self.step = 0
        self.grad_norms: dict[str, list[float]] = {}
        self.gates: dict[int, dict[str, torch.Tensor]] = {}
        self.pending: dict[str, float] = {}  # the norms of the update under way
        self.handles = [
            p.register_post_accumulate_grad_hook(self.grad_hook(name))
            for name, p in model.named_parameters()
            if p.requires_grad
        ]
        self.handles.append(optimizer.register_step_pre_hook(self.on_step))
        if layer is not None:
            layer.record_gates = True

    def grad_hook(self, name: str):
        """The hook of parameter ``name``: it runs once backpropagation has written the
        gradient, before any clipping."""

        def hook(parameter: torch.Tensor) -> None:
            grad = parameter.grad.detach()
            self.pending[name] = float(grad.norm())
            if self.writer is not None and self.step % self.every == 0:
                self.writer.add_histogram(f"grad/{name}", grad, self.step)

        return hook

    def on_step(self, optimizer, args, kwargs) -> None:
        """The optimiser's step pre-hook: it closes the update (after clipping, before
        the parameters change). Override it to log more, and call
        ``super().on_step(optimizer, args, kwargs)``."""
        for name, value in self.pending.items():
            self.grad_norms.setdefault(name, []).append(value)
            if self.writer is not None:
                self.writer.add_scalar(f"grad_norm/{name}", value, self.step)
        self.pending = {}
        if (
            self.layer is not None
            and self.step % self.every == 0
            and self.layer.last_gates
        ):
            self.gates[self.step] = self.layer.last_gates  # new tensors at each forward
            if self.writer is not None:
                for gate, values in self.layer.last_gates.items():
                    bins = TANH_BINS if gate == "candidate" else SIGMOID_BINS
                    self.writer.add_histogram(
                        f"gates/{gate}", values, self.step, bins=bins
                    )
        self.step += 1
        if self.layer is not None:  # record the next forward's gates only if needed
            self.layer.record_gates = self.step % self.every == 0

    def close(self) -> None:
        """Remove the hooks and stop recording gates."""
        for handle in self.handles:
            handle.remove()
        self.handles = []
        if self.layer is not None:
            self.layer.record_gates = False


@dataclass(frozen=True)
class Histogram:
    """One histogram as TensorBoard stores it, at update ``step``.

    ``edges (K + 1,)`` and ``counts (K,)``: ``counts[k]`` values fell in
    ``[edges[k], edges[k + 1])`` (the last bin also holds its right edge, as in
    ``np.histogram``). TensorBoard drops the empty bins at both ends, so
    ``edges`` spans the values' range only. ``num``, ``total``, ``sum_squares``,
    ``low`` and ``high`` are the exact count, sum, sum of squares, minimum and maximum
    of the values (not of the binned counts)."""

    step: int
    edges: np.ndarray
    counts: np.ndarray
    num: int
    total: float
    sum_squares: float
    low: float
    high: float

    @property
    def mean(self) -> float:
        return self.total / self.num

    @property
    def std(self) -> float:
        """The values' standard deviation, from the stored moments."""
        return float(np.sqrt(max(self.sum_squares / self.num - self.mean**2, 0.0)))

    @property
    def norm(self) -> float:
        """The Euclidean norm of the values (of a gradient: its norm)."""
        return float(np.sqrt(self.sum_squares))

    def fraction_above(self, threshold: float) -> float:
        """The fraction of the values in the bins that start at ``threshold`` or above:
        exact when ``threshold`` is a bin edge (0.9 is one of ``SIGMOID_BINS``)."""
        return float(
            self.counts[self.edges[:-1] >= threshold].sum() / self.counts.sum()
        )


def _readable(path: Path) -> bool:
    """Whether the event file ``path`` reads to its end (not cut short, not garbled)."""
    reader = PyRecordReader_New(str(path))
    try:
        while True:
            reader.GetNext()
    except errors.OutOfRangeError:  # the end of the file
        return True
    except errors.DataLossError:
        return False


def _check_run_dir(door) -> None:
    files = sorted(Path(door.args["run_dir"]).glob("events.out.tfevents.*"))
    if not files or not all(map(_readable, files)):
        raise ValueError(
            f"expected run_dir to hold readable event files, got {door.args['run_dir']}"
        )


@checked(_check_run_dir, run_dir=Is((str, Path)))
def read_histograms(run_dir: str | Path) -> dict[str, list[Histogram]]:
    """Every histogram logged in the event files of ``run_dir``: ``{tag: [Histogram,
    …]}``, each list in the order of the steps.

    ``run_dir`` is the folder given to one ``SummaryWriter``. The accumulator keeps all
    the histograms of each tag (``size_guidance`` 0; its default keeps one). A folder
    without event files, or with a corrupt one (cut short, garbled), raises
    ``ValueError``; the accumulator would skip the bad records without a word."""
    accumulator = event_accumulator.EventAccumulator(
        str(run_dir), size_guidance={event_accumulator.HISTOGRAMS: 0}
    )
    accumulator.Reload()
    histograms = {}
    for tag in accumulator.Tags()["histograms"]:
        events = sorted(accumulator.Histograms(tag), key=lambda e: e.step)
        histograms[tag] = [
            Histogram(
                step=e.step,
                edges=np.array(e.histogram_value.bucket_limit),
                # the first count is the empty bin TensorBoard keeps left of the range
                counts=np.array(e.histogram_value.bucket[1:]),
                num=int(e.histogram_value.num),
                total=e.histogram_value.sum,
                sum_squares=e.histogram_value.sum_squares,
                low=e.histogram_value.min,
                high=e.histogram_value.max,
            )
            for e in events
        ]
    return histograms
