"""minGRU and minLSTM: the parallel mode (log-space scan) equals the sequential mode
(the equations, step by step) in outputs, final state and gradients, for any length; the
layers fit the book's interfaces (CharLM, generation); bad inputs are named."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.language_model import CharLM
from companion.minrnn import MinGRU, MinLSTM, g, log_g

F64 = torch.float64
CLASSES = [MinGRU, MinLSTM]


def _run(layer, x, h0, mode):
    params = list(layer.parameters())
    x = x.detach().requires_grad_()
    states, final = layer(x, h0, return_state=True, mode=mode)
    weight = torch.linspace(-1, 1, states.numel(), dtype=F64).view(states.shape)
    loss = (states * weight).sum() + final.square().sum()
    grads = torch.autograd.grad(loss, [x, *params])
    return states, final, grads


@pytest.mark.parametrize("cls", CLASSES)
@settings(max_examples=15, deadline=None)
@given(
    L=st.integers(1, 40),
    B=st.integers(1, 3),
    seed=st.integers(0, 2**31),
    start=st.booleans(),
)
def test_parallel_equals_sequential(cls, L, B, seed, start):
    torch.manual_seed(seed)
    layer = cls(3, 5, None).double()
    x = 3 * torch.randn(L, B, 3, dtype=F64)  # gates near 0 and 1 as well
    h0 = torch.rand(B, 5, dtype=F64) + 0.05 if start else None
    par, seq = (_run(layer, x, h0, mode) for mode in ("parallel", "sequential"))
    torch.testing.assert_close(par[0], seq[0], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(par[1], seq[1], atol=1e-10, rtol=1e-10)
    for got, want in zip(par[2], seq[2], strict=True):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("cls", CLASSES)
def test_the_mode_attribute_is_the_default(cls):
    layer = cls(2, 4, 1, mode="sequential").double()
    x = torch.randn(6, 2, 2, dtype=F64)
    torch.testing.assert_close(layer(x), layer(x, mode="parallel"))
    assert layer.decode(layer(x)[-1]).shape == (2, 1)


@pytest.mark.parametrize("cls", CLASSES)
def test_one_step_is_the_equation(cls):
    torch.manual_seed(0)
    layer = cls(3, 4, None).double()
    x, h = torch.randn(2, 3, dtype=F64), torch.rand(2, 4, dtype=F64) + 0.1
    blocks = (x @ layer.W.T + layer.b).chunk(cls.BLOCKS, dim=-1)
    if cls is MinGRU:
        z = torch.sigmoid(blocks[0])
        want = (1 - z) * h + z * g(blocks[1])
    else:
        f, i = torch.sigmoid(blocks[0]), torch.sigmoid(blocks[1])
        want = f / (f + i) * h + i / (f + i) * g(blocks[2])
    torch.testing.assert_close(layer.one_step(x, h), want)


def test_g_is_positive_and_log_g_is_its_log():
    x = torch.linspace(-40, 40, 801, dtype=F64)
    assert (g(x) > 0).all()
    torch.testing.assert_close(log_g(x), g(x).log())
    assert torch.isfinite(log_g(torch.tensor([-200.0], dtype=F64))).all()


def test_long_sequences_stay_finite():
    torch.manual_seed(0)
    layer = MinGRU(2, 8, None)
    states = layer(torch.randn(3000, 2, 2))
    assert torch.isfinite(states).all() and (states > 0).all()


@pytest.mark.parametrize("cls", CLASSES)
def test_char_model_generates_step_by_step(cls):
    torch.manual_seed(0)
    model = CharLM(cls(8, 16, 20), vocab_size=20).double()
    tokens = torch.randint(2, 20, (7, 2))
    full = torch.log_softmax(model(tokens), dim=-1)
    state = None
    for t in range(7):
        log_probs, state = model.step(state, tokens[t])
        assert state.shape == (2, 16)  # the same size at every step
        torch.testing.assert_close(log_probs, full[t], atol=1e-10, rtol=1e-10)


X = torch.randn(5, 2, 3)
H = torch.rand(2, 4) + 0.1
BAD_INPUTS = [
    (lambda: MinGRU(0, 4, None), ValueError, "input_dim"),
    (lambda: MinLSTM(3, 4.0, None), TypeError, "latent_dim"),
    (lambda: MinGRU(3, 4, None, mode="fast"), ValueError, "mode"),
    (lambda: MinGRU(3, 4, None)(X.numpy()), TypeError, "torch.as_tensor"),
    (lambda: MinLSTM(3, 4, None)(X.double()), TypeError, "torch.float64"),
    (lambda: MinGRU(3, 4, None)(X[..., :2]), ValueError, r"x of shape \(L, B, 3\)"),
    (lambda: MinGRU(3, 4, None)(X[:0]), ValueError, "at least one time step"),
    (lambda: MinGRU(3, 4, None)(X, H[:, :3]), ValueError, "h of shape"),
    (lambda: MinLSTM(3, 4, None)(X, -H), ValueError, "h with positive entries"),
    (lambda: MinGRU(3, 4, None)(X, mode="fast"), ValueError, "mode"),
    (lambda: MinGRU(3, 4, None).one_step(X[0], H.double()), TypeError, "float64"),
    (lambda: MinLSTM(3, 4, None).one_step(X, H), ValueError, r"x of shape \(B, 3\)"),
    (lambda: MinGRU(3, 4, None).decode(H), ValueError, "expected a decoder"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_are_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
