"""LSTM and GRU written from their equations, equal to PyTorch's (chapter 5).

Notation of the course handout (TP4), ``[a, b]`` a concatenation and ``⊙`` a product
term by term (the handout writes ``⊗``).

LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)::

    f_t = σ(W_f [h_{t-1}, x_t] + b_f)            forget gate
    i_t = σ(W_i [h_{t-1}, x_t] + b_i)            input gate
    o_t = σ(W_o [h_{t-1}, x_t] + b_o)            output gate
    C̃_t = tanh(W_C [h_{t-1}, x_t] + b_C)         candidate
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ C̃_t              cell state (internal memory)
    h_t = o_t ⊙ tanh(C_t)                        hidden state (external)

GRU (Cho et al. 2014; the update convention of the TP and of Chung et al. 2014). The TP
writes it without biases::

    z_t = σ(W_z [h_{t-1}, x_t])                  update gate
    r_t = σ(W_r [h_{t-1}, x_t])                  reset gate
    h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ tanh(W [r_t ⊙ h_{t-1}, x_t])

Here, as in PyTorch, every gate and the candidate also get biases, two per block
(``b_ih`` and ``b_hh``, PyTorch's layout): with ``reset="before"`` and zero biases the
layer is exactly the TP's GRU.

PyTorch's ``nn.GRU`` (like cuDNN) differs twice: it applies the reset gate *after* the
recurrent product, ``h̃_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))``
(``reset="after"`` here), and its update gate is ``1 - z_t``:
``h_t = (1 - z'_t) ⊙ h̃_t + z'_t ⊙ h_{t-1}``. Loading weights from ``nn.GRU`` therefore
negates the update-gate rows, since ``σ(-a) = 1 - σ(a)``.

Storage: ``W_ih`` stacks the input weights of all gates, ``W_hh`` the recurrent ones, so
a step costs one matrix product for all gates. The LSTM's rows are ordered
``(f, i, o, C̃)`` so the three sigmoid gates are one slice; PyTorch orders them
``(i, f, C̃, o)`` and ``load_torch`` / ``to_torch`` reorder. The GRU keeps PyTorch's
``(r, z, n)`` order and its two biases, since with ``reset="after"`` the bias ``b_hn``
sits inside the reset product and cannot be merged.

Speed: ``forward`` projects the inputs of all steps with one matrix product before the
loop, and a step costs one ``addmm`` for all gates. The GRU's loop walks the steps with
``unbind`` (indexing ``P[t]`` would make every step's backward write a full
``(L, B, 3H)`` gradient) and lets autograd differentiate it. The LSTM's loop runs inside
``LSTMSequence``, an ``autograd.Function`` whose backward pass (BPTT) is written by
hand: the forward saves the gates, the backward loop only carries ``∂L/∂h`` and
``∂L/∂C`` back, and the gradient of ``W_hh`` is one large product after the loop instead
of one small one per step (the matrix form of chapter 2's BPTT; Werbos 1990, and Graves
2012, "Supervised sequence labelling with recurrent neural networks", for the LSTM's
backward equations). No fused recurrent kernel (``nn.LSTM``, ``torch._VF``) is called.
With ``record_gates`` (or ``hand_backward = False``) the LSTM runs the same loop under
autograd, step by step with ``_cell``; the two paths compute the same function and the
same gradients.

Every layer shares the interface of ``companion.rnn.RNN``: ``one_step``, ``forward``,
``hidden``, ``decode`` and the attributes ``input_dim``, ``latent_dim``, ``output_dim``.
``output_dim=None`` makes a layer without a decoder, to be used inside a larger network
(the layers of ``companion.stacked``).
``one_step`` and ``forward`` check their arguments once; ``_cell`` and the loops stay
bare. An empty batch (``B = 0``) is accepted and gives empty outputs.

Why no separate ``LSTMCell`` / ``GRUCell`` module: the cell *is* ``one_step`` (one step
on ``x_t (B, D)``, the interface of chapter 2's RNN, which has no cell class either),
and it shares its weights and its ``_cell`` arithmetic with ``forward``. A cell module
owning the weights would make ``forward`` unable to project all the inputs in one
product before the loop, or would duplicate the weights' bookkeeping in two classes."""

