"""The NumPy RNN: forward equal to the torch RNN, hand-written BPTT equal to
autograd."""

import numpy as np
import pytest
import torch

from companion.rnn import RNN
from companion.rnn_numpy import (
    PARAMETERS,
    NumpyRNN,
    backward_recomputing_states,
    gradient_descent,
    mse_loss_and_grad,
)


def _pair(seed=0, sizes=(3, 6, 2)):
    torch.manual_seed(seed)
    rnn = RNN(*sizes).double()
    return rnn, NumpyRNN.from_torch(rnn)


def _autograd(rnn, x, h0, target):
    """Autograd's gradients of the many-to-many 0.5·Σ(y - target)²/B, by parameter
    name."""
    h0 = h0.clone().requires_grad_(True)
    rnn.zero_grad()
    out = rnn.decode(rnn(x, h0))
    (0.5 * (out - target).pow(2).sum() / x.shape[1]).backward()
    pairs = {
        "W_i": rnn.W_i,
        "W_h": rnn.W_h,
        "b_h": rnn.b_h,
        "W_d": rnn.decoder.weight,
        "b_d": rnn.decoder.bias,
        "h0": h0,
    }
    return {name: tensor.grad.numpy() for name, tensor in pairs.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_matches_torch(seed):
    rnn, net = _pair(seed)
    x, h0 = (
        torch.randn(8, 4, 3, dtype=torch.float64),
        torch.randn(4, 6, dtype=torch.float64),
    )
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
    loss, dy = mse_loss_and_grad(outputs, target.numpy())
    grads = net.backward(dy * weight.numpy())
    out = rnn.decode(rnn(x, h0))
    reference = (0.5 * (out - target) ** 2 * weight).sum() / 3
    reference.backward()
    if not many_to_one:
        assert loss == pytest.approx(reference.item(), rel=1e-12)
    pairs = {
        "W_i": rnn.W_i,
        "W_h": rnn.W_h,
        "b_h": rnn.b_h,
        "W_d": rnn.decoder.weight,
        "b_d": rnn.decoder.bias,
        "h0": h0,
    }
    for name, tensor in pairs.items():
        np.testing.assert_allclose(
            grads[name], tensor.grad.numpy(), atol=1e-10, err_msg=name
        )


@pytest.mark.parametrize("seed", [0, 1])
def test_recomputed_states_give_wrong_gradients(seed):
    rnn, net = _pair(seed)
    x = torch.randn(10, 3, 3, dtype=torch.float64)
    target = torch.randn(10, 3, 2, dtype=torch.float64)
    h0 = torch.zeros(3, 6, dtype=torch.float64)
    _, outputs = net.forward(x.numpy())
    _, dy = mse_loss_and_grad(outputs, target.numpy())
    wrong = backward_recomputing_states(net, dy)
    right = _autograd(rnn, x, h0, target)
    assert wrong.keys() == right.keys()
    np.testing.assert_allclose(wrong["b_d"], right["b_d"], atol=1e-12)  # needs no state
    for name in ("W_i", "W_h", "b_h", "W_d"):
        scale = np.abs(right[name]).max()
        assert np.abs(wrong[name] - right[name]).max() > 0.05 * scale, name


def test_gradient_descent_learns_and_the_wrong_backward_learns_less():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 32, 2))
    target = (
        np.cumsum(x[..., :1], axis=0) / np.arange(1, 13)[:, None, None]
    )  # running mean
    right = NumpyRNN(2, 8, 1, np.random.default_rng(1))
    wrong = NumpyRNN(2, 8, 1, np.random.default_rng(1))
    right_losses = gradient_descent(right, x, target, 150, 0.05)
    wrong_losses = gradient_descent(
        wrong, x, target, 150, 0.05, backward_recomputing_states
    )
    assert len(right_losses) == 151 and right_losses[0] == wrong_losses[0]
    assert right_losses[-1] < 0.5 * right_losses[0]
    assert right_losses[-1] < 0.7 * wrong_losses[-1]


def test_zero_state_default_and_gradient_shapes():
    net = NumpyRNN(2, 4, 3, np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(5, 2, 2))
    states, outputs = net.forward(x)
    np.testing.assert_allclose(states, net.forward(x, np.zeros((2, 4)))[0])
    assert states.shape == (5, 2, 4) and outputs.shape == (5, 2, 3)
    for grads in (
        net.backward(np.ones((5, 2, 3))),
        backward_recomputing_states(net, np.ones((5, 2, 3))),
    ):
        for name, value in net.params.items():
            assert grads[name].shape == value.shape
        assert grads["h0"].shape == (2, 4)


def test_parameters_are_bounded_and_seeded():
    a = NumpyRNN(2, 16, 3, np.random.default_rng(0))
    b = NumpyRNN(2, 16, 3, np.random.default_rng(0))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
        assert np.abs(a.params[name]).max() <= 0.25


