"""How gradients travel back through time in a recurrent layer, and clipping them
(chapter 3).

In ``h_t = tanh(W_i x_t + W_h h_{t-1} + b)``, the gradient of a loss ``L`` read at the
last step reaches ``h_t`` through the product of Jacobians
``∂h_T/∂h_t = Π_{s=t+1..T} diag(1 - h_s²) W_h``: the spectral radius of ``W_h`` decides,
in the linear regime, whether it vanishes or explodes with the lag ``T - t``.

Against explosion, norm clipping is Algorithm 1 of Pascanu, Mikolov & Bengio (2013):
with ``g`` all the gradients taken as one vector, ``if ‖g‖ ≥ θ: g ← θ g / ‖g‖``. Value
clipping clamps every coordinate to ``[-c, c]``, which changes the direction of ``g`` as
soon as one coordinate is clamped. Both act in place on the ``.grad`` of the parameters,
like ``torch.nn.utils.clip_grad_norm_`` and ``torch.nn.utils.clip_grad_value_``. Two
differences: torch multiplies by ``θ / (‖g‖ + 1e-6)``, so the two agree up to a relative
``1e-6 / ‖g‖``, far below float32 round-off for the norms met in practice; and a
gradient with an infinite or NaN coordinate raises ``RuntimeError`` here (torch's
``error_if_nonfinite=True``) instead of being rescaled into NaN.

References: Hochreiter, "Untersuchungen zu dynamischen neuronalen Netzen" (1991);
Bengio, Simard & Frasconi (1994); Pascanu, Mikolov & Bengio, "On the difficulty of
training recurrent neural networks" (ICML 2013)."""

import copy
from collections.abc import Callable, Iterable

import torch
from torch import nn

from companion.checks import Call, Door, Float, Has, Is, Real, Tensor, That, checked
from companion.rnn import RNN

SQUARE = Float("H", "H")
# W through spectral_radius's door (a square float matrix), then a radius to rescale
_NILPOTENT = "expected {name} with a non-zero spectral radius, got a nilpotent matrix"
NOT_NILPOTENT = That(lambda W: spectral_radius(W) > 0, _NILPOTENT)
LAYER = Has("one_step", "hidden", "decode", label="a recurrent layer of the book")


def _check_latent_dim(door) -> None:
    H, shape = door.args["rnn"].latent_dim, tuple(door.args["W"].shape)
    if shape != (H, H):
        raise ValueError(f"expected W of shape ({H}, {H}), the rnn's, got {shape}")


def _check_norms(door) -> None:  # a log is taken
    n = door.args["norms"]
    if len(n) < 3 or not n.log().isfinite().all():
        raise ValueError(f"expected 3 or more norms > 0 and finite, got {n.tolist()}")


@checked(W=SQUARE)
def spectral_radius(W: torch.Tensor) -> float:
    """Largest modulus of the eigenvalues of a square matrix ``W (H, H)``."""
    return float(torch.linalg.eigvals(W.detach().double()).abs().max())


@checked(W=NOT_NILPOTENT, radius=Real(0))
def rescale_spectral_radius(W: torch.Tensor, radius: float) -> torch.Tensor:
    """``W (H, H)`` multiplied by a scalar so that its spectral radius is ``radius``.

    The eigenvalues are all scaled by the same factor: their angles on the complex plane
    are kept. Raises ``ValueError`` for a negative radius or a nilpotent ``W`` (radius
    0)."""
    return W.detach() * (radius / spectral_radius.bare(W))


@checked(_check_latent_dim, rnn=Is(RNN), W=SQUARE)
def with_recurrent_matrix(rnn: RNN, W: torch.Tensor, zero_bias: bool = False) -> RNN:
    """A copy of the ``RNN`` ``rnn`` whose recurrent matrix is ``W (H, H)`` (and whose
    bias ``b_h`` is zero if ``zero_bias``); ``rnn`` itself is left unchanged."""
    model = copy.deepcopy(rnn)
    with torch.no_grad():
        model.W_h.copy_(W)
        if zero_bias:
            model.b_h.zero_()
    return model


