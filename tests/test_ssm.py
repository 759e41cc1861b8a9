"""The selective SSM: the recurrent mode equals the scan mode (outputs and gradients);
in the time-invariant case the convolution kernel equals the recurrence; ZOH is the
exact solution over a step; generation runs token by token with a state of constant
size; bad inputs are named."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.ssm import SSMLM, SelectiveSSM, causal_convolution

F64 = torch.float64


@pytest.mark.parametrize("selective", [True, False])
@settings(max_examples=12, deadline=None)
@given(L=st.integers(1, 33), B=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_recurrent_equals_scan(selective, L, B, seed):
    torch.manual_seed(seed)
    ssm = SelectiveSSM(4, 3, selective=selective).double()
    x = torch.randn(L, B, 4, dtype=F64)
    outs = []
    for mode in ("scan", "recurrent"):
        xi = x.clone().requires_grad_()
        y = ssm(xi, mode=mode)
        grads = torch.autograd.grad(y.square().sum(), [xi, *ssm.parameters()])
        outs.append((y, grads))
    torch.testing.assert_close(outs[0][0], outs[1][0], atol=1e-10, rtol=1e-10)
    for got, want in zip(outs[0][1], outs[1][1], strict=True):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-8)


@settings(max_examples=12, deadline=None)
@given(L=st.integers(1, 50), seed=st.integers(0, 2**31))
def test_kernel_equals_recurrence(L, seed):
    torch.manual_seed(seed)
    ssm = SelectiveSSM(3, 5, selective=False).double()
    x = torch.randn(L, 2, 3, dtype=F64)
    conv = ssm(x, mode="convolution")
    torch.testing.assert_close(conv, ssm(x, mode="recurrent"), atol=1e-10, rtol=1e-10)
    # the kernel is the response to an impulse on each channel
    impulse = torch.zeros(L, 1, 3, dtype=F64)
    impulse[0] = 1
    response = ssm(impulse, mode="recurrent")[:, 0] - ssm.D_skip * impulse[:, 0]
    torch.testing.assert_close(ssm.kernel(L).T, response, atol=1e-12, rtol=1e-10)


def test_causal_convolution_by_fft_is_the_sum():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(9, 2, 3, generator=g, dtype=F64)
    K = torch.randn(3, 9, generator=g, dtype=F64)
    want = torch.stack(
        [sum(K[:, k] * x[t - k] for k in range(t + 1)) for t in range(9)]
    )
    torch.testing.assert_close(causal_convolution(x, K), want)


def test_zoh_is_exact_for_a_constant_input():
    """With x constant over the step, h' = A h + B x integrates to Ā h + B̄ x: compare
    with many small Euler steps."""
    torch.manual_seed(0)
    ssm = SelectiveSSM(2, 3, selective=False).double()
    A = -torch.exp(ssm.A_log)
    delta = ssm.log_delta.exp()[:, None]
    A_bar, B_bar, _ = ssm.discretise(None)
    h, x = torch.randn(2, 3, dtype=F64), torch.randn(2, 1, dtype=F64)
    euler, n = h.clone(), 100_000
    for _ in range(n):
        euler = euler + delta / n * (A * euler + ssm.B * x)
    torch.testing.assert_close(A_bar * h + B_bar * x, euler, atol=1e-7, rtol=1e-6)


def test_selection_makes_the_step_depend_on_the_input():
    torch.manual_seed(0)
    ssm = SelectiveSSM(4, 2).double()
    x = torch.randn(3, 4, dtype=F64)
    A1, B1, C1 = ssm.discretise(x[0])
    A2, B2, C2 = ssm.discretise(x[1])
    assert A1.shape == B1.shape == (4, 2)
    assert not torch.allclose(A1, A2) and not torch.allclose(C1, C2)


def test_generation_is_token_by_token_with_a_constant_state():
    torch.manual_seed(0)
    model = SSMLM(12, 8, 4, n_layers=2).double()
    tokens = torch.randint(0, 12, (10, 3))
    full = torch.log_softmax(model(tokens), dim=-1)
    state, sizes = None, set()
    for t in range(10):
        log_probs, state = model.step(state, tokens[t])
        sizes.add(sum(h.numel() * h.element_size() for h in state))
        torch.testing.assert_close(log_probs, full[t], atol=1e-10, rtol=1e-10)
    assert sizes == {2 * model.ssms[0].state_bytes(3)}


X = torch.randn(5, 2, 4)
BAD_INPUTS = [
    (lambda: SelectiveSSM(0, 3), ValueError, "d_model"),
    (lambda: SelectiveSSM(4, 3, selective=1), TypeError, "selective"),
    (lambda: SelectiveSSM(4, 3)(X.numpy()), TypeError, "torch.as_tensor"),
    (lambda: SelectiveSSM(4, 3)(X.double()), TypeError, "torch.float64"),
    (lambda: SelectiveSSM(4, 3)(X[..., :3]), ValueError, r"x of shape \(L, B, 4\)"),
    (lambda: SelectiveSSM(4, 3)(X[:0]), ValueError, "at least one time step"),
    (lambda: SelectiveSSM(4, 3)(X, mode="fft"), ValueError, "mode"),
    (lambda: SelectiveSSM(4, 3)(X, mode="convolution"), ValueError, "no convolution"),
    (lambda: SelectiveSSM(4, 3).step(X[0], torch.zeros(2, 4, 2)), ValueError, "h of"),
    (lambda: SelectiveSSM(4, 3).step(X, None), ValueError, r"x of shape \(B, 4\)"),
    (lambda: causal_convolution(X, torch.randn(4, 6)), ValueError, "kernel of shape"),
    (lambda: SSMLM(1, 4, 2), ValueError, "vocab_size"),
    (lambda: SSMLM(5, 4, 2)(torch.tensor([[7]])), ValueError, r"ids in \[0, 5\)"),
    (lambda: SSMLM(5, 4, 2).step(None, torch.ones(2, 2).long()), ValueError, "tokens"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_are_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