def test_without_rng_the_torch_seed_decides():
    torch.manual_seed(3)
    a = NumpyRNN(2, 16, 3)
    torch.manual_seed(3)
    b = NumpyRNN(2, 16, 3)
    c = NumpyRNN(2, 16, 3)
    assert set(a.params) == set(PARAMETERS)
    for name in PARAMETERS:
        np.testing.assert_array_equal(a.params[name], b.params[name])
        assert (
            a.params[name].dtype == np.float64 and np.abs(a.params[name]).max() <= 0.25
        )
    assert not np.array_equal(a.params["W_h"], c.params["W_h"])


def test_from_torch_copies_without_drawing():
    rnn = RNN(3, 6, 2)
    state = torch.random.get_rng_state()
    net = NumpyRNN.from_torch(rnn)
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(net.params["W_h"], rnn.W_h.detach().double().numpy())
    assert (net.input_dim, net.latent_dim, net.output_dim) == (3, 6, 2)


def _fresh():
    return NumpyRNN(2, 4, 3, np.random.default_rng(0))


def _after_forward():
    net = _fresh()
    net.forward(np.zeros((5, 2, 2)))
    return net


ZEROS = np.zeros((5, 2, 2))
BAD_INPUTS = [
    # constructors
    (lambda: NumpyRNN(0, 4, 3), ValueError, "input_dim to be an int >= 1"),
    (lambda: NumpyRNN(2, 4.0, 3), TypeError, "latent_dim"),
    (lambda: NumpyRNN.from_torch(torch.nn.RNN(3, 6)), TypeError, "companion.rnn.RNN"),
    # forward
    (
        lambda: _fresh().forward(np.zeros((20, 2))),
        ValueError,
        r"x of shape \(L, B, 2\), got \(20, 2\)",
    ),
    (lambda: _fresh().forward(ZEROS.astype(np.int64)), TypeError, "floating-point"),
    (
        lambda: _fresh().forward(torch.zeros(5, 2, 2)),
        TypeError,
        r"numpy.ndarray.*\.numpy\(\)",
    ),
    (
        lambda: _fresh().forward(ZEROS, np.zeros((3, 4))),
        ValueError,
        r"h0 of shape \(B, 4\) with B=2",
    ),
    (
        lambda: _fresh().forward(ZEROS, torch.zeros(2, 4)),
        TypeError,
        "h0 to be a numpy.ndarray",
    ),
    # backward
    (lambda: _fresh().backward(np.zeros((5, 2, 3))), RuntimeError, "forward"),
    (
        lambda: backward_recomputing_states(_fresh(), np.zeros((5, 2, 3))),
        RuntimeError,
        "forward",
    ),
    (
        lambda: _after_forward().backward(np.zeros((5, 2, 4))),
        ValueError,
        r"dy of shape \(5, 2, 3\)",
    ),
    (
        lambda: backward_recomputing_states(_after_forward(), np.zeros((4, 2, 3))),
        ValueError,
        r"dy of shape \(5, 2, 3\)",
    ),
    (
        lambda: _after_forward().backward(torch.zeros(5, 2, 3)),
        TypeError,
        "dy to be a numpy.ndarray",
    ),
    # loss and training
    (
        lambda: mse_loss_and_grad(np.zeros((5, 2, 3)), np.zeros((4, 2, 3))),
        ValueError,
        r"target of shape \(L, B, O\) with L=5",
    ),
    (
        lambda: mse_loss_and_grad(
            np.zeros((5, 2, 3)), np.zeros((5, 2, 3), dtype=np.int64)
        ),
        TypeError,
        "target",
    ),
    (
        lambda: gradient_descent(_fresh(), ZEROS, np.zeros((5, 2, 3)), 0, 0.1),
        ValueError,
        "steps to be an int >= 1",
    ),
    (
        lambda: gradient_descent(_fresh(), ZEROS, np.zeros((5, 2, 3)), 1, 0.0),
        ValueError,
        r"lr to be a real number in \(0, inf\]",
    ),
    # issue 27: a seed for a generator, no step or no sequence, a wrong network
    (lambda: NumpyRNN(2, 4, 3, rng=42), TypeError, "rng"),
    (
        lambda: _fresh().forward(np.zeros((0, 2, 2))),
        ValueError,
        r"x with at least one time step, got shape \(0, 2, 2\)",
    ),
    (
        lambda: mse_loss_and_grad(np.zeros((5, 0, 3)), np.zeros((5, 0, 3))),
        ValueError,
        r"outputs with at least one B, got shape \(5, 0, 3\)",
    ),
    (
        lambda: gradient_descent("net", ZEROS, np.zeros((5, 2, 3)), 1, 0.1),
        TypeError,
        "net to be a NumpyRNN",
    ),
    (
        lambda: gradient_descent(_fresh(), ZEROS, np.zeros((5, 2, 1)), 1, 0.1),
        ValueError,
        r"target of shape \(L, B, O\) with L=5, B=2, O=3",
    ),
    (
        lambda: gradient_descent(
            _fresh(), np.zeros((5, 2, 3)), np.zeros((5, 2, 3)), 1, 0.1
        ),
        ValueError,
        r"x of shape \(L, B, D\) with D=2",
    ),
    (
        lambda: backward_recomputing_states(object(), np.zeros((5, 2, 3))),
        TypeError,
        "net",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
