"""The RNN of chapter 2 in NumPy, with backpropagation through time written by hand.

Forward: ``h_t = tanh(W_i x_t + W_h h_{t-1} + b_h)`` and ``y_t = W_d h_t + b_d`` for
``t = 1..L``, starting from ``h_0``. The forward pass keeps every state ``h_t``: the
backward pass needs ``h_t`` (through ``tanh' = 1 - h_t^2``) and ``h_{t-1}`` (the input
of ``W_h``) at each step. Walking from ``t = L`` down to 1, the gradient reaching
``h_t`` is the one from its own output, ``W_d^T dy_t``, plus the one coming back from
the future, ``dh_next``:

    da_t = (W_d^T dy_t + dh_next) * (1 - h_t^2)
    dW_i += da_t x_t^T,  dW_h += da_t h_{t-1}^T,  db_h += da_t,  dh_next = W_h^T da_t

and ``dh_0`` is the last ``dh_next``. Batches are rows here, so the code reads
``da @ W_h`` for ``W_h^T da``. Parameter names and shapes match ``companion.rnn.RNN`` so
that ``NumpyRNN.from_torch`` copies one into the other and the two can be compared.

``backward_recomputing_states`` keeps, for comparison, the mistake of a NumPy RNN that
circulates among students: it does not store the states and re-runs the forward step
from a zero state while walking backwards, so every gradient uses states the forward
pass never produced.

References: Rumelhart, Hinton & Williams (1986); Werbos, "Backpropagation through time:
what it does and how to do it" (1990)."""

from collections.abc import Callable

import numpy as np
import torch

from companion.checks import Array, Int, Is, Real, Rule, checked
from companion.rnn import RNN

PARAMETERS = ("W_i", "W_h", "b_h", "W_d", "b_d")


def _check_dy(dy, door) -> None:
    """``dy (L, B, O)`` for the ``x (L, B, D)`` of the last ``forward``."""
    net = door.args.get("net", door.owner)
    if net.cache is None:
        raise RuntimeError("expected forward to be called before backward")
    Array(*net.cache[0].shape[:2], net.output_dim).check("dy", dy, door)


def _check_net(net, door) -> str | None:
    """A ``NumpyRNN``, whose sizes name ``D`` and ``O`` for the other arguments."""
    if not isinstance(net, NumpyRNN):
        return f"expected net to be a NumpyRNN, got {type(net).__name__}"
    door.dims.update(D=net.input_dim, O=net.output_dim)


_RNG = Is(np.random.Generator, optional=True)
_NET = Rule(_check_net, TypeError)
_OUTPUTS = Array("L", "B", "O", nonempty="B")
_H0 = Array("B", "self.latent_dim", optional=True)
_LR = Real(0, low_open=True)


