"""Watching a recurrent network train: gradient norms per parameter and gate histograms
(chapter 5).

``TrainingMonitor`` attaches to a model and its optimiser without touching the training
loop (it works with ``companion.training.fit`` as is):

* a hook on every parameter (``register_post_accumulate_grad_hook``) reads the norm of
  its gradient as soon as backpropagation has written it, so the norm is the one
  *before* clipping;
* a hook on the optimiser (``register_step_pre_hook``) closes each update: it stores the
  norms, and every ``every`` updates copies the gate values that the recurrent layer
  recorded in its last forward pass (``record_gates``, ``last_gates``, see
  ``companion.recurrent``). The layer records its gates only for those updates, so the
  other forward passes keep their fast path (the LSTM's hand-written backward).

With a TensorBoard ``SummaryWriter`` the same values are logged as scalars
(``grad_norm/<parameter>``) and histograms (``gates/<gate>``, via ``add_histogram``), as
the course's TP4 asks."""

import torch
from torch import nn

from companion.checks import check_positive_int


class TrainingMonitor:
    """Record per-parameter gradient norms at every update and gate values every
    ``every``.

    ``layer`` is the recurrent layer whose gates are watched (it must offer
    ``record_gates`` and ``last_gates``); ``None`` records gradient norms only.
    Attributes after training: ``grad_norms[name]`` is a list with one float per update;
    ``gates[step]`` is a dict ``{gate: tensor (L, B, H)}`` for the updates
    ``0, every, 2 every, …``. Call ``close()`` to remove the hooks."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        layer: nn.Module | None = None,
        writer=None,
        every: int = 10,
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"expected model to be a torch.nn.Module, got {type(model).__name__}"
            )
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"expected optimizer to be a torch.optim.Optimizer, "
                f"got {type(optimizer).__name__}"
            )
        check_positive_int("every", every)
        if layer is not None and not hasattr(layer, "last_gates"):
            raise TypeError(
                f"expected a layer with record_gates and last_gates, got "
                f"{type(layer).__name__}"
            )
        self.layer, self.writer, self.every = layer, writer, every
        self.step = 0
        self.grad_norms: dict[str, list[float]] = {}
        self.gates: dict[int, dict[str, torch.Tensor]] = {}
        self._pending: dict[str, float] = {}
        self._handles = [
            p.register_post_accumulate_grad_hook(self._grad_hook(name))
            for name, p in model.named_parameters()
            if p.requires_grad
        ]
        self._handles.append(optimizer.register_step_pre_hook(self._on_step))
        if layer is not None:
            layer.record_gates = True

    def _grad_hook(self, name: str):
        def hook(parameter: torch.Tensor) -> None:
            self._pending[name] = float(parameter.grad.detach().norm())

        return hook

    def _on_step(self, optimizer, args, kwargs) -> None:
        for name, value in self._pending.items():
            self.grad_norms.setdefault(name, []).append(value)
            if self.writer is not None:
                self.writer.add_scalar(f"grad_norm/{name}", value, self.step)
        self._pending = {}
        if (
            self.layer is not None
            and self.step % self.every == 0
            and self.layer.last_gates
        ):
            self.gates[self.step] = (
                self.layer.last_gates
            )  # new tensors at every forward
            if self.writer is not None:
                for gate, values in self.layer.last_gates.items():
                    self.writer.add_histogram(f"gates/{gate}", values, self.step)
        self.step += 1
        if (
            self.layer is not None
        ):  # record the gates of the next forward only if needed
            self.layer.record_gates = self.step % self.every == 0

    def close(self) -> None:
        """Remove the hooks and stop recording gates."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self.layer is not None:
            self.layer.record_gates = False