import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from companion.checks import (
    check_dtype,
    check_positive_int,
    check_sequence,
    check_tensor,
)

LSTMState = tuple[torch.Tensor, torch.Tensor]


def _uniform(*shape: int, bound: float) -> nn.Parameter:
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


class _Recurrent(nn.Module):
    """What the LSTM and the GRU share: sizes, decoder, input checks, gate recording."""

    def __init__(self, input_dim: int, latent_dim: int, output_dim: int | None):
        super().__init__()
        check_positive_int("input_dim", input_dim)
        check_positive_int("latent_dim", latent_dim)
        if output_dim is not None:
            check_positive_int("output_dim", output_dim)
        self.input_dim, self.latent_dim, self.output_dim = (
            input_dim,
            latent_dim,
            output_dim,
        )
        self.decoder = None
        if output_dim is not None:
            bound = 1 / math.sqrt(latent_dim)
            self.decoder = nn.Linear(latent_dim, output_dim)
            nn.init.uniform_(self.decoder.weight, -bound, bound)
            nn.init.uniform_(self.decoder.bias, -bound, bound)
        self.record_gates = False
        self.last_gates: dict[str, torch.Tensor] = {}

    def _check_input(self, x, spec: tuple) -> dict:
        """Check ``x`` (a tensor of shape ``spec``, the parameters' dtype); return its
        sizes."""
        return check_sequence("x", x, spec, self.W_ih.dtype)

    def _check_hidden(self, name: str, h, dims: dict) -> None:
        check_tensor(name, h, ("B", self.latent_dim), dims)
        check_dtype(name, h, self.W_ih.dtype)

    def _keep_gates(self, gates: list) -> None:
        """Store the gate values of every step, ``[(g_1, g_2, …) per step]``, in
        ``last_gates``."""
        per_gate = zip(*gates, strict=True)
        self.last_gates = {
            name: torch.stack(values).detach()
            for name, values in zip(self.GATES, per_gate, strict=True)
        }

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Decode ``(B, H)`` or ``(L, B, H)`` hidden states into ``(…, output_dim)``
        outputs."""
        if self.decoder is None:
            raise ValueError("expected a layer with a decoder, got output_dim=None")
        check_tensor("h", h)
        if h.dim() not in (2, 3) or h.shape[-1] != self.latent_dim:
            raise ValueError(
                f"expected h of shape (B, {self.latent_dim}) or "
                f"(L, B, {self.latent_dim}), got {tuple(h.shape)}"
            )
        check_dtype("h", h, self.decoder.weight.dtype)
        return self.decoder(h)


class LSTMSequence(torch.autograd.Function):
    """The LSTM over a whole sequence, with its backward pass (BPTT) written by hand.

    ``LSTMSequence.apply(projected, h0, c0, W_hh)``: ``projected (L, B, 4H)`` holds
    ``W_ih x_t + b`` for every step (rows ``(f, i, o, C̃)``), ``h0, c0 (B, H)`` the
    initial state, ``W_hh (4H, H)``. Returns the hidden states ``(L, B, H)`` and the
    final ``h_L, C_L (B, H)``. The forward pass is ``LSTM._cell``'s arithmetic, keeping
    the gates and cell states of every step; the backward pass walks the steps in
    reverse, carrying ``∂L/∂h`` and ``∂L/∂C``, and computes ``∂L/∂W_hh`` after the loop
    as one product. No argument is checked: ``LSTM.forward`` did.
    """

    @staticmethod
    def forward(ctx, projected, h0, c0, W_hh):
        H = h0.shape[1]
        h, c = h0, c0
        gates, cells, states = [], [], []
        for p in projected.unbind(0):
            a = torch.addmm(p, h, W_hh.T)  # pre-activations, then gates in place
            a[:, : 3 * H].sigmoid_()
            a[:, 3 * H :].tanh_()
            f, i, o, candidate = a.chunk(4, dim=1)
            c = torch.addcmul(f * c, i, candidate)
            h = o * c.tanh()
            gates.append(a)
            cells.append(c)
            states.append(h)
        states = torch.stack(states)
        ctx.gates, ctx.cells = gates, cells  # intermediate values, for backward
        ctx.save_for_backward(states, h0, c0, W_hh)
        return states, h.clone(), c.clone()

    @staticmethod
    @once_differentiable
    def backward(ctx, d_states, d_h, d_c):
        states, h0, c0, W_hh = ctx.saved_tensors
        gates, cells = ctx.gates, ctx.cells
        H = h0.shape[1]
        d_gates = d_states.new_empty(len(gates), *gates[0].shape)  # ∂L/∂a_t (L, B, 4H)
        dh, dc = d_states[-1] + d_h, d_c  # ∂L/∂h_{L-1}, ∂L/∂C_L
        for t in range(len(gates) - 1, -1, -1):
            f, i, o, candidate = gates[t].chunk(4, dim=1)
            tanh_c, c_prev = cells[t].tanh(), cells[t - 1] if t else c0
            dc = torch.addcmul(dc, dh * o, 1 - tanh_c * tanh_c)  # ∂L/∂C_t
            da = d_gates[t]
            d_f, d_i, d_o, d_candidate = da.chunk(4, dim=1)
            torch.mul(dc, c_prev, out=d_f)  # ∂L/∂f_t
            torch.mul(dc, candidate, out=d_i)  # ∂L/∂i_t
            torch.mul(dh, tanh_c, out=d_o)  # ∂L/∂o_t
            torch.mul(dc, i, out=d_candidate)  # ∂L/∂C̃_t
            sig = gates[t][:, : 3 * H]
            da[:, : 3 * H].mul_(sig - sig * sig)  # σ' = σ (1 - σ)
            d_candidate.mul_(1 - candidate * candidate)  # tanh' = 1 - tanh²
            dc = dc * f  # ∂L/∂C_{t-1} through C_t
            # ∂L/∂h_{t-1}: from the output at t - 1, and through a_t
            dh = torch.addmm(d_states[t - 1], da, W_hh) if t else da @ W_hh
        # ∂L/∂W_hh = Σ_t ∂L/∂a_t^T h_{t-1}: one (4H, LB) @ (LB, H) product
        d_W_hh = torch.addmm(
            d_gates[0].T @ h0, d_gates[1:].flatten(0, 1).T, states[:-1].flatten(0, 1)
        )
        return d_gates, dh, dc, d_W_hh


class LSTM(_Recurrent):
    """LSTM layer with a linear decoder; state ``(h, C)``, each ``(B, H)``.

    Parameters: ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b (4H,)`` with rows in the gate
    order ``(f, i, o, C̃)``, and the decoder ``(O, H)`` (none if ``output_dim`` is
    ``None``); uniform in ``±1/sqrt(H)`` like
    PyTorch's. With ``record_gates = True``, ``forward`` keeps the detached gate values
    of its last call in ``last_gates``: ``{"f", "i", "o", "candidate"}``, each
    ``(L, B, H)``. ``forward`` runs ``LSTMSequence`` (backward by hand) unless gates are
    recorded or ``hand_backward`` is false; a subclass that changes ``_cell`` must set
    ``hand_backward = False``."""

    GATES = ("f", "i", "o", "candidate")
    hand_backward = True

    def __init__(self, input_dim: int, latent_dim: int, output_dim: int | None):
        super().__init__(input_dim, latent_dim, output_dim)
        bound = 1 / math.sqrt(latent_dim)
        self.W_ih = _uniform(4 * latent_dim, input_dim, bound=bound)
        self.W_hh = _uniform(4 * latent_dim, latent_dim, bound=bound)
        self.b = _uniform(4 * latent_dim, bound=bound)

    def initial_state(self, batch_size: int, like: torch.Tensor) -> LSTMState:
        """Zero ``(h, C)``, each ``(B, H)``, with the dtype and device of ``like``."""
        zeros = like.new_zeros(batch_size, self.latent_dim)
        return zeros, zeros.clone()

    def _check_state(self, state, dims: dict) -> LSTMState:
        if not isinstance(state, tuple | list) or len(state) != 2:
            raise TypeError(
                f"expected an LSTM state (h, C), got {type(state).__name__}"
            )
        h, c = state
        self._check_hidden("h", h, dims)
        self._check_hidden("C", c, dims)
        return h, c

    def _cell(self, p: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """One step from the projected input ``p = W_ix x_t + b (B, 4H)``."""
        H = self.latent_dim
        gates = torch.addmm(p, h, self.W_hh.T)
        sig = gates[:, : 3 * H].sigmoid()
        f, i, o = sig.chunk(3, dim=1)
        candidate = gates[:, 3 * H :].tanh()
        c = torch.addcmul(f * c, i, candidate)
        h = o * c.tanh()
        return h, c, f, i, o, candidate

    def one_step(self, x: torch.Tensor, state: LSTMState) -> LSTMState:
        """One step: ``x (B, D)`` and ``(h, C)`` → next ``(h, C)``, each ``(B, H)``."""
        dims = self._check_input(x, ("B", self.input_dim))
        h, c = self._check_state(state, dims)
        h, c, *_ = self._cell(torch.addmm(self.b, x, self.W_ih.T), h, c)
        return h, c

    def forward(
        self,
        x: torch.Tensor,
        state: LSTMState | None = None,
        return_state: bool = False,
    ):
        """Run ``x (L, B, D)`` → hidden states ``(L, B, H)`` (and ``(h_L, C_L)``)."""
        dims = self._check_input(x, ("L", "B", self.input_dim))
        L, B = dims["L"], dims["B"]
        h, c = (
            self.initial_state(B, x)
            if state is None
            else self._check_state(state, dims)
        )
        projected = torch.addmm(
            self.b, x.reshape(L * B, self.input_dim), self.W_ih.T
        ).view(L, B, 4 * self.latent_dim)
        if self.hand_backward and not self.record_gates:  # the same loop, BPTT by hand
            states, h, c = LSTMSequence.apply(projected, h, c, self.W_hh)
            return (states, (h, c)) if return_state else states
        states, gates = [], []
        for p in projected.unbind(0):
            h, c, *g = self._cell(p, h, c)
            states.append(h)
            gates.append(g)
        if self.record_gates:
            self._keep_gates(gates)
        states = torch.stack(states)
        return (states, (h, c)) if return_state else states

    @staticmethod
    def hidden(state: LSTMState) -> torch.Tensor:
        """The hidden vector ``h (B, H)`` of a state ``(h, C)``."""
        return state[0]

    # PyTorch stacks (i, f, g, o); ours is (f, i, o, g). ``_FROM_TORCH[k]`` is the torch
    # block that becomes our block k.
    _FROM_TORCH = (1, 0, 3, 2)

    def _reorder(self, w: torch.Tensor, order) -> torch.Tensor:
        blocks = w.chunk(4, dim=0)
        return torch.cat([blocks[k] for k in order], dim=0)

    def load_torch(self, lstm: nn.LSTM) -> "LSTM":
        """Copy the weights of a one-layer ``nn.LSTM`` (sequence first) into this layer.

        The two PyTorch biases ``b_ih + b_hh`` become the single ``b``. Returns
        ``self``."""
        _check_torch_module(lstm, nn.LSTM, self)
        with torch.no_grad():
            self.W_ih.copy_(self._reorder(lstm.weight_ih_l0, self._FROM_TORCH))
            self.W_hh.copy_(self._reorder(lstm.weight_hh_l0, self._FROM_TORCH))
            self.b.copy_(
                self._reorder(lstm.bias_ih_l0 + lstm.bias_hh_l0, self._FROM_TORCH)
            )
        return self

    def to_torch(self) -> nn.LSTM:
        """A one-layer ``nn.LSTM`` computing the same function (``b`` goes to
        ``bias_ih``)."""
        lstm = nn.LSTM(self.input_dim, self.latent_dim).to(self.W_ih)
        back = [self._FROM_TORCH.index(k) for k in range(4)]  # the inverse permutation
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(self._reorder(self.W_ih, back))
            lstm.weight_hh_l0.copy_(self._reorder(self.W_hh, back))
            lstm.bias_ih_l0.copy_(self._reorder(self.b, back))
            lstm.bias_hh_l0.zero_()
        return lstm


class GRU(_Recurrent):
    """GRU layer with a linear decoder; state ``h (B, H)``.

    ``reset="after"`` (default) is PyTorch's and cuDNN's candidate,
    ``tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``, one matrix product per step;
    ``reset="before"`` is the TP's, ``tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)``, which
    needs ``r`` before the candidate's product (two products per step); the TP has no
    biases (set them to zero for its GRU exactly). In both, the update gate ``z``
    weights the candidate: ``h_t = (1 - z) ⊙ h_{t-1} + z ⊙ h̃``.

    Parameters: ``W_ih (3H, D)``, ``W_hh (3H, H)``, ``b_ih (3H,)``, ``b_hh (3H,)`` with
    rows ``(r, z, n)``, and the decoder. With ``record_gates = True``, ``last_gates``
    holds ``{"r", "z", "candidate"}``, each ``(L, B, H)``, from the last ``forward``.
    """

    GATES = ("r", "z", "candidate")
    RESETS = ("after", "before")

    def __init__(
        self,
        input_dim: int,
        latent_dim: int,
        output_dim: int | None,
        reset: str = "after",
    ):
        super().__init__(input_dim, latent_dim, output_dim)
        if reset not in self.RESETS:
            raise ValueError(f"expected reset in {self.RESETS}, got {reset!r}")
        self.reset = reset
        bound = 1 / math.sqrt(latent_dim)
        self.W_ih = _uniform(3 * latent_dim, input_dim, bound=bound)
        self.W_hh = _uniform(3 * latent_dim, latent_dim, bound=bound)
        self.b_ih = _uniform(3 * latent_dim, bound=bound)
        self.b_hh = _uniform(3 * latent_dim, bound=bound)

    def initial_state(self, batch_size: int, like: torch.Tensor) -> torch.Tensor:
        """A zero state ``(B, H)`` with the dtype and device of ``like``."""
        return like.new_zeros(batch_size, self.latent_dim)

    def _cell(self, p: torch.Tensor, h: torch.Tensor):
        """One step from the projected input ``p = W_ix x_t + b_ih (B, 3H)``."""
        H = self.latent_dim
        if self.reset == "after":
            hh = torch.addmm(self.b_hh, h, self.W_hh.T)
            r, z = (p[:, : 2 * H] + hh[:, : 2 * H]).sigmoid().chunk(2, dim=1)
            candidate = torch.addcmul(p[:, 2 * H :], r, hh[:, 2 * H :]).tanh()
        else:
            hh = torch.addmm(self.b_hh[: 2 * H], h, self.W_hh[: 2 * H].T)
            r, z = (p[:, : 2 * H] + hh).sigmoid().chunk(2, dim=1)
            candidate = torch.addmm(
                p[:, 2 * H :] + self.b_hh[2 * H :], r * h, self.W_hh[2 * H :].T
            ).tanh()
        h = torch.lerp(h, candidate, z)  # (1 - z) h + z h̃
        return h, r, z, candidate

    def one_step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: ``x (B, D)``, ``h (B, H)`` → next ``h (B, H)``."""
        dims = self._check_input(x, ("B", self.input_dim))
        self._check_hidden("h", h, dims)
        return self._cell(torch.addmm(self.b_ih, x, self.W_ih.T), h)[0]

    def forward(
        self, x: torch.Tensor, h: torch.Tensor | None = None, return_state: bool = False
    ):
        """Run ``x (L, B, D)`` → hidden states ``(L, B, H)`` (and the final
        ``h (B, H)``)."""
        dims = self._check_input(x, ("L", "B", self.input_dim))
        L, B = dims["L"], dims["B"]
        if h is None:
            h = self.initial_state(B, x)
        self._check_hidden("h", h, dims)
        projected = torch.addmm(
            self.b_ih, x.reshape(L * B, self.input_dim), self.W_ih.T
        ).view(L, B, 3 * self.latent_dim)
        states, gates = [], []
        for p in projected.unbind(0):
            h, *g = self._cell(p, h)
            states.append(h)
            gates.append(g)
        if self.record_gates:
            self._keep_gates(gates)
        states = torch.stack(states)
        return (states, h) if return_state else states

    @staticmethod
    def hidden(state: torch.Tensor) -> torch.Tensor:
        """The hidden vector ``(B, H)`` of a state (for the GRU, the state itself)."""
        return state

    def _flip_z(self, w: torch.Tensor) -> torch.Tensor:
        """Negate the update-gate block: PyTorch's ``z'`` is ``1 - z = σ(-a)``."""
        r, z, n = w.chunk(3, dim=0)
        return torch.cat([r, -z, n], dim=0)

    def load_torch(self, gru: nn.GRU) -> "GRU":
        """Copy the weights of a one-layer ``nn.GRU`` (sequence first); needs
        ``reset="after"``.

        Returns ``self``.
        """
        if self.reset != "after":
            raise ValueError(
                "expected a GRU with reset='after' (PyTorch's variant), "
                f"got reset={self.reset!r}"
            )
        _check_torch_module(gru, nn.GRU, self)
        with torch.no_grad():
            for ours, theirs in (
                (self.W_ih, gru.weight_ih_l0),
                (self.W_hh, gru.weight_hh_l0),
                (self.b_ih, gru.bias_ih_l0),
                (self.b_hh, gru.bias_hh_l0),
            ):
                ours.copy_(self._flip_z(theirs))
        return self

    def to_torch(self) -> nn.GRU:
        """A one-layer ``nn.GRU`` computing the same function; needs
        ``reset="after"``."""
        if self.reset != "after":
            raise ValueError(
                "expected a GRU with reset='after' (PyTorch's variant), "
                f"got reset={self.reset!r}"
            )
        gru = nn.GRU(self.input_dim, self.latent_dim).to(self.W_ih)
        with torch.no_grad():
            for ours, theirs in (
                (self.W_ih, gru.weight_ih_l0),
                (self.W_hh, gru.weight_hh_l0),
                (self.b_ih, gru.bias_ih_l0),
                (self.b_hh, gru.bias_hh_l0),
            ):
                theirs.copy_(self._flip_z(ours))
        return gru


def _check_torch_module(module, kind: type, ours: _Recurrent) -> None:
    """Raise unless ``module`` is a one-layer, one-direction, biased, sequence-first
    ``kind``."""
    if not isinstance(module, kind):
        raise TypeError(
            f"expected a torch.nn.{kind.__name__}, got {type(module).__name__}"
        )
    if (module.num_layers, module.bidirectional, module.batch_first, module.bias) != (
        1,
        False,
        False,
        True,
    ) or getattr(module, "proj_size", 0):
        raise ValueError(
            f"expected a one-layer, unidirectional nn.{kind.__name__} with biases, "
            "batch_first=False and no projection"
        )
    if (module.input_size, module.hidden_size) != (ours.input_dim, ours.latent_dim):
        raise ValueError(
            f"expected input_size={ours.input_dim} and hidden_size="
            f"{ours.latent_dim}, got {module.input_size} and {module.hidden_size}"
        )