class NumpyRNN:
    """Elman RNN with a linear decoder, in float64 NumPy, with a hand-written
    ``backward``.

    Parameters ``W_i (H, D)``, ``W_h (H, H)``, ``b_h (H,)``, ``W_d (O, H)``,
    ``b_d (O,)``, drawn uniformly in ``±1/sqrt(H)`` from ``rng``, or, without ``rng``,
    from PyTorch's global generator (the one ``companion.set_seed`` seeds), like
    ``companion.rnn.RNN``. ``cache`` holds what the last ``forward`` kept for
    ``backward`` (``None`` before the first)."""

    @checked(input_dim=Int(), latent_dim=Int(), output_dim=Int(), rng=_RNG)
    def __init__(
        self,
        input_dim: int,
        latent_dim: int,
        output_dim: int,
        rng: np.random.Generator | None = None,
    ):
        bound = 1 / np.sqrt(latent_dim)
        shapes = {
            "W_i": (latent_dim, input_dim),
            "W_h": (latent_dim, latent_dim),
            "b_h": (latent_dim,),
            "W_d": (output_dim, latent_dim),
            "b_d": (output_dim,),
        }
        if rng is None:
            self.params = {
                k: torch.empty(s, dtype=torch.float64).uniform_(-bound, bound).numpy()
                for k, s in shapes.items()
            }
        else:
            self.params = {k: rng.uniform(-bound, bound, s) for k, s in shapes.items()}
        self.input_dim, self.latent_dim, self.output_dim = (
            input_dim,
            latent_dim,
            output_dim,
        )
        self.cache = None

    @classmethod
    @checked(rnn=Is(RNN, label="a companion.rnn.RNN"))
    def from_torch(cls, rnn: RNN) -> "NumpyRNN":
        """A copy, in float64, of the parameters of a ``companion.rnn.RNN``."""
        net = cls.__new__(cls)  # no random draw: every parameter is copied below
        net.input_dim, net.latent_dim, net.output_dim = (
            rnn.input_dim,
            rnn.latent_dim,
            rnn.output_dim,
        )
        tensors = {
            "W_i": rnn.W_i,
            "W_h": rnn.W_h,
            "b_h": rnn.b_h,
            "W_d": rnn.decoder.weight,
            "b_d": rnn.decoder.bias,
        }
        net.params = {
            k: t.detach().cpu().double().numpy().copy() for k, t in tensors.items()
        }
        net.cache = None
        return net

    @checked(x=Array("L", "B", "self.input_dim", nonempty="L"), h0=_H0)
    def forward(
        self, x: np.ndarray, h0: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run ``x (L, B, D)`` from ``h0 (B, H)`` (zeros if ``None``).

        Returns the hidden states ``(L, B, H)`` and the outputs ``(L, B, O)``, and keeps
        what ``backward`` needs."""
        if h0 is None:
            h0 = np.zeros((x.shape[1], self.latent_dim))
        p = self.params
        states, h = [], h0
        for x_t in x:
            h = np.tanh(x_t @ p["W_i"].T + h @ p["W_h"].T + p["b_h"])
            states.append(h)
        states = np.stack(states)
        outputs = states @ p["W_d"].T + p["b_d"]
        self.cache = (x, h0, states)
        return states, outputs

    @checked(dy=Rule(_check_dy))
    def backward(self, dy: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of a loss given ``dy (L, B, O)``, its gradient w.r.t. the outputs.

        Uses the states stored by the last ``forward``. Returns a dictionary with the
        gradient of each parameter (same shape as the parameter) and of ``h0``
        (``(B, H)``). A many-to-one loss simply has ``dy`` zero except at the last step.
        """
        x, h0, states = self.cache
        p = self.params
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        grads["W_d"] = np.einsum("lbo,lbh->oh", dy, states)
        grads["b_d"] = dy.sum(axis=(0, 1))
        dh_next = np.zeros_like(h0)
        for t in reversed(range(len(x))):
            h_prev = states[t - 1] if t > 0 else h0
            da = (dy[t] @ p["W_d"] + dh_next) * (1 - states[t] ** 2)
            grads["W_i"] += da.T @ x[t]
            grads["W_h"] += da.T @ h_prev
            grads["b_h"] += da.sum(axis=0)
            dh_next = da @ p["W_h"]
        grads["h0"] = dh_next
        return grads


@checked(net=Is(NumpyRNN), dy=Rule(_check_dy))
def backward_recomputing_states(net: NumpyRNN, dy: np.ndarray) -> dict[str, np.ndarray]:
    """A wrong BPTT, kept to be compared with ``NumpyRNN.backward``: same inputs and
    outputs.

    It walks from ``t = L`` down to 1 like the right one, but instead of the stored
    states it uses a state ``h`` obtained by re-running the forward step from a zero
    state as it goes (so on ``x_L``, then ``x_{L-1}``, ...): ``h`` stands for ``h_t`` in
    ``tanh'`` and in the decoder's gradient, and for ``h_{t-1}`` in ``W_h``'s. Only
    ``b_d``'s gradient is right."""
    x, h0, _ = net.cache
    p = net.params
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    h = np.zeros_like(h0)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(x))):
        grads["W_d"] += dy[t].T @ h
        grads["b_d"] += dy[t].sum(axis=0)
        da = (dy[t] @ p["W_d"] + dh_next) * (1 - h**2)
        grads["W_i"] += da.T @ x[t]
        grads["W_h"] += da.T @ h
        grads["b_h"] += da.sum(axis=0)
        dh_next = da @ p["W_h"]
        h = np.tanh(
            x[t] @ p["W_i"].T + h @ p["W_h"].T + p["b_h"]
        )  # the "state" of step t-1
    grads["h0"] = dh_next
    return grads


@checked(outputs=_OUTPUTS, target=_OUTPUTS)
def mse_loss_and_grad(
    outputs: np.ndarray, target: np.ndarray
) -> tuple[float, np.ndarray]:
    """Loss ``0.5 · Σ (outputs - target)² / B`` and its gradient ``dy`` w.r.t.
    ``outputs``.

    ``outputs`` and ``target`` are ``(L, B, O)``; the sum runs over every element and is
    averaged over the batch ``B``; ``dy`` has the shape of ``outputs``.
    """
    diff = outputs - target
    batch = outputs.shape[1]
    return float(0.5 * (diff**2).sum() / batch), diff / batch


Backward = Callable[[NumpyRNN, np.ndarray], dict[str, np.ndarray]]


@checked(net=_NET, x=Array("L", "B", "D"), target=_OUTPUTS, steps=Int(), lr=_LR)
def gradient_descent(
    net: NumpyRNN,
    x: np.ndarray,
    target: np.ndarray,
    steps: int,
    lr: float,
    backward: Backward = NumpyRNN.backward,
) -> list[float]:
    """Train ``net`` in place by plain gradient descent on ``mse_loss_and_grad``.

    ``x (L, B, D)``, ``target (L, B, O)``; ``backward(net, dy)`` computes the gradients
    (``NumpyRNN.backward`` or ``backward_recomputing_states``). Returns the loss before
    each of the ``steps`` updates, then the final loss (``steps + 1`` values)."""
    losses = []
    for _ in range(steps):
        loss, dy = mse_loss_and_grad.bare(net.forward.bare(x)[1], target)
        losses.append(loss)
        grads = backward(net, dy)
        for name in PARAMETERS:
            net.params[name] -= lr * grads[name]
    losses.append(mse_loss_and_grad.bare(net.forward.bare(x)[1], target)[0])
    return losses
