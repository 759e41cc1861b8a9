"""Measuring how gradients travel back through time in a recurrent layer (chapter 3).

In ``h_t = tanh(W_i x_t + W_h h_{t-1} + b)``, the gradient of a loss ``L`` read at the last
step reaches ``h_t`` through the product of Jacobians
``∂h_T/∂h_t = Π_{s=t+1..T} diag(1 - h_s²) W_h``: the spectral radius of ``W_h`` decides,
in the linear regime, whether it vanishes or explodes with the lag ``T - t``.

References: Hochreiter, "Untersuchungen zu dynamischen neuronalen Netzen" (1991); Bengio,
Simard & Frasconi (1994); Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent
neural networks" (ICML 2013).
"""

import copy
from collections.abc import Callable

import torch
from torch import nn

from companion.checks import check_floating, check_shape
from companion.rnn import RNN


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


def with_recurrent_matrix(rnn: RNN, W: torch.Tensor, zero_bias: bool = False) -> RNN:
    """A copy of the ``RNN`` ``rnn`` whose recurrent matrix is ``W (H, H)`` (and whose bias
    ``b_h`` is zero if ``zero_bias``); ``rnn`` itself is left unchanged."""
    if not isinstance(rnn, RNN):
        raise TypeError(f"expected rnn to be a companion.rnn.RNN, got {type(rnn).__name__}")
    check_floating("W", W)
    check_shape("W", W, (rnn.latent_dim, rnn.latent_dim))
    model = copy.deepcopy(rnn)
    with torch.no_grad():
        model.W_h.copy_(W)
        if zero_bias:
            model.b_h.zero_()
    return model


def late_slope(norms: torch.Tensor) -> float:
    """Mean change of ``log norms`` per step over the second half of ``norms (K,)``.

    For gradient norms indexed by the lag, this is the long-run log-rate that Gelfand's formula
    predicts to be ``log ρ(W_h)`` in the linear regime; the first half, where the transient of
    a non-normal ``W_h`` lives, is left out. Needs ``K >= 3`` positive entries.
    """
    check_floating("norms", norms)
    (K,) = check_shape("norms", norms, ("K",)).values()
    if K < 3:
        raise ValueError(f"expected norms of length >= 3, got {K}")
    if not (norms > 0).all():
        raise ValueError("expected positive norms (a log is taken), got a zero or negative one")
    half = K // 2
    return float((norms[-1].double().log() - norms[half].double().log()) / (K - 1 - half))


def state_gradient_norms(layer: nn.Module, x: torch.Tensor,
                         loss_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
                         ) -> torch.Tensor:
    """``‖∂L/∂h_t‖`` for every step of ``x (L, B, D)``, indexed by the lag ``k = L - 1 - t``.

    The layer runs step by step with ``one_step`` (the first step with ``forward`` on ``x[:1]``,
    so the layer chooses its own initial state), keeping every hidden vector
    ``hidden(state)``; ``torch.autograd.grad`` then returns the gradient of the loss with
    respect to each of them. The loss is ``loss_fn(h_T)`` on the last hidden vector
    ``h_T (B, H)``, by default the sum of the decoder's outputs. The norm is taken over the
    batch and the hidden units together. Returns a float tensor ``(L,)``: entry 0 is the
    gradient at the last step, entry ``k`` the gradient ``k`` steps earlier. The ``.grad`` of
    the layer's parameters is left untouched.
    """
    check_floating("x", x)
    check_shape("x", x, ("L", "B", layer.input_dim))
    _, state = layer(x[:1], return_state=True)
    hiddens = [layer.hidden(state)]
    for x_t in x[1:]:
        state = layer.one_step(x_t, state)
        hiddens.append(layer.hidden(state))
    h_last = hiddens[-1]
    loss = layer.decode(h_last).sum() if loss_fn is None else loss_fn(h_last)
    if loss.dim() != 0:
        raise ValueError(f"expected loss_fn to return a scalar, got shape {tuple(loss.shape)}")
    grads = torch.autograd.grad(loss, hiddens)
    norms = torch.stack([g.norm() for g in grads])
    return norms.flip(0).detach()