@checked(_check_norms, norms=Float("K"))
def late_slope(norms: torch.Tensor) -> float:
    """Mean change of ``log norms`` per step over the second half of ``norms (K,)``.

    For gradient norms indexed by the lag, this is the long-run log-rate that
    Gelfand's formula predicts to be ``log ρ(W_h)`` in the linear regime; the first
    half, where the transient of a non-normal ``W_h`` lives, is left out. Needs
    ``K >= 3`` entries, all positive and finite (an overflowed norm, ``inf``, has no
    slope: the door refuses it).
    """
    K, half = len(norms), len(norms) // 2
    log_norms = norms.double().log()
    return float((log_norms[-1] - log_norms[half]) / (K - 1 - half))


def _loss_at_last_step(layer, h_last: torch.Tensor, loss_fn) -> torch.Tensor:
    """``loss_fn(h_T)``, by default the sum of the decoder's outputs; a scalar."""
    loss = layer.decode.bare(h_last).sum() if loss_fn is None else loss_fn(h_last)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise ValueError(f"expected loss_fn to return a 0-d tensor, got {loss!r:.60}")
    return loss


@checked(layer=LAYER, x=Float("L", "B", "D"), loss_fn=Call(optional=True))
def state_gradient_norms(
    layer: nn.Module,
    x: torch.Tensor,
    loss_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """``‖∂L/∂h_t‖`` for every step of ``x (L, B, D)``, indexed by the lag
    ``k = L - 1 - t``.

    The layer runs step by step with ``one_step`` (the first step with ``forward``
    on ``x[:1]``, so the layer chooses its own initial state, and its door checks
    ``x``), keeping every hidden vector ``hidden(state)``; ``torch.autograd.grad``
    then returns the gradient of the loss with respect to each of them. The loss is
    ``loss_fn(h_T)`` on the last hidden vector ``h_T (B, H)``, by default the sum of
    the decoder's outputs. The norm is taken over the batch and the hidden units
    together. Returns a float tensor ``(L,)``: entry 0 is the gradient at the last
    step, entry ``k`` the gradient ``k`` steps earlier. The ``.grad`` of the
    parameters is left untouched.
    """
    _, state = layer(x[:1], return_state=True)
    hiddens = [layer.hidden(state)]
    for x_t in x[1:]:
        state = layer.one_step.bare(x_t, state)
        hiddens.append(layer.hidden(state))
    loss = _loss_at_last_step(layer, hiddens[-1], loss_fn)
    grads = torch.autograd.grad(loss, hiddens)
    norms = torch.stack([g.norm() for g in grads])
    return norms.flip(0).detach()


def _gradients(parameters: Iterable[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
    """The ``.grad`` of each parameter that has one, after checking that all are
    tensors."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    parameters = list(parameters)
    for i, p in enumerate(parameters):
        Tensor().check(f"parameters[{i}]", p, Door({}))
    return [p.grad for p in parameters if p.grad is not None]


@checked(max_norm=Real(0, low_open=True))
def clip_grad_norm(
    parameters: Iterable[torch.Tensor] | torch.Tensor, max_norm: float
) -> torch.Tensor:
    """Rescale the gradients of ``parameters`` in place so that their joint
    Euclidean norm is at most ``max_norm``; return the norm measured before
    clipping (a 0-d tensor).

    The gradients are multiplied by one common factor ``max_norm / ‖g‖`` when
    ``‖g‖ ≥ max_norm``, so the update keeps its direction and only its length
    changes. A non-finite norm raises ``RuntimeError``: rescaling an infinite
    gradient would turn it into NaN.
    """
    grads = _gradients(parameters)
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([g.detach().norm() for g in grads]))
    if not torch.isfinite(total):
        raise RuntimeError(
            f"expected finite gradients to clip, got a total norm of "
            f"{float(total)}: an update would make the weights "
            f"non-finite"
        )
    if total >= max_norm:
        scale = max_norm / total
        for g in grads:
            g.detach().mul_(scale)
    return total


@checked(clip_value=Real(0, low_open=True))
def clip_grad_value(
    parameters: Iterable[torch.Tensor] | torch.Tensor, clip_value: float
) -> None:
    """Clamp every coordinate of the gradients of ``parameters`` to ``[-clip_value,
    clip_value]``, in place."""
    for g in _gradients(parameters):
        g.detach().clamp_(-clip_value, clip_value)
