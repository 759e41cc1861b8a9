"""The RNN of chapter 2 in NumPy, with backpropagation through time written by hand.

Forward: ``h_t = tanh(W_i x_t + W_h h_{t-1} + b_h)`` and ``y_t = W_d h_t + b_d`` for
``t = 1..L``, starting from ``h_0``. The forward pass keeps every state ``h_t``: the backward
pass needs ``h_t`` (through ``tanh' = 1 - h_t^2``) and ``h_{t-1}`` (the input of ``W_h``) at
each step. Walking from ``t = L`` down to 1, the gradient reaching ``h_t`` is the one from
its own output, ``W_d^T dy_t``, plus the one coming back from the future, ``dh_next``:

    da_t = (W_d^T dy_t + dh_next) * (1 - h_t^2)
    dW_i += da_t x_t^T,  dW_h += da_t h_{t-1}^T,  db_h += da_t,  dh_next = W_h^T da_t

and ``dh_0`` is the last ``dh_next``. Batches are rows here, so the code reads ``da @ W_h``
for ``W_h^T da``. Parameter names and shapes match ``companion.rnn.RNN`` so that
``NumpyRNN.from_torch`` copies one into the other and the two can be compared.

References: Rumelhart, Hinton & Williams (1986); Werbos, "Backpropagation through time: what it
does and how to do it" (1990).
"""

import numpy as np

from companion.checks import check_floating, check_shape

PARAMETERS = ("W_i", "W_h", "b_h", "W_d", "b_d")


class NumpyRNN:
    """Elman RNN with a linear decoder, in float64 NumPy, with a hand-written ``backward``.

    Parameters ``W_i (H, D)``, ``W_h (H, H)``, ``b_h (H,)``, ``W_d (O, H)``, ``b_d (O,)``,
    drawn uniformly in ``±1/sqrt(H)`` from ``rng``.
    """

    def __init__(self, input_dim: int, latent_dim: int, output_dim: int,
                 rng: np.random.Generator | None = None):
        for name, value in (("input_dim", input_dim), ("latent_dim", latent_dim),
                            ("output_dim", output_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        rng = np.random.default_rng() if rng is None else rng
        bound = 1 / np.sqrt(latent_dim)
        shapes = {"W_i": (latent_dim, input_dim), "W_h": (latent_dim, latent_dim),
                  "b_h": (latent_dim,), "W_d": (output_dim, latent_dim), "b_d": (output_dim,)}
        self.params = {k: rng.uniform(-bound, bound, s) for k, s in shapes.items()}
        self.input_dim, self.latent_dim, self.output_dim = input_dim, latent_dim, output_dim
        self._cache = None

    @classmethod
    def from_torch(cls, rnn) -> "NumpyRNN":
        """A copy, in float64, of the parameters of a ``companion.rnn.RNN``."""
        net = cls(rnn.input_dim, rnn.latent_dim, rnn.output_dim)
        tensors = {"W_i": rnn.W_i, "W_h": rnn.W_h, "b_h": rnn.b_h,
                   "W_d": rnn.decoder.weight, "b_d": rnn.decoder.bias}
        net.params = {k: t.detach().cpu().double().numpy().copy() for k, t in tensors.items()}
        return net

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray,
                                                                         np.ndarray]:
        """Run ``x (L, B, D)`` from ``h0 (B, H)`` (zeros if ``None``).

        Returns the hidden states ``(L, B, H)`` and the outputs ``(L, B, O)``, and keeps what
        ``backward`` needs.
        """
        check_floating("x", x)
        dims = check_shape("x", x, ("L", "B", self.input_dim))
        if h0 is None:
            h0 = np.zeros((dims["B"], self.latent_dim))
        check_floating("h0", h0)
        check_shape("h0", h0, ("B", self.latent_dim), dims)
        p = self.params
        states, h = [], h0
        for x_t in x:
            h = np.tanh(x_t @ p["W_i"].T + h @ p["W_h"].T + p["b_h"])
            states.append(h)
        states = np.stack(states)
        outputs = states @ p["W_d"].T + p["b_d"]
        self._cache = (x, h0, states)
        return states, outputs

    def backward(self, dy: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of a loss given ``dy (L, B, O)``, its gradient w.r.t. the outputs.

        Uses the states stored by the last ``forward``. Returns a dictionary with the
        gradient of each parameter (same shape as the parameter) and of ``h0`` (``(B, H)``).
        A many-to-one loss simply has ``dy`` zero except at the last step.
        """
        if self._cache is None:
            raise RuntimeError("expected forward to be called before backward")
        x, h0, states = self._cache
        check_floating("dy", dy)
        check_shape("dy", dy, (x.shape[0], x.shape[1], self.output_dim))
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


def squared_error(outputs: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss ``0.5 · Σ (outputs - target)² / B`` and its gradient w.r.t. ``outputs``.

    ``outputs`` and ``target`` are ``(L, B, O)``; the sum runs over every element and is
    averaged over the batch ``B``.
    """
    check_floating("outputs", outputs)
    dims = check_shape("outputs", outputs, ("L", "B", "O"))
    check_shape("target", target, ("L", "B", "O"), dims)
    diff = outputs - target
    batch = outputs.shape[1]
    return float(0.5 * (diff**2).sum() / batch), diff / batch
