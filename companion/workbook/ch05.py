"""Chapter 5's exercises: the LSTM and the GRU written from their equations (graded,
TP4 Q5), and the checkable answer of gates-ex2 (the parameters the coupled gates
save).

The answer cells give each class's ``__init__``, with the companion's parameter names,
shapes and gate order; the student writes ``one_step`` and ``forward``. The checks
copy the weights of a companion layer into the student's, in float64, and compare with
the companion (one step, gradients) and with PyTorch's ``nn.LSTM`` / ``nn.GRU`` built
by the companion's ``to_torch`` (whole sequences)."""

import torch

from companion.recurrent import GRU, LSTM
from companion.workbook.runner import (
    Exercise,
    Failure,
    Property,
    compare,
    number,
    sizes,
)

D, H, OUT = 4, 5, 3  # the sizes of the public cases: input, hidden, output


def _reference(kind: type, seed: int, d: int = D, h: int = H, o: int = OUT):
    """A companion layer in float64, its weights drawn from ``seed`` (the global
    generator is left as it was)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return kind(d, h, o).double()


def _twin(candidate, reference):
    """The student's layer with the sizes and the weights of ``reference``."""
    sizes_ = (reference.input_dim, reference.latent_dim, reference.output_dim)
    mine = candidate(*sizes_)
    case = f"{candidate.__name__}{sizes_}"
    ours = dict(mine.named_parameters())
    for name, p in reference.named_parameters():
        if name not in ours or tuple(ours[name].shape) != tuple(p.shape):
            got = tuple(ours[name].shape) if name in ours else "none"
            raise Failure(
                case,
                f"a parameter {name} of shape {tuple(p.shape)}",
                f"{got}",
                "keep the __init__ of the answer cell as it is",
            )
    mine = mine.double()
    with torch.no_grad():
        ours = dict(mine.named_parameters())
        for name, p in reference.named_parameters():
            ours[name].copy_(p)
    return mine


