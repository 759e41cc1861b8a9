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
Both paths step with the one function ``lstm_cell``: with ``record_gates`` (or
``hand_backward = False``) the LSTM runs the loop under autograd, step by step with
``cell``; the two paths compute the same function and the same gradients.

Every layer shares the interface of ``companion.rnn.RNN`` and its base
``RecurrentLayer``: ``one_step``, ``forward``, ``hidden``, ``decode`` and the attributes
``input_dim``, ``latent_dim``, ``output_dim``. ``output_dim=None`` makes a layer without
a decoder, to be used inside a larger network (the layers of ``companion.stacked``).
``one_step``, ``forward`` and ``decode`` check their arguments at the door
(``companion.checks``); ``cell`` and the loops stay bare. An empty batch (``B = 0``) is
accepted and gives empty outputs.

Why no separate ``LSTMCell`` / ``GRUCell`` module: the cell *is* ``one_step`` (one step
on ``x_t (B, D)``, the interface of chapter 2's RNN, which has no cell class either),
and it shares its weights and its ``cell`` arithmetic with ``forward``. A cell module
owning the weights would make ``forward`` unable to project all the inputs in one
product before the loop, or would duplicate the weights' bookkeeping in two classes."""

import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from companion.checks import Float, Int, OneOf, Pair, Rule, That, checked
from companion.rnn import (
    HIDDEN,
    HIDDEN_OR_NONE,
    SEQUENCE,
    STEP,
    RecurrentLayer,
    linear_decoder,
)

LSTMState = tuple[torch.Tensor, torch.Tensor]
# The door of a layer's sizes; ``output_dim=None`` makes a layer without a decoder
SIZES = {"input_dim": Int(), "latent_dim": Int(), "output_dim": Int(optional=True)}


def _uniform(*shape: int, bound: float) -> nn.Parameter:
    return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))


def lstm_state(*shape, optional: bool = False) -> Pair:
    """The door of an LSTM state ``(h, C)``: two tensors of shape ``shape`` in the
    dtype of the layer's parameters (or ``None`` when ``optional``)."""
    h = Float(*shape, like="self")
    return Pair(h, h, parts=("h", "C"), label="an LSTM state (h, C)", optional=optional)


# The options of ``nn.LSTM`` (``nn.GRU``) that decide whether its weights fit ours
TORCH_OPTIONS = ("input_size", "hidden_size", "num_layers", "bidirectional")
TORCH_OPTIONS += ("batch_first", "bias", "proj_size")


def check_torch_twin(module, door) -> None:
    """The door of ``load_torch``: ``module`` must be an ``nn.LSTM`` (``nn.GRU`` for a
    GRU) whose ``TORCH_OPTIONS`` are the owner's sizes, ``num_layers`` and
    ``bidirectional`` (1 and ``False`` for one layer), then sequence first, with biases
    and no projection."""
    owner = door.owner
    kind = nn.GRU if isinstance(owner, GRU) else nn.LSTM
    if not isinstance(module, kind):
        raise TypeError(f"expected a torch.nn.{kind.__name__}, got {module!r}")
    layers = (getattr(owner, "num_layers", 1), getattr(owner, "bidirectional", False))
    want = (owner.input_dim, owner.latent_dim, *layers, False, True, 0)
    got = tuple(getattr(module, option, 0) for option in TORCH_OPTIONS)
    if got != want:
        what = f"an nn.{kind.__name__} with ({', '.join(TORCH_OPTIONS)})"
        raise ValueError(f"expected {what} = {want}, got {got}")


# ``load_torch`` and ``to_torch`` of a GRU: PyTorch's applies the reset gate after
RESET_AFTER = That(
    lambda g: g.reset == "after", "expected reset='after' like nn.GRU, got 'before'"
)


class _Recurrent(RecurrentLayer):
    """What the LSTM and the GRU add to ``RecurrentLayer``: a decoder that may be
    absent, and the recording of the gates."""

    def __init__(self, input_dim: int, latent_dim: int, output_dim: int | None):
        super().__init__(input_dim, latent_dim, output_dim)
        self.decoder = linear_decoder(latent_dim, output_dim)
        self.record_gates = False
        self.last_gates: dict[str, torch.Tensor] = {}

    def _keep_gates(self, gates: list) -> None:
        """Store the gate values of every step, ``[(g_1, g_2, …) per step]``, in
        ``last_gates``."""
        per_gate = zip(*gates, strict=True)
        self.last_gates = {
            name: torch.stack(values).detach()
            for name, values in zip(self.GATES, per_gate, strict=True)
        }


