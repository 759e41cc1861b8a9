"""Attention in PyTorch against torch: F.scaled_dot_product_attention,
nn.MultiheadAttention."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.attention import (
    Attention,
    MultiHeadAttention,
    causal_mask,
    scaled_dot_product_attention,
    sinusoidal_positions,
)


def test_causal_mask():
    m = causal_mask(3)
    assert m.dtype == torch.bool
    assert m.tolist() == [[True, False, False], [True, True, False], [True, True, True]]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_and_gradients_match_torch(dtype, causal):
    torch.manual_seed(0)
    q, k, v = (
        torch.randn(2, 3, 6, 4, dtype=dtype, requires_grad=True) for _ in range(3)
    )
    mask = causal_mask(6) if causal else None
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 6, dtype=dtype))
    g = torch.randn_like(out)
    mine = torch.autograd.grad(out, (q, k, v), g)
    theirs = torch.autograd.grad(ref, (q, k, v), g)
    for a, b in zip(mine, theirs, strict=True):
        torch.testing.assert_close(a, b)


def test_attention_with_a_per_sequence_mask():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4) for _ in range(3))
    mask = torch.rand(2, 1, 5, 5) > 0.3
    mask[..., 0] = True  # every query sees at least one key
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(
        out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    )
    assert torch.all(weights.masked_select(~mask.expand(2, 3, 5, 5)) == 0)


def test_attention_dropout_only_drops():
    torch.manual_seed(0)
    q, k, v = (torch.randn(4, 8, 4) for _ in range(3))
    _, kept = scaled_dot_product_attention(q, k, v)
    _, dropped = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    zero = dropped == 0
    assert zero.any() and not zero.all()
    torch.testing.assert_close(dropped[~zero], 2 * kept[~zero])


def test_sinusoidal_positions():
    pe = sinusoidal_positions(10, 6)
    assert pe.shape == (10, 6) and pe.dtype == torch.float32
    torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * 3))
    torch.testing.assert_close(sinusoidal_positions(4, 6, offset=6), pe[6:])
    # the dot product of two encodings depends only on their distance
    d1, d2 = pe[2] @ pe[5], pe[6] @ pe[9]
    torch.testing.assert_close(d1, d2)


def _copy_to_torch(mha: MultiHeadAttention) -> torch.nn.MultiheadAttention:
    ref = torch.nn.MultiheadAttention(mha.d_model, mha.n_heads).to(
        mha.in_proj.weight.dtype
    )
    with torch.no_grad():
        ref.in_proj_weight.copy_(mha.in_proj.weight)
        ref.in_proj_bias.copy_(mha.in_proj.bias)
        ref.out_proj.weight.copy_(mha.out_proj.weight)
        ref.out_proj.bias.copy_(mha.out_proj.bias)
    return ref


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_nn_multihead_attention(causal):
    torch.manual_seed(0)
    mha = MultiHeadAttention(12, 3)
    torch.nn.init.normal_(mha.in_proj.bias)
    ref = _copy_to_torch(mha)
    x = torch.randn(7, 2, 12)
    out, weights = mha(x, causal=causal, need_weights=True)
    ref_out, ref_weights = ref(
        x,
        x,
        x,
        attn_mask=~causal_mask(7) if causal else None,
        average_attn_weights=False,
    )
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(weights, ref_weights)
    assert weights.shape == (2, 3, 7, 7)
    torch.testing.assert_close(mha(x, causal=causal), out)


# Chapter 7's scores: one query (B, D) over the keys (S, B, D) of padded sources
S, B = 6, 3
LENGTHS = torch.tensor([6, 2, 4])


def _mask():
    return torch.arange(S)[:, None] < LENGTHS


def _attention_inputs(dtype=torch.float64):
    gen = torch.Generator().manual_seed(1)
    query = torch.randn(B, 8, dtype=dtype, generator=gen, requires_grad=True)
    keys = torch.randn(S, B, 8, dtype=dtype, generator=gen, requires_grad=True)
    return query, keys


@pytest.mark.parametrize("score", Attention.SCORES)
def test_attention_weights_are_a_distribution_over_real_positions(score):
    torch.manual_seed(0)
    attention = Attention(score, 8, 8).double()
    query, keys = _attention_inputs()
    context, weights = attention(query, keys, _mask())
    assert context.shape == (B, 8) and weights.shape == (S, B)
    assert torch.all(weights[~_mask()] == 0) and torch.all(weights[_mask()] > 0)
    torch.testing.assert_close(weights.sum(0), torch.ones(B, dtype=torch.float64))
    by_hand = torch.stack(
        [sum(weights[j, b] * keys[j, b] for j in range(S)) for b in range(B)]
    )
    torch.testing.assert_close(context, by_hand)
    # what lies under the mask changes nothing
    noisy = keys.detach().clone()
    noisy[~_mask()] = 1e3
    torch.testing.assert_close(attention(query, noisy, _mask())[0], context)


@pytest.mark.parametrize("score", Attention.SCORES)
def test_attention_gradients_agree_with_finite_differences(score):
    torch.manual_seed(0)
    attention = Attention(score, 8, 8).double()
    query, keys = _attention_inputs()
    assert torch.autograd.gradcheck(
        lambda q, k: attention(q, k, _mask()), (query, keys)
    )


def test_scores_match_their_formulas():
    torch.manual_seed(0)
    query, keys = _attention_inputs()
    additive = Attention("additive", 8, 8, attention_dim=5).double()
    expected = additive.v(torch.tanh(additive.W_q(query) + additive.W_k(keys))).squeeze(
        -1
    )
    torch.testing.assert_close(
        additive.scores(query, additive.project_keys(keys)), expected
    )
    general = Attention("general", 8, 8).double()
    expected = torch.einsum("bq,qk,sbk->sb", query, general.W.weight, keys)
    torch.testing.assert_close(
        general.scores(query, general.project_keys(keys)), expected
    )
    dot = Attention("dot", 8, 8).double()
    torch.testing.assert_close(
        dot.scores(query, keys), torch.einsum("bd,sbd->sb", query, keys)
    )


def test_dot_attention_is_scaled_dot_product_attention_without_the_scale():
    query, keys = _attention_inputs()
    context, weights = Attention("dot", 8, 8)(query, keys, _mask())
    q = (query * math.sqrt(8))[:, None, :]
    k = keys.transpose(0, 1)
    out, w = scaled_dot_product_attention(q, k, k, _mask().T[:, None, :])
    torch.testing.assert_close(out[:, 0], context)
    torch.testing.assert_close(w[:, 0], weights.T)


Q = torch.zeros(3, 4)
MHA = MultiHeadAttention(8, 2)
_, CACHE = MHA.step(torch.zeros(2, 8))
BAD_INPUTS = [
    # causal_mask, sinusoidal_positions
    (lambda: causal_mask(-1), ValueError, "length to be an int >= 1"),
    (lambda: causal_mask(True), TypeError, "length to be an int"),
    (
        lambda: sinusoidal_positions(3, 5),
        ValueError,
        "d_model to be a multiple of 2, got 5",
    ),
    (lambda: sinusoidal_positions(0, 4), ValueError, "length to be an int >= 1"),
    (lambda: sinusoidal_positions(3, 0), ValueError, "d_model to be an int >= 2"),
    (lambda: sinusoidal_positions(3, 4, offset=1.5), TypeError, "offset to be an int"),
    (
        lambda: sinusoidal_positions(3, 4, offset=-1),
        ValueError,
        "offset to be an int >=",
    ),
    (
        lambda: sinusoidal_positions(3, 4, dtype=torch.long),
        TypeError,
        "dtype to be a floating-point dtype, got torch.int64",
    ),
    # scaled_dot_product_attention
    (
        lambda: scaled_dot_product_attention(Q, torch.zeros(5, 3), torch.zeros(5, 2)),
        ValueError,
        r"k of shape \(Lk, 4\), got \(5, 3\)",
    ),
    (
        lambda: scaled_dot_product_attention(Q, Q, torch.zeros(2, 3, 4)),
        ValueError,
        "v of shape",
    ),
    (  # a wrong v is blamed on v, not on k
        lambda: scaled_dot_product_attention(Q, Q, torch.zeros(5, 4)),
        ValueError,
        r"expected v of shape \(3, dv\), got \(5, 4\)",
    ),
    (  # a float64 q is named with the others' dtypes, not blamed on k
        lambda: scaled_dot_product_attention(Q.double(), Q, Q),
        TypeError,
        r"q, k, v of one dtype, got \(torch.float64, torch.float32, torch.float32\)",
    ),
    (
        lambda: scaled_dot_product_attention(Q, torch.zeros(0, 4), torch.zeros(0, 4)),
        ValueError,
        "at least one key",
    ),
    (
        lambda: scaled_dot_product_attention(torch.zeros(4), Q, Q),
        ValueError,
        r"q of shape \(\.\.\., Lq, dk\), got \(4,\)",
    ),
    (
        lambda: scaled_dot_product_attention(Q.numpy(), Q, Q),
        TypeError,
        "torch.as_tensor",
    ),
    (lambda: scaled_dot_product_attention(Q.long(), Q, Q), TypeError, "floating"),
    (
        lambda: scaled_dot_product_attention(Q, Q.double(), Q),
        TypeError,
        "torch.float32.*torch.float64",
    ),
    (
        lambda: scaled_dot_product_attention(Q, Q, Q, torch.ones(3, 3)),
        TypeError,
        "boolean mask",
    ),
    (
        lambda: scaled_dot_product_attention(
            Q, Q, Q, torch.ones(2, 3, dtype=torch.bool)
        ),
        ValueError,
        "broadcastable",
    ),
    (
        lambda: scaled_dot_product_attention(Q, Q, Q, dropout_p=1.0),
        ValueError,
        "dropout_p",
    ),
    # Attention: chapter 7's scores
    (lambda: Attention("cosine", 8, 8), ValueError, "score in"),
    (lambda: Attention("dot", 8, 6), ValueError, "query_dim == key_dim"),
    (
        lambda: Attention("dot", 8, 8, attention_dim=4),
        ValueError,
        "attention_dim=None",
    ),
    (lambda: Attention("additive", 0, 8), ValueError, "query_dim"),
    (
        lambda: Attention("dot", 8, 8)(
            torch.zeros(B, 8, dtype=torch.long), torch.zeros(S, B, 8)
        ),
        TypeError,
        "query",
    ),
    (
        lambda: Attention("dot", 8, 8)(torch.zeros(B, 8), torch.zeros(S, B + 1, 8)),
        ValueError,
        "keys of shape",
    ),
    (
        lambda: Attention("dot", 8, 8)(
            torch.zeros(B, 8), torch.zeros(S, B, 8), _mask().int()
        ),
        TypeError,
        "boolean mask",
    ),
    (
        lambda: Attention("dot", 8, 8)(
            torch.zeros(B, 8), torch.zeros(S, B, 8), _mask().T
        ),
        ValueError,
        r"mask broadcastable to \(6, 3\), got \(3, 6\)",
    ),
    (
        lambda: Attention("dot", 8, 8)(
            torch.zeros(B, 8),
            torch.zeros(S, B, 8),
            torch.zeros(S, B, dtype=torch.bool),
        ),
        ValueError,
        "padding only",
    ),
    (
        lambda: Attention("additive", 8, 8, attention_dim=0),
        ValueError,
        "attention_dim to be an int >= 1",
    ),
    # MultiHeadAttention
    (
        lambda: MultiHeadAttention(8, 3),
        ValueError,
        "d_model to be a multiple of 3, got 8",
    ),
    (lambda: MultiHeadAttention(0, 1), ValueError, "d_model to be an int >= 1"),
    (lambda: MultiHeadAttention(8, 2.0), TypeError, "n_heads to be an int"),
    (
        lambda: MultiHeadAttention(8, 2, dropout=1.0),
        ValueError,
        r"dropout to be a real number in \[0, 1\)",
    ),
    (lambda: MHA(torch.zeros(3, 2, 7)), ValueError, r"x of shape \(L, B, 8\)"),
    (lambda: MHA(torch.zeros(3, 2, 8).numpy()), TypeError, "torch.as_tensor"),
    (lambda: MHA(torch.zeros(3, 2, 8, dtype=torch.long)), TypeError, "torch.int64"),
    (
        lambda: MHA(torch.zeros(3, 2, 8, dtype=torch.float64)),
        TypeError,
        "torch.float32.*torch.float64",
    ),
    (lambda: MHA.step(torch.zeros(3, 2, 8)), ValueError, r"x of shape \(B, 8\)"),
    (lambda: MHA.step(torch.zeros(3, 8), CACHE), ValueError, "cache k of shape"),
    (  # was "'int' object is not iterable"
        lambda: MHA.step(torch.zeros(2, 8), 3),
        TypeError,
        r"expected cache to be a pair \(k, v\), got int",
    ),
    (
        lambda: MHA.step(torch.zeros(2, 8), (CACHE[0].double(), CACHE[1])),
        TypeError,
        "cache k of dtype",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_step_with_a_cache_equals_the_causal_forward():
    torch.manual_seed(0)
    mha = MultiHeadAttention(8, 2)
    x = torch.randn(6, 3, 8)
    full = mha(x, causal=True)
    cache = None
    for t in range(6):
        y, cache = mha.step(x[t], cache)
        torch.testing.assert_close(y, full[t])
    assert cache[0].shape == (3, 2, 6, 4)


@settings(max_examples=25, deadline=None)
@given(length=st.integers(2, 10), data=st.data(), seed=st.integers(0, 1000))
def test_no_output_depends_on_a_future_input(length, data, seed):
    """The Jacobian of outputs <= t with respect to inputs > t is exactly zero."""
    torch.manual_seed(seed)
    mha = MultiHeadAttention(8, 2)
    t = data.draw(st.integers(0, length - 2))
    x = torch.randn(length, 2, 8, requires_grad=True)
    past = mha(x, causal=True)[: t + 1].sum()
    (grad,) = torch.autograd.grad(past, x)
    assert torch.all(grad[t + 1 :] == 0)
    assert grad[: t + 1].abs().sum() > 0
    # the same check without the mask fails: the future leaks
    (leak,) = torch.autograd.grad(mha(x)[: t + 1].sum(), x)
    assert leak[t + 1 :].abs().sum() > 0
