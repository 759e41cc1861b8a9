"""The NumPy RNN: forward equal to the torch RNN, hand-written BPTT equal to autograd."""

import numpy as np
import pytest
import torch

from companion.rnn import RNN
from companion.rnn_numpy import NumpyRNN, squared_error


def _pair(seed=0, sizes=(3, 6, 2)):
    torch.manual_seed(seed)
    rnn = RNN(*sizes).double()
    return rnn, NumpyRNN.from_torch(rnn)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_matches_torch(seed):
    rnn, net = _pair(seed)
    x, h0 = torch.randn(8, 4, 3, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    states, outputs = net.forward(x.numpy(), h0.numpy())
    with torch.no_grad():
        expected = rnn(x, h0)
        np.testing.assert_allclose(states, expected.numpy(), atol=1e-12)
        np.testing.assert_allclose(outputs, rnn.decode(expected).numpy(), atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("many_to_one", [False, True])
def test_bptt_matches_autograd(seed, many_to_one):
    rnn, net = _pair(seed)
    x = torch.randn(10, 3, 3, dtype=torch.float64)
    h0 = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    target = torch.randn(10, 3, 2, dtype=torch.float64)
    weight = torch.zeros(10, 1, 1, dtype=torch.float64)
    weight[-1] = 1.0
    if not many_to_one:
        weight[:] = 1.0
    _, outputs = net.forward(x.numpy(), h0.detach().numpy())
    loss, dy = squared_error(outputs, target.numpy())
    grads = net.backward(dy * weight.numpy())
    out = rnn.decode(rnn(x, h0))
    reference = (0.5 * (out - target) ** 2 * weight).sum() / 3
    reference.backward()
    if not many_to_one:
        assert loss == pytest.approx(reference.item(), rel=1e-12)
    pairs = {"W_i": rnn.W_i, "W_h": rnn.W_h, "b_h": rnn.b_h, "W_d": rnn.decoder.weight,
             "b_d": rnn.decoder.bias, "h0": h0}
    for name, tensor in pairs.items():
        np.testing.assert_allclose(grads[name], tensor.grad.numpy(), atol=1e-10, err_msg=name)


def test_zero_state_default_and_gradient_shapes():
    net = NumpyRNN(2, 4, 3, np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(5, 2, 2))
    states, outputs = net.forward(x)
    np.testing.assert_allclose(states, net.forward(x, np.zeros((2, 4)))[0])
    assert states.shape == (5, 2, 4) and outputs.shape == (5, 2, 3)
    grads = net.backward(np.ones((5, 2, 3)))
    for name, value in net.params.items():
        assert grads[name].shape == value.shape
    assert grads["h0"].shape == (2, 4)


def test_parameters_are_bounded_and_seeded():
    a = NumpyRNN(2, 16, 3, np.random.default_rng(0))
    b = NumpyRNN(2, 16, 3, np.random.default_rng(0))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
        assert np.abs(a.params[name]).max() <= 0.25


def test_validation_errors():
    with pytest.raises(ValueError, match="positive int"):
        NumpyRNN(0, 4, 3)
    net = NumpyRNN(2, 4, 3, np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="forward"):
        net.backward(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"expected x of shape \(L, B, 2\), got \(20, 2\)"):
        net.forward(np.zeros((20, 2)))
    with pytest.raises(TypeError, match="floating-point"):
        net.forward(np.zeros((5, 2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match=r"expected h0 of shape \(B, 4\) with B=2"):
        net.forward(np.zeros((5, 2, 2)), np.zeros((3, 4)))
    net.forward(np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match=r"expected dy of shape \(5, 2, 3\)"):
        net.backward(np.zeros((5, 2, 4)))
    with pytest.raises(ValueError, match=r"expected target of shape \(L, B, O\) with L=5"):
        squared_error(np.zeros((5, 2, 3)), np.zeros((4, 2, 3)))