def lstm_cell(p: torch.Tensor, h: torch.Tensor, c: torch.Tensor, W_hh: torch.Tensor):
    """One LSTM step from the projected input ``p = W_ih x_t + b (B, 4H)``, the state
    ``h, C (B, H)`` and ``W_hh (4H, H)``. Returns the next ``h`` and ``C``, the three
    sigmoid gates ``f, i, o`` side by side ``(B, 3H)`` and the candidate ``C̃ (B, H)``.
    """
    H = h.shape[1]
    a = torch.addmm(p, h, W_hh.T)  # the pre-activations of the four blocks
    gates = a[:, : 3 * H].sigmoid()
    f, i, o = gates.chunk(3, dim=1)
    candidate = a[:, 3 * H :].tanh()
    c = torch.addcmul(f * c, i, candidate)  # f ⊙ C_{t-1} + i ⊙ C̃
    h = o * c.tanh()
    return h, c, gates, candidate


class LSTMSequence(torch.autograd.Function):
    """The LSTM over a whole sequence, with its backward pass (BPTT) written by hand.

    ``LSTMSequence.apply(projected, h0, c0, W_hh)``: ``projected (L, B, 4H)`` holds
    ``W_ih x_t + b`` for every step (rows ``(f, i, o, C̃)``), ``h0, c0 (B, H)`` the
    initial state, ``W_hh (4H, H)``. Returns the hidden states ``(L, B, H)`` and the
    final ``h_L, C_L (B, H)``. The forward pass is ``lstm_cell`` in a loop, keeping the
    gates and cell states of every step; the backward pass walks the steps in reverse,
    carrying ``∂L/∂h`` and ``∂L/∂C``, and computes ``∂L/∂W_hh`` after the loop as one
    product. No argument is checked: ``LSTM.forward`` did.
    """

    @staticmethod
    def forward(ctx, projected, h0, c0, W_hh):
        h, c = h0, c0
        gates, cells, states = [], [], []
        for p in projected.unbind(0):
            h, c, sigmoids, candidate = lstm_cell(p, h, c, W_hh)
            gates.append((sigmoids, candidate))
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
        L, (B, H) = len(gates), h0.shape
        d_gates = d_states.new_empty(L, B, 4 * H)  # ∂L/∂a_t (L, B, 4H)
        dh, dc = d_states[-1] + d_h, d_c  # ∂L/∂h_{L-1}, ∂L/∂C_L
        for t in range(L - 1, -1, -1):
            sigmoids, candidate = gates[t]
            f, i, o = sigmoids.chunk(3, dim=1)
            tanh_c, c_prev = cells[t].tanh(), cells[t - 1] if t else c0
            dc = torch.addcmul(dc, dh * o, 1 - tanh_c * tanh_c)  # ∂L/∂C_t
            da = d_gates[t]
            d_f, d_i, d_o, d_candidate = da.chunk(4, dim=1)
            torch.mul(dc, c_prev, out=d_f)  # ∂L/∂f_t
            torch.mul(dc, candidate, out=d_i)  # ∂L/∂i_t
            torch.mul(dh, tanh_c, out=d_o)  # ∂L/∂o_t
            torch.mul(dc, i, out=d_candidate)  # ∂L/∂C̃_t
            da[:, : 3 * H].mul_(sigmoids - sigmoids * sigmoids)  # σ' = σ (1 - σ)
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
    ``None``); uniform in ``±1/sqrt(H)`` like PyTorch's. With ``record_gates = True``,
    ``forward`` keeps the detached gate values of its last call in ``last_gates``:
    ``{"f", "i", "o", "candidate"}``, each ``(L, B, H)``. ``forward`` runs
    ``LSTMSequence`` (backward by hand) unless gates are recorded or ``hand_backward``
    is false; a subclass that changes ``cell`` must set ``hand_backward = False``."""

    GATES = ("f", "i", "o", "candidate")
    hand_backward = True

    @checked(**SIZES)
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

    @staticmethod
    def hidden(state: LSTMState) -> torch.Tensor:
        """The hidden vector ``h (B, H)`` of a state ``(h, C)``."""
        return state[0]

    def cell(self, p: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """One step from the projected input ``p = W_ih x_t + b (B, 4H)``: the next
        ``h, C`` and the gates ``f, i, o, C̃``, each ``(B, H)`` (``lstm_cell``)."""
        h, c, gates, candidate = lstm_cell(p, h, c, self.W_hh)
        return h, c, *gates.chunk(3, dim=1), candidate

    @checked(x=STEP, state=lstm_state("B", "self.latent_dim"))
    def one_step(self, x: torch.Tensor, state: LSTMState) -> LSTMState:
        """One step: ``x (B, D)`` and ``(h, C)`` → next ``(h, C)``, each ``(B, H)``."""
        h, c, *_ = self.cell(torch.addmm(self.b, x, self.W_ih.T), *state)
        return h, c

    @checked(x=SEQUENCE, state=lstm_state("B", "self.latent_dim", optional=True))
    def forward(
        self,
        x: torch.Tensor,
        state: LSTMState | None = None,
        return_state: bool = False,
    ):
        """Run ``x (L, B, D)`` → hidden states ``(L, B, H)`` (and ``(h_L, C_L)``)."""
        L, B, D = x.shape
        h, c = self.initial_state(B, x) if state is None else state
        projected = torch.addmm(self.b, x.reshape(L * B, D), self.W_ih.T)
        projected = projected.view(L, B, 4 * self.latent_dim)
        if self.hand_backward and not self.record_gates:  # the same loop, BPTT by hand
            states, h, c = LSTMSequence.apply(projected, h, c, self.W_hh)
            return (states, (h, c)) if return_state else states
        states, gates = [], []
        for p in projected.unbind(0):
            h, c, *g = self.cell(p, h, c)
            states.append(h)
            gates.append(g)
        if self.record_gates:
            self._keep_gates(gates)
        states = torch.stack(states)
        return (states, (h, c)) if return_state else states

    # PyTorch stacks (i, f, g, o); ours is (f, i, o, g). ``_FROM_TORCH[k]`` is the torch
    # block that becomes our block k.
    _FROM_TORCH = (1, 0, 3, 2)

    def _reorder(self, w: torch.Tensor, order) -> torch.Tensor:
        blocks = w.chunk(4, dim=0)
        return torch.cat([blocks[k] for k in order], dim=0)

    @checked(lstm=Rule(check_torch_twin))
    def load_torch(self, lstm: nn.LSTM) -> "LSTM":
        """Copy the weights of a one-layer ``nn.LSTM`` (sequence first) into this layer.

        The two PyTorch biases ``b_ih + b_hh`` become the single ``b``. Returns
        ``self``."""
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

    @checked(**SIZES, reset=OneOf(*RESETS))
    def __init__(
        self,
        input_dim: int,
        latent_dim: int,
        output_dim: int | None,
        reset: str = "after",
    ):
        super().__init__(input_dim, latent_dim, output_dim)
        self.reset = reset
        bound = 1 / math.sqrt(latent_dim)
        self.W_ih = _uniform(3 * latent_dim, input_dim, bound=bound)
        self.W_hh = _uniform(3 * latent_dim, latent_dim, bound=bound)
        self.b_ih = _uniform(3 * latent_dim, bound=bound)
        self.b_hh = _uniform(3 * latent_dim, bound=bound)

    def cell(self, p: torch.Tensor, h: torch.Tensor):
        """One step from the projected input ``p = W_ih x_t + b_ih (B, 3H)``: the next
        ``h`` and the gates ``r, z, h̃``, each ``(B, H)``."""
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

    @checked(x=STEP, h=HIDDEN)
    def one_step(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: ``x (B, D)``, ``h (B, H)`` → next ``h (B, H)``."""
        return self.cell(torch.addmm(self.b_ih, x, self.W_ih.T), h)[0]

    @checked(x=SEQUENCE, h=HIDDEN_OR_NONE)
    def forward(
        self, x: torch.Tensor, h: torch.Tensor | None = None, return_state: bool = False
    ):
        """Run ``x (L, B, D)`` → hidden states ``(L, B, H)`` (and the final
        ``h (B, H)``)."""
        L, B, D = x.shape
        if h is None:
            h = self.initial_state(B, x)
        projected = torch.addmm(self.b_ih, x.reshape(L * B, D), self.W_ih.T)
        projected = projected.view(L, B, 3 * self.latent_dim)
        states, gates = [], []
        for p in projected.unbind(0):
            h, *g = self.cell(p, h)
            states.append(h)
            gates.append(g)
        if self.record_gates:
            self._keep_gates(gates)
        states = torch.stack(states)
        return (states, h) if return_state else states

    def _flip_z(self, w: torch.Tensor) -> torch.Tensor:
        """Negate the update-gate block: PyTorch's ``z'`` is ``1 - z = σ(-a)``."""
        r, z, n = w.chunk(3, dim=0)
        return torch.cat([r, -z, n], dim=0)

    def _pairs(self, gru: nn.GRU):
        """Our weights and ``gru``'s, in the same order."""
        ours = (self.W_ih, self.W_hh, self.b_ih, self.b_hh)
        theirs = (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0)
        return zip(ours, theirs, strict=True)

    @checked(self=RESET_AFTER, gru=Rule(check_torch_twin))
    def load_torch(self, gru: nn.GRU) -> "GRU":
        """Copy the weights of a one-layer ``nn.GRU`` (sequence first); needs
        ``reset="after"``. Returns ``self``."""
        with torch.no_grad():
            for ours, theirs in self._pairs(gru):
                ours.copy_(self._flip_z(theirs))
        return self

    @checked(self=RESET_AFTER)
    def to_torch(self) -> nn.GRU:
        """A one-layer ``nn.GRU`` computing the same function; needs
        ``reset="after"``."""
        gru = nn.GRU(self.input_dim, self.latent_dim).to(self.W_ih)
        with torch.no_grad():
            for ours, theirs in self._pairs(gru):
                theirs.copy_(self._flip_z(ours))
        return gru