def _randn(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _pair(value, case, what):
    """``value`` unpacked as a pair, or a ``Failure`` saying what came instead."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        kind = type(value).__name__
        size = f" of length {len(value)}" if isinstance(value, tuple | list) else ""
        raise Failure(case, what, kind + size)
    return value


def _shape(case, tensor, shape, what):
    if not isinstance(tensor, torch.Tensor):
        raise Failure(case, f"{what}: a tensor of shape {shape}", type(tensor).__name__)
    if tuple(tensor.shape) != shape:
        raise Failure(case, f"{what} of shape {shape}", f"{tuple(tensor.shape)}")


# ---- the LSTM --------------------------------------------------------------------


def _lstm_shapes(candidate):
    L, B = 6, 3
    mine = _twin(candidate, _reference(LSTM, 0))
    x, h, c = _randn(L, B, D, seed=1), _randn(B, H, seed=2), _randn(B, H, seed=3)
    case = f"LSTM(D={D}, H={H}, O={OUT}), x {sizes(L=L, B=B, D=D)}"
    _shape(case, mine(x), (L, B, H), "forward(x)")
    states, final = _pair(
        mine(x, (h, c), return_state=True),
        case,
        "forward(x, state, return_state=True) to return (states, (h, C))",
    )
    _shape(case, states, (L, B, H), "the states")
    final = _pair(final, case, "the final state as a pair (h, C)")
    _shape(case, final[0], (B, H), "the final h")
    _shape(case, final[1], (B, H), "the final C")
    step = _pair(mine.one_step(x[0], (h, c)), case, "one_step to return (h, C)")
    _shape(case, step[0], (B, H), "one_step's h")
    _shape(case, step[1], (B, H), "one_step's C")


def _lstm_one_step(candidate):
    B = 3
    for seed in (0, 1):
        ref = _reference(LSTM, seed)
        mine = _twin(candidate, ref)
        x, h, c = _randn(B, D, seed=4), _randn(B, H, seed=5), _randn(B, H, seed=6)
        case = f"one_step, x {sizes(B=B, D=D)}, random (h, C) {sizes(B=B, H=H)}"
        got = _pair(mine.one_step(x, (h, c)), case, "one_step to return (h, C)")
        want = ref.one_step(x, (h, c))
        hint = "the six equations, rows of W_ih, W_hh and b in the order (f, i, o, C̃)"
        for k, name in enumerate(("h", "C")):
            compare(case, got[k], want[k], atol=1e-10, what=name, hint=hint)


def _lstm_forward(candidate):
    L, B = 7, 3
    ref = _reference(LSTM, 2)
    torch_lstm, mine = ref.to_torch(), _twin(candidate, ref)
    x, h0, c0 = _randn(L, B, D, seed=7), _randn(B, H, seed=8), _randn(B, H, seed=9)
    case = f"x {sizes(L=L, B=B, D=D)}, random initial (h, C), against nn.LSTM"
    want, (h_n, c_n) = torch_lstm(x, (h0[None], c0[None]))
    states, final = _pair(
        mine(x, (h0, c0), return_state=True), case, "(states, (h, C))"
    )
    h, c = _pair(final, case, "the final state (h, C)")
    compare(case, states, want, atol=1e-10, what="states")
    compare(case, h, h_n[0], atol=1e-10, what="final h")
    compare(case, c, c_n[0], atol=1e-10, what="final C")
    compare(
        f"x {sizes(L=L, B=B, D=D)}, state=None, against nn.LSTM",
        mine(x),
        torch_lstm(x)[0],
        atol=1e-10,
        what="states",
        hint="state=None starts from zeros",
    )


def _gradients(module, x, state, weights, seed, unpack):
    """Gradients of a random linear function of the states and the final state, with
    respect to ``x``, the parts of ``state`` and the named ``weights``."""
    inputs = [t.clone().requires_grad_() for t in (x, *state)]
    packed = tuple(inputs[1:]) if len(inputs) > 2 else inputs[1]
    outputs = module(inputs[0], packed, return_state=True)
    parts = unpack(outputs)
    g = torch.Generator().manual_seed(seed)
    loss = sum(
        (torch.randn(p.shape, generator=g, dtype=torch.float64) * p).sum()
        for p in parts
    )
    loss.backward()
    named = dict(module.named_parameters())
    return [t.grad for t in inputs] + [named[w].grad for w in weights]


def _check_gradients(candidate, kind, names, state_parts, unpack):
    L, B = 5, 2
    ref = _reference(kind, 3)
    mine = _twin(candidate, ref)
    x = _randn(L, B, D, seed=10)
    state = [_randn(B, H, seed=11 + k) for k in range(state_parts)]
    weights = [n for n in names if n.startswith(("W_", "b"))]
    want = _gradients(ref, x, state, weights, 0, unpack)
    got = _gradients(mine, x, state, weights, 0, unpack)
    case = f"x {sizes(L=L, B=B, D=D)}, a random linear function of all the outputs"
    hint = (
        "keep every step in torch, and carry the state itself (not a detached copy) "
        "from one step to the next"
    )
    for name, g, w in zip(names, got, want, strict=True):
        if g is None:
            raise Failure(case, f"a gradient for {name}", "none", hint)
        compare(case, g, w, atol=1e-10, what=f"gradient of {name}", hint=hint)


def _lstm_unpack(outputs):
    states, (h, c) = outputs
    return states, h, c


def _lstm_gradients(candidate):
    names = ("x", "h0", "C0", "W_ih", "W_hh", "b")
    _check_gradients(candidate, LSTM, names, 2, _lstm_unpack)


def _lstm_gate_order(candidate):
    """No weights, only biases: the forget gate open, the input gate shut, the output
    gate open. The memory keeps ``C_0`` for good; an answer that reads the forget gate
    from the input gate's rows writes ``C̃`` instead."""
    L, B = 4, 2
    ref = _reference(LSTM, 4)
    with torch.no_grad():
        ref.W_ih.zero_()
        ref.W_hh.zero_()
        ref.b.copy_(torch.tensor([20.0, -20.0, 20.0, 0.5]).repeat_interleave(H))
    mine = _twin(candidate, ref)
    x, h0, c0 = _randn(L, B, D, seed=12), _randn(B, H, seed=13), _randn(B, H, seed=14)
    weights = (
        "W_ih = W_hh = 0, b = +20 (f), -20 (i), +20 (o), 0.5 (C̃) by blocks, "
        f"random (h_0, C_0) {sizes(B=B, H=H)}"
    )
    hint = (
        "rows (f, i, o, C̃): with f ≈ 1 and i ≈ 0 the memory C keeps C_0, and h = "
        "tanh(C_0)"
    )
    case = f"one_step on x_0 {sizes(B=B, D=D)}, {weights}"
    got = _pair(mine.one_step(x[0], (h0, c0)), case, "one_step to return (h, C)")
    compare(case, got[1], c0, atol=1e-6, what="C", hint=hint)
    case = f"forward on x {sizes(L=L, B=B, D=D)}, {weights}"
    _, final = _pair(mine(x, (h0, c0), return_state=True), case, "(states, (h, C))")
    h, c = _pair(final, case, "the final state (h, C)")
    compare(case, c, c0, atol=1e-6, what="final C", hint=hint)
    compare(case, h, c0.tanh(), atol=1e-6, what="final h", hint=hint)


LSTM_EXERCISE = Exercise(
    label="gates-lstm",
    name="LSTM",
    reference="companion.recurrent.LSTM",
    question="TP4 Q5, the LSTM",
    points=3,
    properties=[
        Property("shapes of one_step and forward", _lstm_shapes),
        Property("one_step equals the companion's", _lstm_one_step),
        Property("forward equals nn.LSTM: states, final (h, C)", _lstm_forward),
        Property("gradients (input, initial state, weights)", _lstm_gradients),
        Property("the gate order (f, i, o, C̃)", _lstm_gate_order),
    ],
)


# ---- the GRU ---------------------------------------------------------------------


def _gru_shapes(candidate):
    L, B = 6, 3
    mine = _twin(candidate, _reference(GRU, 0))
    x, h = _randn(L, B, D, seed=1), _randn(B, H, seed=2)
    case = f"GRU(D={D}, H={H}, O={OUT}), x {sizes(L=L, B=B, D=D)}"
    _shape(case, mine(x), (L, B, H), "forward(x)")
    states, final = _pair(
        mine(x, h, return_state=True),
        case,
        "forward(x, h, return_state=True) to return (states, h)",
    )
    _shape(case, states, (L, B, H), "the states")
    _shape(case, final, (B, H), "the final h")
    _shape(case, mine.one_step(x[0], h), (B, H), "one_step's h")


def _gru_one_step(candidate):
    B = 3
    for seed in (0, 1):
        ref = _reference(GRU, seed)
        mine = _twin(candidate, ref)
        x, h = _randn(B, D, seed=4), _randn(B, H, seed=5)
        case = f"one_step, x {sizes(B=B, D=D)}, random h {sizes(B=B, H=H)}"
        compare(
            case,
            mine.one_step(x, h),
            ref.one_step(x, h),
            atol=1e-10,
            what="h",
            hint="rows (r, z, n); the candidate is tanh(W_in x + b_in + r ⊙ (W_hn h + "
            "b_hn)), and h_t = (1 - z) ⊙ h + z ⊙ h̃",
        )


def _gru_forward(candidate):
    L, B = 7, 3
    ref = _reference(GRU, 2)
    torch_gru, mine = ref.to_torch(), _twin(candidate, ref)
    x, h0 = _randn(L, B, D, seed=7), _randn(B, H, seed=8)
    case = f"x {sizes(L=L, B=B, D=D)}, random initial h, against nn.GRU"
    want, h_n = torch_gru(x, h0[None])
    states, h = _pair(mine(x, h0, return_state=True), case, "(states, h)")
    compare(case, states, want, atol=1e-10, what="states")
    compare(case, h, h_n[0], atol=1e-10, what="final h")
    compare(
        f"x {sizes(L=L, B=B, D=D)}, h=None, against nn.GRU",
        mine(x),
        torch_gru(x)[0],
        atol=1e-10,
        what="states",
        hint="h=None starts from zeros",
    )


def _gru_unpack(outputs):
    states, h = outputs
    return states, h


def _gru_gradients(candidate):
    names = ("x", "h0", "W_ih", "W_hh", "b_ih", "b_hh")
    _check_gradients(candidate, GRU, names, 1, _gru_unpack)


def _gru_update(candidate):
    """No weights, only biases: the update gate open (``z ≈ 1``), so the state is
    replaced by the candidate ``tanh(b_in + r ⊙ b_hn)`` at once; PyTorch's convention,
    ``(1 - z) ⊙ h̃ + z ⊙ h``, would keep ``h_0`` instead."""
    B = 2
    ref = _reference(GRU, 5)
    with torch.no_grad():
        ref.W_ih.zero_()
        ref.W_hh.zero_()
        ref.b_ih.copy_(torch.tensor([10.0, 20.0, 0.2]).repeat_interleave(H))
        ref.b_hh.copy_(torch.tensor([10.0, 0.0, 0.3]).repeat_interleave(H))
    mine = _twin(candidate, ref)
    x, h0 = _randn(3, B, D, seed=15), _randn(B, H, seed=16)
    case = (
        f"W_ih = W_hh = 0, update gate z ≈ 1 (its bias +20), reset r ≈ 1, b_in = 0.2, "
        f"b_hn = 0.3, h0 random {sizes(B=B, H=H)}"
    )
    want = torch.full((B, H), 0.5, dtype=torch.float64).tanh()
    hint = "the TP's convention: h_t = (1 - z) ⊙ h_{t-1} + z ⊙ h̃, so z ≈ 1 gives h̃"
    got = mine.one_step(x[0], h0)
    compare("one_step, " + case, got, want, atol=1e-6, what="h", hint=hint)
    states = mine(x, h0)
    compare("forward, " + case, states[0], want, atol=1e-6, what="states[0]", hint=hint)


GRU_EXERCISE = Exercise(
    label="gates-gru",
    name="GRU",
    reference="companion.recurrent.GRU",
    question="TP4 Q5, the GRU",
    points=3,
    properties=[
        Property("shapes of one_step and forward", _gru_shapes),
        Property("one_step equals the companion's", _gru_one_step),
        Property("forward equals nn.GRU: states, final h", _gru_forward),
        Property("gradients (input, initial state, weights)", _gru_gradients),
        Property("the update gate: (1 - z) h + z h̃", _gru_update),
    ],
)


# ---- checkable answers -----------------------------------------------------------


def _coupled_gates_saving(input_dim: int = 32, latent_dim: int = 67) -> int:
    """The parameters of the input gate, which the coupled LSTM (``i = 1 - f``) drops:
    its rows of ``W_ih``, ``W_hh`` and ``b`` in the companion's LSTM."""
    with torch.random.fork_rng():  # leave the global generator as it was
        lstm = LSTM(input_dim, latent_dim, None)
    rows = slice(latent_dim, 2 * latent_dim)  # the gate order is (f, i, o, C̃)
    return sum(p[rows].numel() for p in (lstm.W_ih, lstm.W_hh, lstm.b))


COUPLED_GATES = number(
    "gates-ex2",
    "gates_ex2_saved",
    "parameters saved for D = 32, H = 67",
    _coupled_gates_saving(),
    0.5,
    hint="count the input gate's weights: those that multiply h_{t-1}, those that "
    "multiply x_t, and its bias",
)

EXERCISES = [LSTM_EXERCISE, GRU_EXERCISE, COUPLED_GATES]
