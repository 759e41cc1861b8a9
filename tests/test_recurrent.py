"""The from-scratch LSTM and GRU equal PyTorch's: outputs, final states and every
gradient."""

import pytest
import torch
from torch import nn

import companion.recurrent as recurrent
from companion.recurrent import GRU, LSTM, LSTMSequence
from companion.rnn import RNN, RecurrentLayer

L, B, D, H, V = 6, 3, 4, 5, 2
TOLERANCES = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-4, "atol": 1e-5},
}


def _pair(kind, dtype, seed=0):
    torch.manual_seed(seed)
    if kind == "lstm":
        theirs = nn.LSTM(D, H).to(dtype)
        ours = LSTM(D, H, V).to(dtype).load_torch(theirs)
    else:
        theirs = nn.GRU(D, H).to(dtype)
        ours = GRU(D, H, V).to(dtype).load_torch(theirs)
    return ours, theirs


def _run(kind, module, x, h0, c0, ours: bool):
    if kind == "lstm":
        if ours:
            y, (h, c) = module(x, (h0, c0), return_state=True)
            return y, h, c
        y, (h, c) = module(x, (h0[None], c0[None]))
        return y, h[0], c[0]
    if ours:
        y, h = module(x, h0, return_state=True)
        return y, h, h
    y, h = module(x, h0[None])
    return y, h[0], h[0]


def _torch_grads(kind, theirs):
    """Gradients of ``nn.LSTM``/``nn.GRU`` mapped to our parameter layout."""
    w_ih, w_hh = theirs.weight_ih_l0.grad, theirs.weight_hh_l0.grad
    b_ih, b_hh = theirs.bias_ih_l0.grad, theirs.bias_hh_l0.grad
    if kind == "lstm":

        def order(w):
            i, f, g, o = w.chunk(4)
            return torch.cat([f, i, o, g])

        return {"W_ih": order(w_ih), "W_hh": order(w_hh), "b": order(b_ih)}

    def flip(w):  # d/da of σ(-a): the update gate's gradient changes sign
        r, z, n = w.chunk(3)
        return torch.cat([r, -z, n])

    return {
        "W_ih": flip(w_ih),
        "W_hh": flip(w_hh),
        "b_ih": flip(b_ih),
        "b_hh": flip(b_hh),
    }


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_outputs_states_and_gradients_equal_torch(kind, dtype):
    ours, theirs = _pair(kind, dtype)
    torch.manual_seed(1)
    x = torch.randn(L, B, D, dtype=dtype)
    h0, c0 = torch.randn(B, H, dtype=dtype), torch.randn(B, H, dtype=dtype)
    weights = [
        torch.randn(L, B, H, dtype=dtype),
        torch.randn(B, H, dtype=dtype),
        torch.randn(B, H, dtype=dtype),
    ]
    results, input_grads = [], []
    for module, is_ours in ((ours, True), (theirs, False)):
        xs, hs, cs = (t.clone().requires_grad_() for t in (x, h0, c0))
        out = _run(kind, module, xs, hs, cs, is_ours)
        loss = sum((w * o).sum() for w, o in zip(weights, out, strict=True))
        loss.backward()
        results.append(out)
        input_grads.append([xs.grad, hs.grad] + ([cs.grad] if kind == "lstm" else []))
    tol = TOLERANCES[dtype]
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, **tol)
    for a, b in zip(*input_grads, strict=True):
        torch.testing.assert_close(a, b, **tol)
    for name, grad in _torch_grads(kind, theirs).items():
        torch.testing.assert_close(getattr(ours, name).grad, grad, **tol)


def test_lstm_single_bias_gets_both_torch_bias_gradients():
    ours, theirs = _pair("lstm", torch.float64)
    x = torch.randn(L, B, D, dtype=torch.float64)
    ours(x).sum().backward()
    theirs(x)[0].sum().backward()
    torch.testing.assert_close(theirs.bias_ih_l0.grad, theirs.bias_hh_l0.grad)
    i, f, g, o = theirs.bias_hh_l0.grad.chunk(4)
    torch.testing.assert_close(ours.b.grad, torch.cat([f, i, o, g]))


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_weight_round_trip(cls):
    torch.manual_seed(3)
    ours = cls(D, H, V).double()
    theirs = ours.to_torch()
    back = cls(D, H, V).double().load_torch(theirs)
    for (name, a), b in zip(ours.named_parameters(), back.parameters(), strict=True):
        if not name.startswith("decoder"):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    x = torch.randn(L, B, D, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x)[0])


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_forward_equals_one_step_loop_and_decode_shapes(cls):
    torch.manual_seed(4)
    model = cls(D, H, V).double()
    x = torch.randn(L, B, D, dtype=torch.float64)
    states, final = model(x, return_state=True)
    state = model.initial_state(B, x)
    for t in range(L):
        state = model.one_step(x[t], state)
        torch.testing.assert_close(model.hidden(state), states[t])
    torch.testing.assert_close(model.hidden(state), model.hidden(final))
    assert model.decode(states).shape == (L, B, V)
    assert model.decode(states[-1]).shape == (B, V)


