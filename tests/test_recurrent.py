"""The from-scratch LSTM and GRU equal PyTorch's: outputs, final states and every gradient."""

import pytest
import torch
from torch import nn

from companion.recurrent import GRU, LSTM

L, B, D, H, V = 6, 3, 4, 5, 2
TOLERANCES = {torch.float64: {"rtol": 1e-10, "atol": 1e-10},
              torch.float32: {"rtol": 1e-4, "atol": 1e-5}}


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
    return {"W_ih": flip(w_ih), "W_hh": flip(w_hh), "b_ih": flip(b_ih), "b_hh": flip(b_hh)}


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_outputs_states_and_gradients_equal_torch(kind, dtype):
    ours, theirs = _pair(kind, dtype)
    torch.manual_seed(1)
    x = torch.randn(L, B, D, dtype=dtype)
    h0, c0 = torch.randn(B, H, dtype=dtype), torch.randn(B, H, dtype=dtype)
    weights = [torch.randn(L, B, H, dtype=dtype), torch.randn(B, H, dtype=dtype),
               torch.randn(B, H, dtype=dtype)]
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


@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_input_validation(cls):
    model = cls(D, H, V)
    with pytest.raises(ValueError, match=r"expected x of shape \(L, B, 4\)"):
        model(torch.randn(L, D))
    with pytest.raises(ValueError, match=r"expected x of shape \(L, B, 4\)"):
        model(torch.randn(L, B, D + 1))
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.zeros(L, B, D, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected x of shape \(B, 4\)"):
        model.one_step(torch.randn(L, B, D), model.initial_state(B, torch.zeros(1)))
    with pytest.raises(ValueError, match="expected h of shape"):
        model.decode(torch.randn(B, H + 1))
    with pytest.raises(ValueError, match=r"expected latent_dim to be an int >= 1, got 0"):
        cls(D, 0, V)
    with pytest.raises(TypeError, match=r"expected input_dim to be an int >= 1"):
        cls(2.0, H, V)


def test_state_validation():
    lstm, gru = LSTM(D, H, V), GRU(D, H, V)
    x = torch.randn(L, B, D)
    with pytest.raises(TypeError, match=r"LSTM state \(h, C\)"):
        lstm(x, torch.zeros(B, H))
    with pytest.raises(ValueError, match=r"expected C of shape \(B, 5\) with B=3"):
        lstm(x, (torch.zeros(B, H), torch.zeros(B + 1, H)))
    with pytest.raises(ValueError, match=r"expected h of shape \(B, 5\) with B=3"):
        gru(x, torch.zeros(B, H + 1))
    with pytest.raises(ValueError, match="reset in"):
        GRU(D, H, V, reset="middle")


def test_torch_module_validation():
    with pytest.raises(TypeError, match=r"expected a torch.nn.LSTM, got GRU"):
        LSTM(D, H, V).load_torch(nn.GRU(D, H))
    with pytest.raises(ValueError, match="one-layer"):
        LSTM(D, H, V).load_torch(nn.LSTM(D, H, num_layers=2))
    with pytest.raises(ValueError, match="one-layer"):
        GRU(D, H, V).load_torch(nn.GRU(D, H, batch_first=True))
    with pytest.raises(ValueError, match="hidden_size=5"):
        GRU(D, H, V).load_torch(nn.GRU(D, H + 1))
    with pytest.raises(ValueError, match="reset='after'"):
        GRU(D, H, V, reset="before").load_torch(nn.GRU(D, H))
    with pytest.raises(ValueError, match="reset='after'"):
        GRU(D, H, V, reset="before").to_torch()
