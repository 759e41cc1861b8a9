"""Stacked and bidirectional LSTMs of companion layers equal nn.LSTM: outputs, final
states and every gradient; dropout acts between layers only; one direction steps."""

import copy

import pytest
import torch
from torch import nn

from companion.language_model import CharLM
from companion.stacked import StackedLSTM

L, B, D, H, V = 6, 3, 4, 5, 2
F64 = torch.float64


def _pair(num_layers, bidirectional, seed=0):
    torch.manual_seed(seed)
    theirs = nn.LSTM(D, H, num_layers, bidirectional=bidirectional).to(F64)
    ours = StackedLSTM(D, H, V, num_layers, bidirectional).to(F64).load_torch(theirs)
    return ours, theirs


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_outputs_states_and_gradients_equal_torch(num_layers, bidirectional):
    ours, theirs = _pair(num_layers, bidirectional)
    k = num_layers * (2 if bidirectional else 1)
    torch.manual_seed(1)
    x, h0, c0 = torch.randn(L, B, D), torch.randn(k, B, H), torch.randn(k, B, H)
    weights = [torch.randn(L, B, H * k // num_layers), torch.randn(k, B, H)]
    weights.append(torch.randn(k, B, H))
    results = []
    for module, extra in ((ours, {"return_state": True}), (theirs, {})):
        inputs = [t.to(F64).requires_grad_() for t in (x, h0, c0)]
        y, (h, c) = module(inputs[0], tuple(inputs[1:]), **extra)
        out = [y, h, c]
        sum((w.to(F64) * o).sum() for w, o in zip(weights, out, strict=True)).backward()
        results.append(out + [t.grad for t in inputs])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    # weight gradients: PyTorch's, loaded as weights (the map is linear; our single
    # bias b stands for bias_ih + bias_hh, whose gradients are equal)
    grads = copy.deepcopy(theirs)
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            g = getattr(grads, name)
            g.copy_(torch.zeros_like(p) if name.startswith("bias_hh") else p.grad)
    mapped = StackedLSTM(D, H, V, num_layers, bidirectional).to(F64).load_torch(grads)
    pairs = zip(ours.layers.parameters(), mapped.layers.parameters(), strict=True)
    for p, q in pairs:
        torch.testing.assert_close(p.grad, q, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_weight_round_trip(bidirectional):
    torch.manual_seed(2)
    ours = StackedLSTM(D, H, V, 3, bidirectional).to(F64)
    theirs = ours.to_torch()
    back = StackedLSTM(D, H, V, 3, bidirectional).to(F64).load_torch(theirs)
    for a, b in zip(ours.layers.parameters(), back.layers.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    x = torch.randn(L, B, D, dtype=F64)
    torch.testing.assert_close(ours(x), theirs(x)[0])


def test_dropout_acts_between_layers_in_training_only():
    torch.manual_seed(3)
    ours = StackedLSTM(D, H, V, 2, dropout=0.5).to(F64)
    theirs = ours.to_torch()
    assert theirs.dropout == 0.5
    x = torch.randn(L, B, D, dtype=F64)
    ours.eval()
    theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x)[0])  # evaluation: no dropout
    ours.train()
    assert not torch.allclose(ours(x), ours(x)), "fresh masks at every call"
    # p = 1 drops every input of layer 2, and nothing after it: layer 2 reads zeros
    ours.dropout = 1.0
    top = ours.layers[1]
    torch.testing.assert_close(ours(x), top(torch.zeros(L, B, H, dtype=F64)))
    assert ours(x).abs().min() > 0


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_backward_direction_reads_the_future(bidirectional):
    """Output at step t depends on x_{t+1} only in a bidirectional stack."""
    torch.manual_seed(4)
    model = StackedLSTM(D, H, V, 2, bidirectional).to(F64)
    x = torch.randn(L, B, D, dtype=F64, requires_grad=True)
    model(x)[2].sum().backward()
    future = x.grad[3:].abs().max()
    assert (future > 0) == bidirectional
    assert x.grad[:3].abs().min() > 0


def test_one_step_loop_equals_forward_and_decodes():
    torch.manual_seed(5)
    model = StackedLSTM(D, H, V, 3).to(F64)
    x = torch.randn(L, B, D, dtype=F64)
    outputs, final = model(x, return_state=True)
    state = model.initial_state(B, x)
    for t in range(L):
        state = model.one_step(x[t], state)
        torch.testing.assert_close(model.hidden(state), outputs[t])
    for a, b in zip(state, final, strict=True):
        torch.testing.assert_close(a, b)
    assert model.decode(outputs).shape == (L, B, V)
    both = StackedLSTM(D, H, V, 2, bidirectional=True)
    assert both.decode(both(x.float())).shape == (L, B, V)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_hidden_of_a_bidirectional_state_holds_both_directions(num_layers):
    """``hidden`` gives each direction's last step, ``[h→_L, h←_1]`` ``(B, 2H)``, the
    summary the decoder reads; the top layer's backward half alone would be wrong."""
    torch.manual_seed(7)
    model = StackedLSTM(D, H, V, num_layers, bidirectional=True).to(F64)
    x = torch.randn(L, B, D, dtype=F64)
    outputs, state = model(x, return_state=True)
    h = model.hidden(state)
    assert h.shape == (B, 2 * H)
    torch.testing.assert_close(h[:, :H], outputs[-1, :, :H])  # forward, step L
    torch.testing.assert_close(h[:, H:], outputs[0, :, H:])  # backward, step 1
    assert model.decode(h).shape == (B, V)
    one_way = StackedLSTM(D, H, V, num_layers).to(F64)
    outputs, state = one_way(x, return_state=True)
    torch.testing.assert_close(one_way.hidden(state), outputs[-1])


def test_a_language_model_takes_a_stack():
    torch.manual_seed(6)
    lm = CharLM(StackedLSTM(8, H, 10, 2), vocab_size=10)
    tokens = torch.randint(0, 10, (L, B))
    assert lm(tokens).shape == (L, B, 10)


def _stack(**kwargs):
    return StackedLSTM(D, H, V, **kwargs)


X = torch.randn(L, B, D)
ZEROS = torch.zeros(4, B, H)
BAD_INPUTS = [
    # constructor
    (lambda: StackedLSTM(D, H, V, 0), ValueError, "num_layers"),
    (lambda: StackedLSTM(D, H, V, 2.0), TypeError, "num_layers"),
    (lambda: StackedLSTM(0, H, V), ValueError, "input_dim"),
    (lambda: _stack(bidirectional=1), TypeError, "bidirectional"),
    (lambda: _stack(dropout=1.5), ValueError, "dropout"),
    (lambda: _stack(dropout="0.1"), TypeError, "dropout"),
    (lambda: _stack(num_layers=1, dropout=0.2), ValueError, "num_layers >= 2"),
    (lambda: StackedLSTM(D, H, None), TypeError, "output_dim"),
    # forward
    (lambda: _stack()(X.numpy()), TypeError, "torch.as_tensor"),
    (lambda: _stack()(X.double()), TypeError, "torch.float64"),
    (lambda: _stack()(torch.randn(L, B, D + 1)), ValueError, r"x of shape \(L, B, 4\)"),
    (lambda: _stack()(torch.randn(0, B, D)), ValueError, "at least one time step"),
    (lambda: _stack()(X, ZEROS), TypeError, r"LSTM state \(h, C\)"),
    (lambda: _stack()(X, (ZEROS, ZEROS)), ValueError, r"h of shape \(2, B, 5\)"),
    (
        lambda: _stack(bidirectional=True)(X, (ZEROS, ZEROS[:2])),
        ValueError,
        r"C of shape \(4, B, 5\)",
    ),
    # one_step, decode
    (
        lambda: _stack(bidirectional=True).one_step(X[0], (ZEROS, ZEROS)),
        ValueError,
        "reads the future",
    ),
    (lambda: _stack().one_step(X, (ZEROS, ZEROS)), ValueError, r"x of shape \(B, 4\)"),
    (lambda: _stack(bidirectional=True).decode(torch.randn(B, H)), ValueError, "10"),
    (lambda: _stack().one_step(X[0], ZEROS), TypeError, r"LSTM state \(h, C\)"),
    (lambda: _stack()(X, (ZEROS[:2], ZEROS[:2].double())), TypeError, "C of dtype"),
    (lambda: _stack().decode(torch.randn(L, B, H).long()), TypeError, "int64"),
    # load_torch
    (lambda: _stack().load_torch(nn.GRU(D, H, 2)), TypeError, "nn.LSTM"),
    (lambda: _stack().load_torch(nn.LSTM(D, H, 3)), ValueError, "num_layers"),
    (
        lambda: _stack().load_torch(nn.LSTM(D, H, 2, bidirectional=True)),
        ValueError,
        "bidirectional",
    ),
    (
        lambda: _stack().load_torch(nn.LSTM(D, H, 2, batch_first=True)),
        ValueError,
        "batch_first",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