def _tp_gru_step(x, h, W_z, W_r, W, b_z, b_r, b):
    """The TP's GRU written with concatenations ``[h, x]``, as in the handout."""
    hx = torch.cat([h, x], dim=1)
    z = torch.sigmoid(hx @ W_z.T + b_z)
    r = torch.sigmoid(hx @ W_r.T + b_r)
    candidate = torch.tanh(torch.cat([r * h, x], dim=1) @ W.T + b)
    return (1 - z) * h + z * candidate


def test_gru_reset_before_is_the_tp_equation():
    torch.manual_seed(5)
    model = GRU(D, H, V, reset="before").double()
    x = torch.randn(L, B, D, dtype=torch.float64)
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = model.W_ih.chunk(3), model.W_hh.chunk(3)
    bias = model.b_ih + model.b_hh
    b_r, b_z, b_n = bias.chunk(3)
    W_z, W_r = torch.cat([W_hz, W_iz], 1), torch.cat([W_hr, W_ir], 1)
    W = torch.cat([W_hn, W_in], 1)
    h = torch.zeros(B, H, dtype=torch.float64)
    expected = []
    for t in range(L):
        h = _tp_gru_step(x[t], h, W_z, W_r, W, b_z, b_r, b_n)
        expected.append(h)
    torch.testing.assert_close(model(x), torch.stack(expected))
    after = GRU(D, H, V, reset="after").double()
    after.load_state_dict(model.state_dict())
    assert not torch.allclose(after(x), model(x)), "the two reset variants must differ"


def test_gru_reset_before_gradients_match_finite_differences():
    torch.manual_seed(6)
    model = GRU(2, 3, 1, reset="before").double()
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_gate_recording(cls):
    torch.manual_seed(7)
    model = cls(D, H, V)
    x = torch.randn(L, B, D)
    model(x)
    assert model.last_gates == {}, "gates are recorded only on request"
    model.record_gates = True
    states = model(x)
    assert set(model.last_gates) == set(cls.GATES)
    for values in model.last_gates.values():
        assert values.shape == (L, B, H) and not values.requires_grad
    for name in set(cls.GATES) - {"candidate"}:
        assert 0 <= model.last_gates[name].min() and model.last_gates[name].max() <= 1
    model.record_gates = False
    torch.testing.assert_close(model(x), states)


def test_lstm_gate_values_follow_the_equations():
    torch.manual_seed(8)
    model = LSTM(D, H, V).double()
    model.record_gates = True
    x = torch.randn(L, B, D, dtype=torch.float64)
    states = model(x)
    g = model.last_gates
    c = torch.zeros(B, H, dtype=torch.float64)
    for t in range(L):
        c = g["f"][t] * c + g["i"][t] * g["candidate"][t]
        torch.testing.assert_close(states[t], g["o"][t] * torch.tanh(c))


def _tp_lstm_step(x, h, c, W_f, W_i, W_o, W_C, b_f, b_i, b_o, b_C):
    """The TP's six equations, one weight matrix per gate on ``[h_{t-1}, x_t]``."""
    hx = torch.cat([h, x], dim=1)
    f = torch.sigmoid(hx @ W_f.T + b_f)
    i = torch.sigmoid(hx @ W_i.T + b_i)
    o = torch.sigmoid(hx @ W_o.T + b_o)
    candidate = torch.tanh(hx @ W_C.T + b_C)
    c = f * c + i * candidate
    h = o * torch.tanh(c)
    return h, c


def test_lstm_one_step_is_the_six_tp_equations():
    torch.manual_seed(9)
    model = LSTM(D, H, V).double()
    x, h, c = (torch.randn(B, n, dtype=torch.float64) for n in (D, H, H))
    weights = [
        torch.cat([w_h, w_x], dim=1)
        for w_h, w_x in zip(model.W_hh.chunk(4), model.W_ih.chunk(4), strict=True)
    ]
    expected = _tp_lstm_step(x, h, c, *weights, *model.b.chunk(4))
    for a, b in zip(model.one_step(x, (h, c)), expected, strict=True):
        torch.testing.assert_close(a, b)


