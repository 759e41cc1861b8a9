"""The RNN interface of the course: shapes, zero state, one_step against forward,
decode."""

import pytest
import torch

from companion.rnn import RNN


@pytest.fixture
def rnn():
    torch.manual_seed(0)
    return RNN(3, 5, 2)


def test_forward_shapes_and_final_state(rnn):
    x = torch.randn(7, 4, 3)
    states = rnn(x)
    assert states.shape == (7, 4, 5)
    again, last = rnn(x, return_state=True)
    torch.testing.assert_close(again, states)
    torch.testing.assert_close(last, states[-1])
    assert rnn.hidden(last) is last


def test_none_state_is_a_zero_state(rnn):
    x = torch.randn(6, 2, 3)
    torch.testing.assert_close(rnn(x), rnn(x, torch.zeros(2, 5)))
    assert not torch.allclose(rnn(x), rnn(x, torch.ones(2, 5)))


def test_forward_equals_one_step_loop(rnn):
    x, h = torch.randn(9, 3, 3), torch.randn(3, 5)
    states = rnn(x, h)
    for t in range(9):
        h = rnn.one_step(x[t], h)
        torch.testing.assert_close(states[t], h)


def test_one_step_is_the_elman_equation(rnn):
    x, h = torch.randn(2, 3), torch.randn(2, 5)
    expected = torch.tanh(x @ rnn.W_i.T + h @ rnn.W_h.T + rnn.b_h)
    torch.testing.assert_close(rnn.one_step(x, h), expected)


def test_initial_state_follows_dtype(rnn):
    like = torch.zeros(1, dtype=torch.float64)
    h = rnn.initial_state(4, like)
    assert h.shape == (4, 5) and h.dtype == torch.float64 and not h.any()


def test_decode_two_and_three_dimensional(rnn):
    h = torch.randn(7, 4, 5)
    out = rnn.decode(h)
    assert out.shape == (7, 4, 2)
    torch.testing.assert_close(rnn.decode(h[3]), out[3])
    torch.testing.assert_close(out, h @ rnn.decoder.weight.T + rnn.decoder.bias)


def test_gradient_reaches_every_parameter(rnn):
    rnn.decode(rnn(torch.randn(5, 2, 3))[-1]).sum().backward()
    for name, p in rnn.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_empty_batch_gives_empty_outputs(rnn):
    x = torch.zeros(4, 0, 3, requires_grad=True)
    states, last = rnn(x, return_state=True)
    assert states.shape == (4, 0, 5) and last.shape == (0, 5)
    states.sum().backward()
    assert x.grad.shape == x.shape
    assert rnn.one_step(x[0], last).shape == (0, 5)


X, H0 = torch.randn(4, 2, 3), torch.zeros(2, 5)
BAD_INPUTS = [
    # constructor
    (lambda m: RNN(0, 5, 2), ValueError, "input_dim"),
    (lambda m: RNN(3, -1, 2), ValueError, "latent_dim"),
    (lambda m: RNN(3, 5, 2.0), TypeError, "output_dim"),
    (lambda m: RNN(True, 5, 2), TypeError, "input_dim"),
    (lambda m: RNN(3, 5, None), TypeError, "output_dim"),
    # forward
    (lambda m: m(X.numpy()), TypeError, "torch.as_tensor"),
    (lambda m: m(X.double()), TypeError, "torch.float32.*torch.float64"),
    (lambda m: m(X.long()), TypeError, "torch.float32.*torch.int64"),
    (
        lambda m: m(torch.randn(20, 2)),
        ValueError,
        r"x of shape \(L, B, 3\), got \(20, 2\)",
    ),
    (lambda m: m(torch.randn(4, 2, 4)), ValueError, r"x of shape \(L, B, 3\)"),
    (lambda m: m(torch.randn(0, 2, 3)), ValueError, "at least one time step"),
    (lambda m: m(X, torch.zeros(3, 5)), ValueError, r"h of shape \(B, 5\) with B=2"),
    (lambda m: m(X, H0.numpy()), TypeError, "torch.as_tensor"),
    (lambda m: m(X, H0.double()), TypeError, "torch.float64"),
    # one_step
    (lambda m: m.one_step(torch.randn(2, 4), H0), ValueError, r"x of shape \(B, 3\)"),
    (lambda m: m.one_step(X[0], torch.zeros(1, 5)), ValueError, r"h of shape \(B, 5\)"),
    (lambda m: m.one_step(X[0], None), TypeError, "h to be a torch.Tensor"),
    (lambda m: m.one_step(X[0].long(), H0), TypeError, "torch.int64"),
    (lambda m: m.one_step(X[0].numpy(), H0), TypeError, "torch.as_tensor"),
    # decode
    (
        lambda m: m.decode(torch.randn(5)),
        ValueError,
        r"h of shape \(B, 5\) or \(L, B, 5\)",
    ),
    (lambda m: m.decode(torch.randn(2, 4)), ValueError, r"h of shape \(B, 5\)"),
    (lambda m: m.decode(H0.long()), TypeError, "torch.int64"),
    (lambda m: m.decode(H0.numpy()), TypeError, "torch.as_tensor"),
    (lambda m: m.decode(H0.double()), TypeError, "torch.float64"),
    (lambda m: m.decode(torch.randn(1, 4, 2, 5)), ValueError, r"\(L, B, 5\)"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(rnn, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(rnn)
