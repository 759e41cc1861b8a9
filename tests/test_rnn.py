"""The RNN interface of the course: shapes, zero state, one_step against forward, decode."""

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


@pytest.mark.parametrize("args", [(0, 5, 2), (3, -1, 2)])
def test_constructor_rejects_bad_sizes(args):
    with pytest.raises(ValueError, match="int >= 1"):
        RNN(*args)


@pytest.mark.parametrize("args", [(3, 5, 2.0), (True, 5, 2)])
def test_constructor_rejects_non_int_sizes(args):
    with pytest.raises(TypeError, match="int >= 1"):
        RNN(*args)


def test_forward_rejects_bad_inputs(rnn):
    with pytest.raises(ValueError, match=r"expected x of shape \(L, B, 3\), got \(20, 2\)"):
        rnn(torch.randn(20, 2))
    with pytest.raises(ValueError, match=r"expected x of shape \(L, B, 3\)"):
        rnn(torch.randn(4, 2, 4))
    with pytest.raises(TypeError, match="floating-point"):
        rnn(torch.ones(4, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"expected h of shape \(B, 5\) with B=2"):
        rnn(torch.randn(4, 2, 3), torch.zeros(3, 5))


def test_one_step_and_decode_reject_bad_shapes(rnn):
    with pytest.raises(ValueError, match=r"expected x of shape \(B, 3\)"):
        rnn.one_step(torch.randn(2, 4), torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"expected h of shape \(B, 5\) with B=2"):
        rnn.one_step(torch.randn(2, 3), torch.zeros(1, 5))
    with pytest.raises(ValueError, match=r"expected h of shape \(B, 5\) or \(L, B, 5\)"):
        rnn.decode(torch.randn(5))
    with pytest.raises(ValueError, match=r"expected h of shape \(B, 5\) or \(L, B, 5\)"):
        rnn.decode(torch.randn(2, 4))


def test_one_step_and_decode_reject_bad_dtypes(rnn):
    with pytest.raises(TypeError, match="expected x to have a floating-point dtype"):
        rnn.one_step(torch.ones(2, 3, dtype=torch.long), torch.zeros(2, 5))
    with pytest.raises(TypeError, match="expected h to have a floating-point dtype"):
        rnn.decode(torch.ones(2, 5, dtype=torch.long))