def test_hand_written_backward_passes_gradcheck():
    torch.manual_seed(10)
    L_, B_, H_ = 4, 3, 2
    inputs = [
        torch.randn(L_, B_, 4 * H_),
        torch.randn(B_, H_),
        torch.randn(B_, H_),
        torch.randn(4 * H_, H_),
    ]
    inputs = [t.double().requires_grad_() for t in inputs]
    assert torch.autograd.gradcheck(LSTMSequence.apply, inputs)


@pytest.mark.parametrize("use", ["states", "final", "all"])
def test_hand_written_backward_equals_autograd_loop(use):
    """The fast path (``LSTMSequence``) and the ``cell`` loop under autograd agree."""
    torch.manual_seed(11)
    fast = LSTM(D, H, V).double()
    slow = LSTM(D, H, V).double()
    slow.load_state_dict(fast.state_dict())
    slow.hand_backward = False
    x, h0, c0 = torch.randn(L, B, D), torch.randn(B, H), torch.randn(B, H)
    weights = [torch.randn(L, B, H), torch.randn(B, H), torch.randn(B, H)]
    grads = []
    for model in (fast, slow):
        xs, hs, cs = (t.double().requires_grad_() for t in (x, h0, c0))
        states, (h, c) = model(xs, (hs, cs), return_state=True)
        outs = {"states": [states], "final": [h, c], "all": [states, h, c]}[use]
        ws = {"states": weights[:1], "final": weights[1:], "all": weights}[use]
        sum((w.double() * o).sum() for w, o in zip(ws, outs, strict=True)).backward()
        grads.append(
            [xs.grad, hs.grad, cs.grad, model.W_ih.grad, model.W_hh.grad, model.b.grad]
        )
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_both_lstm_paths_step_with_the_one_cell(monkeypatch):
    """``LSTMSequence`` and the autograd loop both call ``lstm_cell``, once a step."""
    calls = []
    cell = recurrent.lstm_cell
    monkeypatch.setattr(
        recurrent, "lstm_cell", lambda *args: calls.append(1) or cell(*args)
    )
    model = LSTM(D, H, V)
    x = torch.randn(L, B, D)
    fast = model(x)
    assert len(calls) == L
    model.hand_backward = False
    torch.testing.assert_close(model(x), fast)
    assert len(calls) == 2 * L


def test_a_subclass_changes_the_step_through_cell():
    """The chapter's exercises override ``cell``: the autograd loop then runs theirs."""

    class Leaky(LSTM):
        hand_backward = False

        def cell(self, p, h, c):
            h, c, *gates = super().cell(p, h, c)
            return 0.5 * h, c, *gates

    torch.manual_seed(12)
    plain, leaky = LSTM(D, H, V), Leaky(D, H, V)
    leaky.load_state_dict(plain.state_dict())
    x = torch.randn(L, B, D)
    torch.testing.assert_close(leaky(x)[0], 0.5 * plain(x)[0])


def test_rnn_lstm_and_gru_share_the_interface_code():
    """Sizes, zero state and decoder come from one base; each recurrence is its own."""
    for cls in (RNN, LSTM, GRU):
        assert issubclass(cls, RecurrentLayer)
        assert cls.decode is RecurrentLayer.decode
        assert cls.forward is not RecurrentLayer.forward
    assert GRU.initial_state is RNN.initial_state is RecurrentLayer.initial_state
    x = torch.randn(L, B, D)
    assert LSTM(D, H, V).decode(torch.randn(B, H)).shape == (B, V)
    h = GRU(D, H, V).initial_state(B, x.double())
    assert h.shape == (B, H) and h.dtype == torch.float64 and not h.any()


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_empty_batch_gives_empty_outputs(cls):
    model = cls(D, H, V)
    x = torch.zeros(L, 0, D, requires_grad=True)
    states, final = model(x, return_state=True)
    assert states.shape == (L, 0, H) and model.hidden(final).shape == (0, H)
    states.sum().backward()
    assert x.grad.shape == x.shape
    state = model.one_step(x[0], model.initial_state(0, x))
    assert model.hidden(state).shape == (0, H)


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_a_layer_without_decoder(cls):
    """``output_dim=None``: the recurrent weights only, for a layer inside a stack."""
    with_decoder, without = cls(D, H, V), cls(D, H, None)
    names = {name for name, _ in with_decoder.named_parameters()}
    assert {name for name, _ in without.named_parameters()} == {
        name for name in names if not name.startswith("decoder")
    }
    assert without(torch.randn(L, B, D)).shape == (L, B, H)


