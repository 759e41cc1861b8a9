"""Gradient clipping: by norm (keeps the direction) and by value (does not).

Norm clipping is Algorithm 1 of Pascanu, Mikolov & Bengio, "On the difficulty of training
recurrent neural networks" (ICML 2013): with ``g`` all the gradients taken as one vector,
``if ‖g‖ ≥ θ: g ← θ g / ‖g‖``. Value clipping clamps every coordinate to ``[-c, c]``, which
changes the direction of ``g`` as soon as one coordinate is clamped.
Both act in place on the ``.grad`` of the parameters, like ``torch.nn.utils.clip_grad_norm_``
and ``torch.nn.utils.clip_grad_value_``. One small difference: torch multiplies by
``θ / (‖g‖ + 1e-6)`` (and whenever that factor is below 1), so the two agree up to a relative
``1e-6 / ‖g‖``, far below float32 round-off for the norms met in practice.
"""

from collections.abc import Iterable

import torch


def _gradients(parameters: Iterable[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    for p in parameters:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"expected parameters to be tensors, got {type(p).__name__}")
    return [p.grad for p in parameters if p.grad is not None]


def _check_threshold(name: str, value) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"expected {name} to be a positive number, got {value!r}")


def clip_grad_norm(parameters: Iterable[torch.Tensor] | torch.Tensor,
                   max_norm: float) -> torch.Tensor:
    """Rescale the gradients of ``parameters`` in place so that their joint Euclidean norm is at
    most ``max_norm``; return the norm measured before clipping (a 0-d tensor).

    The gradients are multiplied by one common factor ``max_norm / ‖g‖`` when ``‖g‖ ≥
    max_norm``, so the update keeps its direction and only its length changes.
    """
    _check_threshold("max_norm", max_norm)
    grads = _gradients(parameters)
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([g.detach().norm() for g in grads]))
    if total >= max_norm:
        scale = max_norm / total
        for g in grads:
            g.detach().mul_(scale)
    return total


def clip_grad_value(parameters: Iterable[torch.Tensor] | torch.Tensor,
                    clip_value: float) -> None:
    """Clamp every coordinate of the gradients of ``parameters`` to ``[-clip_value,
    clip_value]``, in place."""
    _check_threshold("clip_value", clip_value)
    for g in _gradients(parameters):
        g.detach().clamp_(-clip_value, clip_value)
