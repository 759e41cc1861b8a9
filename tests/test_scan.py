"""The parallel scan equals the loop (outputs and gradients, float64, to 1e-10) for
every shape and length, powers of 2 or not, L = 1 included; the combine operator is
associative; the log-space scan is stable where the cumulative product underflows; bad
inputs are named."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.scan import (
    combine,
    cumprod_scan,
    hillis_steele,
    linear_scan,
    log_linear_scan,
    sequential_scan,
)

F64 = torch.float64


def _inputs(L, B, D, seed, h0=True):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(L, B, D, generator=g, dtype=F64) * 1.8 - 0.9  # |a| < 1, any sign
    b = torch.randn(L, B, D, generator=g, dtype=F64)
    h = torch.randn(B, D, generator=g, dtype=F64) if h0 else None
    return a, b, h


@settings(max_examples=40, deadline=None)
@given(
    L=st.integers(1, 70),
    B=st.integers(1, 3),
    D=st.integers(1, 4),
    seed=st.integers(0, 2**31),
    h0=st.booleans(),
)
def test_scan_equals_loop_outputs_and_gradients(L, B, D, seed, h0):
    a, b, h = _inputs(L, B, D, seed, h0)
    leaves = [t.clone().requires_grad_() for t in (a, b) + ((h,) if h0 else ())]
    grads = []
    for scan in (sequential_scan, linear_scan):
        inputs = [t.detach().requires_grad_() for t in leaves]
        out = scan(*inputs) if h0 else scan(*inputs, None)
        weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
        loss = (out * weight.double()).sum()
        found = torch.autograd.grad(loss, inputs, allow_unused=True)  # L = 1: a unused
        zeros = [torch.zeros_like(t) for t in inputs]
        grads.append(
            (out, [z if d is None else d for d, z in zip(found, zeros, strict=True)])
        )
    (loop, loop_grads), (par, par_grads) = grads
    torch.testing.assert_close(par, loop, atol=1e-10, rtol=0)
    for got, want in zip(par_grads, loop_grads, strict=True):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)


@settings(max_examples=30, deadline=None)
@given(L=st.integers(1, 300))
def test_rounds_are_ceil_log2(L):
    a, b, _ = _inputs(L, 1, 1, 0)
    assert hillis_steele(a, b)[2] == (math.ceil(math.log2(L)) if L > 1 else 0)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_combine_is_associative(seed):
    g = torch.Generator().manual_seed(seed)
    x, y, z = [tuple(torch.randn(2, 3, generator=g, dtype=F64)) for _ in range(3)]
    left, right = combine(combine(x, y), z), combine(x, combine(y, z))
    for u, v in zip(left, right, strict=True):
        torch.testing.assert_close(u, v, atol=1e-12, rtol=1e-12)
    # and it composes the affine maps: applying (a, b) to h is a h + b
    h = torch.randn(3, generator=g, dtype=F64)
    a, b = combine(x, y)
    torch.testing.assert_close(a * h + b, y[0] * (x[0] * h + x[1]) + y[1])


def test_combine_is_not_commutative():
    x, y = (
        (torch.tensor(2.0), torch.tensor(1.0)),
        (torch.tensor(3.0), torch.tensor(5.0)),
    )
    assert combine(x, y) != combine(y, x)


@pytest.mark.parametrize("L", [1, 2, 7, 64, 100])
def test_log_scan_equals_loop_for_positive_inputs(L):
    g = torch.Generator().manual_seed(L)
    a = torch.rand(L, 2, 3, generator=g, dtype=F64) * 0.98 + 0.01
    b = torch.rand(L, 2, 3, generator=g, dtype=F64) + 0.1
    h0 = torch.rand(2, 3, generator=g, dtype=F64) + 0.1
    for start, log_start in ((None, None), (h0, h0.log())):
        want = sequential_scan(a, b, start)
        got = log_linear_scan(a.log(), b.log(), log_start).exp()
        torch.testing.assert_close(got, want, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(
            cumprod_scan(a, b, start), want, atol=1e-8, rtol=1e-8
        )


def test_cumprod_underflows_where_log_scan_does_not():
    L = 2000
    a = torch.full((L, 1, 1), 0.9)  # 0.9 ** 2000 ~ 1e-92: below float32's 1e-45
    b = torch.full((L, 1, 1), 0.1)
    loop = sequential_scan(a.double(), b.double())
    naive = cumprod_scan(a, b)
    assert not torch.isfinite(naive[-1]).all()
    stable = log_linear_scan(a.log(), b.log()).exp()
    torch.testing.assert_close(stable.double(), loop, atol=1e-5, rtol=1e-5)


def test_float32_scan_keeps_dtype():
    a, b, h = (t.float() for t in _inputs(9, 2, 3, 4))
    assert linear_scan(a, b, h).dtype == torch.float32


A, Bt, H0 = _inputs(5, 2, 3, 0)
BAD_INPUTS = [
    (lambda: linear_scan(A.numpy(), Bt), TypeError, "torch.as_tensor"),
    (lambda: linear_scan(A, Bt.float()), TypeError, "b of dtype torch.float64"),
    (lambda: linear_scan(A.long(), Bt.long()), TypeError, "a to have a floating"),
    (lambda: linear_scan(A[0], Bt[0]), ValueError, r"a of shape \(L, B, D\)"),
    (lambda: linear_scan(A, Bt[:4]), ValueError, r"b of shape \(L, B, D\)"),
    (lambda: linear_scan(A[:0], Bt[:0]), ValueError, "at least one time step"),
    (lambda: linear_scan(A, Bt, H0[:1]), ValueError, r"h0 of shape \(B, D\)"),
    (lambda: linear_scan(A, Bt, H0.float()), TypeError, "h0 of dtype"),
    (lambda: sequential_scan(A, Bt[..., :2]), ValueError, "b of shape"),
    (lambda: log_linear_scan(A, Bt[:2]), ValueError, "log_b of shape"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_are_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