def _lstm():
    return LSTM(D, H, V)


def _gru():
    return GRU(D, H, V)


X, H0 = torch.randn(L, B, D), torch.zeros(B, H)
BAD_INPUTS = [
    # constructors
    (lambda: LSTM(D, 0, V), ValueError, "latent_dim"),
    (lambda: GRU(2.0, H, V), TypeError, "input_dim"),
    (lambda: LSTM(D, H, True), TypeError, "output_dim"),
    (lambda: GRU(D, H, V, reset="middle"), ValueError, "reset"),
    # forward: type, dtype, shape, length
    (lambda: _lstm()(X.numpy()), TypeError, "torch.as_tensor"),
    (lambda: _gru()(X.tolist()), TypeError, "torch.as_tensor"),
    (lambda: _lstm()(X.double()), TypeError, "torch.float32.*torch.float64"),
    (lambda: _gru()(X.long()), TypeError, "torch.float32.*torch.int64"),
    (lambda: _lstm()(torch.randn(L, D)), ValueError, r"x of shape \(L, B, 4\)"),
    (lambda: _gru()(torch.randn(L, B, D + 1)), ValueError, r"x of shape \(L, B, 4\)"),
    (lambda: _lstm()(torch.randn(0, B, D)), ValueError, "at least one time step"),
    # forward: initial state
    (lambda: _lstm()(X, H0), TypeError, r"LSTM state \(h, C\)"),
    (lambda: _lstm()(X, (H0, torch.zeros(B + 1, H))), ValueError, "C of shape"),
    (lambda: _lstm()(X, (H0.numpy(), H0)), TypeError, "torch.as_tensor"),
    (lambda: _gru()(X, torch.zeros(B, H + 1)), ValueError, "h of shape"),
    (lambda: _gru()(X, H0.double()), TypeError, "torch.float64"),
    # one_step
    (lambda: _lstm().one_step(X, (H0, H0)), ValueError, r"x of shape \(B, 4\)"),
    (lambda: _gru().one_step(X[0].numpy(), H0), TypeError, "torch.as_tensor"),
    (lambda: _gru().one_step(X[0], None), TypeError, "h to be a torch.Tensor"),
    (lambda: _lstm().one_step(X[0].double(), (H0, H0)), TypeError, "torch.float64"),
    (lambda: _lstm().one_step(X[0], None), TypeError, r"LSTM state \(h, C\)"),
    (lambda: _lstm().one_step(X[0], (H0,)), TypeError, r"LSTM state \(h, C\)"),
    (lambda: _lstm()(X, (H0, H0.long())), TypeError, "C of dtype torch.float32"),
    # decode
    (lambda: LSTM(D, H, None).decode(torch.randn(B, H)), ValueError, "output_dim=None"),
    (lambda: _lstm().decode(torch.randn(B, H + 1)), ValueError, "h of shape"),
    (lambda: _gru().decode(torch.randn(B, H).numpy()), TypeError, "torch.as_tensor"),
    (lambda: _gru().decode(torch.randn(B, H).double()), TypeError, "torch.float64"),
    # load_torch / to_torch
    (lambda: _lstm().load_torch(nn.GRU(D, H)), TypeError, "nn.LSTM"),
    (
        lambda: _lstm().load_torch(nn.LSTM(D, H, num_layers=2)),
        ValueError,
        r"nn.LSTM with \(.*num_layers.*\) = \(4, 5, 1, .*got \(4, 5, 2,",
    ),
    (
        lambda: _gru().load_torch(nn.GRU(D, H, batch_first=True)),
        ValueError,
        "batch_first",
    ),
    (lambda: _gru().load_torch(nn.GRU(D, H + 1)), ValueError, "hidden_size"),
    (lambda: _gru().load_torch("gru"), TypeError, "nn.GRU"),
    (lambda: _lstm().load_torch(nn.LSTM(D, H, proj_size=2)), ValueError, "proj_size"),
    (
        lambda: GRU(D, H, V, reset="before").load_torch(nn.GRU(D, H)),
        ValueError,
        "reset",
    ),
    (lambda: GRU(D, H, V, reset="before").to_torch(), ValueError, "reset"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
