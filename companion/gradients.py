"""Measuring how gradients travel back through time in a recurrent layer (chapter 3).

In ``h_t = tanh(W_i x_t + W_h h_{t-1} + b)``, the gradient of a loss ``L`` read at the last
step reaches ``h_t`` through the product of Jacobians
``∂h_T/∂h_t = Π_{s=t+1..T} diag(1 - h_s²) W_h``: the spectral radius of ``W_h`` decides,
in the linear regime, whether it vanishes or explodes with the lag ``T - t``.

References: Hochreiter, "Untersuchungen zu dynamischen neuronalen Netzen" (1991); Bengio,
Simard & Frasconi (1994); Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent
neural networks" (ICML 2013).
"""

from collections.abc import Callable

import torch
from torch import nn

from companion.checks import check_floating, check_shape


def spectral_radius(W: torch.Tensor) -> float:
    """Largest modulus of the eigenvalues of a square matrix ``W (H, H)``."""
    check_floating("W", W)
    check_shape("W", W, ("H", "H"))
    return float(torch.linalg.eigvals(W.detach().double()).abs().max())


def rescale_spectral_radius(W: torch.Tensor, radius: float) -> torch.Tensor:
    """``W (H, H)`` multiplied by a scalar so that its spectral radius is ``radius``.

    The eigenvalues are all scaled by the same factor: their angles on the complex plane are
    kept. Raises ``ValueError`` for a negative radius or a nilpotent ``W`` (radius 0).
    """
    if not isinstance(radius, (int, float)) or radius < 0:
        raise ValueError(f"expected a non-negative radius, got {radius!r}")
    current = spectral_radius(W)
    if current == 0:
        raise ValueError("expected W with a non-zero spectral radius, got a nilpotent matrix")
    return W.detach() * (radius / current)


def state_gradient_norms(layer: nn.Module, x: torch.Tensor,
                         loss_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
                         ) -> torch.Tensor:
    """``‖∂L/∂h_t‖`` for every step of ``x (L, B, D)``, indexed by the lag ``k = L - 1 - t``.

    The layer runs step by step with ``one_step`` (the first step with ``forward`` on ``x[:1]``,
    so the layer chooses its own initial state), and autograd keeps the gradient of each hidden
    vector ``hidden(state)`` (``retain_grad``). The loss is ``loss_fn(h_T)`` on the last hidden
    vector ``h_T (B, H)``, by default the sum of the decoder's outputs. The norm is taken over
    the batch and the hidden units together. Returns a float tensor ``(L,)``: entry 0 is the
    gradient at the last step, entry ``k`` the gradient ``k`` steps earlier.
    """
    check_floating("x", x)
    check_shape("x", x, ("L", "B", layer.input_dim))
    _, state = layer(x[:1], return_state=True)
    hiddens = [layer.hidden(state)]
    for x_t in x[1:]:
        state = layer.one_step(x_t, state)
        hiddens.append(layer.hidden(state))
    for h in hiddens:
        h.retain_grad()
    h_last = hiddens[-1]
    loss = layer.decode(h_last).sum() if loss_fn is None else loss_fn(h_last)
    if loss.dim() != 0:
        raise ValueError(f"expected loss_fn to return a scalar, got shape {tuple(loss.shape)}")
    loss.backward()
    norms = torch.stack([h.grad.norm() for h in hiddens])
    return norms.flip(0).detach()
