"""The NumPy Transformer parts, checked against PyTorch with the same weights
(float64)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import attention_numpy as an
from companion.attention import MultiHeadAttention, sinusoidal_positions
from companion.transformer import DecoderBlock, FeedForward


def _numpy_state(module: torch.nn.Module) -> dict:
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def test_softmax_is_stable_normalised_and_zero_at_minus_inf():
    x = np.array([[1000.0, 1001.0, -np.inf], [0.0, 0.0, 0.0]])
    p = an.softmax(x)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(-1), 1.0)
    assert p[0, 2] == 0.0
    np.testing.assert_allclose(
        p[0, :2], torch.softmax(torch.tensor([0.0, 1.0]), 0).numpy(), rtol=1e-6
    )


def test_causal_mask_is_lower_triangular():
    m = an.causal_mask(4)
    assert m.dtype == bool and m.shape == (4, 4)
    assert m[2, 2] and m[2, 0] and not m[2, 3]


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_torch(causal):
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 3, 5, 4)) for _ in range(3))
    mask = an.causal_mask(5) if causal else None
    out, weights = an.scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(
        *(torch.from_numpy(t) for t in (q, k, v)), is_causal=causal
    )
    np.testing.assert_allclose(out, ref.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(weights.sum(-1), 1.0)
    if causal:
        assert np.all(weights[..., ~mask] == 0.0)


def test_positional_encoding_matches_torch_and_formula():
    pe = an.positional_encoding(50, 8)
    np.testing.assert_allclose(
        pe, sinusoidal_positions(50, 8, dtype=torch.float64).numpy(), atol=1e-12
    )
    np.testing.assert_allclose(pe[0], [0, 1] * 4)
    np.testing.assert_allclose(pe[7, 2], np.sin(7 / 10000 ** (2 / 8)))


def test_layer_norm_and_feed_forward_match_torch():
    torch.manual_seed(0)
    x = torch.randn(4, 3, 6, dtype=torch.float64)
    ln = torch.nn.LayerNorm(6).double()
    torch.nn.init.normal_(ln.weight)
    torch.nn.init.normal_(ln.bias)
    mine = an.LayerNorm(6)
    mine.load_state_dict(_numpy_state(ln))
    np.testing.assert_allclose(
        mine(x.numpy()), ln(x).detach().numpy(), atol=1e-6, rtol=0
    )
    ff = FeedForward(6, 10).double()
    mine_ff = an.FeedForward(6, 10, np.random.default_rng(0))
    mine_ff.load_state_dict(_numpy_state(ff))
    np.testing.assert_allclose(
        mine_ff(x.numpy()), ff(x).detach().numpy(), atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch(causal):
    torch.manual_seed(1)
    torch_mha = MultiHeadAttention(8, 2).double()
    torch.nn.init.normal_(torch_mha.in_proj.bias)
    mha = an.MultiHeadAttention(8, 2, np.random.default_rng(0))
    mha.load_state_dict(_numpy_state(torch_mha))
    x = torch.randn(5, 3, 8, dtype=torch.float64)
    ref, weights = torch_mha(x, causal=causal, need_weights=True)
    np.testing.assert_allclose(
        mha(x.numpy(), causal=causal), ref.detach().numpy(), atol=1e-6, rtol=0
    )
    np.testing.assert_allclose(mha.weights, weights.detach().numpy(), atol=1e-6, rtol=0)


def test_decoder_block_matches_torch():
    torch.manual_seed(2)
    block = DecoderBlock(8, 2, 16).double()
    mine = an.DecoderBlock(8, 2, 16, np.random.default_rng(0))
    mine.load_state_dict(_numpy_state(block))
    x = torch.randn(6, 2, 8, dtype=torch.float64)
    np.testing.assert_allclose(
        mine(x.numpy()), block(x).detach().numpy(), atol=1e-6, rtol=0
    )


def test_load_state_dict_checks_keys_and_shapes():
    block = an.DecoderBlock(4, 2, 8, np.random.default_rng(0))
    state = block.state_dict()
    assert "attn.in_proj.weight" in state and state["attn.in_proj.weight"].shape == (
        12,
        4,
    )
    with pytest.raises(ValueError, match="missing"):
        block.load_state_dict({k: v for k, v in state.items() if k != "ln1.bias"})
    with pytest.raises(ValueError, match=r"expected ff.lin1.bias of shape \(8,\)"):
        block.load_state_dict({**state, "ff.lin1.bias": np.zeros(3)})


def test_fresh_scores_have_unit_scale():
    """Weights of variance 1/fan_in keep q.k/sqrt(d) of order 1 at d = 256 (no
    saturation)."""
    rng = np.random.default_rng(0)
    mha = an.MultiHeadAttention(256, 8, rng)
    mha(rng.normal(size=(32, 2, 256)))
    assert mha.weights.max() < 0.9


@settings(max_examples=25, deadline=None)
@given(length=st.integers(2, 9), t=st.data(), seed=st.integers(0, 1000))
def test_causal_block_never_reads_the_future(length, t, seed):
    rng = np.random.default_rng(seed)
    block = an.DecoderBlock(8, 2, 16, rng)
    x = rng.normal(size=(length, 2, 8))
    cut = t.draw(st.integers(0, length - 2))
    changed = x.copy()
    changed[cut + 1 :] += rng.normal(size=changed[cut + 1 :].shape)
    before, after = block(x), block(changed)
    np.testing.assert_allclose(after[: cut + 1], before[: cut + 1], atol=1e-12, rtol=0)
    assert not np.allclose(after[cut + 1 :], before[cut + 1 :])
    # without the mask the past does see the change: the test can fail
    assert not np.allclose(
        block(changed, causal=False)[: cut + 1], block(x, causal=False)[: cut + 1]
    )


def _rng():
    return np.random.default_rng(0)


Q = np.zeros((3, 4))
BAD_INPUTS = [
    # functions
    (lambda: an.softmax(np.array([1, 2])), TypeError, "floating"),
    (lambda: an.softmax(torch.zeros(3)), TypeError, r"numpy.ndarray.*\.numpy\(\)"),
    (lambda: an.causal_mask(0), ValueError, "length to be an int >= 1"),
    (lambda: an.causal_mask(4.0), TypeError, "length to be an int"),
    (
        lambda: an.positional_encoding(5, 7),
        ValueError,
        "d_model to be a multiple of 2, got 7",
    ),
    (lambda: an.positional_encoding(0, 8), ValueError, "length to be an int >= 1"),
    (lambda: an.positional_encoding(5, True), TypeError, "d_model to be an int"),
    # scaled_dot_product_attention
    (
        lambda: an.scaled_dot_product_attention(Q, np.zeros((3, 5)), np.zeros((3, 2))),
        ValueError,
        r"k of shape \(\.\.\., Lk, 4\)",
    ),
    (
        lambda: an.scaled_dot_product_attention(Q, Q, np.zeros((2, 2))),
        ValueError,
        "v of shape",
    ),
    (
        lambda: an.scaled_dot_product_attention(np.zeros(4), Q, Q),
        ValueError,
        r"q of shape \(\.\.\., L, d\)",
    ),
    (
        lambda: an.scaled_dot_product_attention(Q, Q, Q, np.ones((3, 3))),
        TypeError,
        "boolean mask",
    ),
    (
        lambda: an.scaled_dot_product_attention(Q, Q, Q, np.ones((2, 2), dtype=bool)),
        ValueError,
        "broadcastable",
    ),
    (
        lambda: an.scaled_dot_product_attention(Q, Q, Q, np.zeros((3, 3), dtype=bool)),
        ValueError,
        "masked row",
    ),
    (
        lambda: an.scaled_dot_product_attention(Q, np.zeros((0, 4)), np.zeros((0, 4))),
        ValueError,
        "Lk >= 1",
    ),
    (
        lambda: an.scaled_dot_product_attention(Q.astype(int), Q, Q),
        TypeError,
        "floating",
    ),
    (
        lambda: an.scaled_dot_product_attention(torch.zeros(3, 4), Q, Q),
        TypeError,
        "q to be a numpy.ndarray",
    ),
    # layers
    (lambda: an.LayerNorm(0), ValueError, "d to be an int >= 1"),
    (
        lambda: an.LayerNorm(4, eps=0.0),
        ValueError,
        r"eps to be a real number in \(0, inf\]",
    ),
    (lambda: an.Linear(4, 2.5, _rng()), TypeError, "d_out to be an int"),
    (lambda: an.FeedForward(4, 0, _rng()), ValueError, "d_ff to be an int >= 1"),
    (
        lambda: an.LayerNorm(4)(np.zeros((2, 3))),
        ValueError,
        r"x of shape \(\.\.\., 4\), got \(2, 3\)",
    ),
    (
        lambda: an.Linear(4, 2, _rng())(np.zeros((2, 5))),
        ValueError,
        r"x of shape \(\.\.\., 4\)",
    ),
    (
        lambda: an.FeedForward(4, 8, _rng())(np.zeros((2, 4), dtype=int)),
        TypeError,
        "floating",
    ),
    (
        lambda: an.Linear(4, 2, _rng())(torch.zeros(2, 4)),
        TypeError,
        "x to be a numpy.ndarray",
    ),
    # multi-head attention
    (
        lambda: an.MultiHeadAttention(8, 2, _rng())(np.zeros((5, 7))),
        ValueError,
        r"x of shape \(L, B, 8\)",
    ),
    (
        lambda: an.MultiHeadAttention(8, 2, _rng())(torch.zeros(5, 3, 8)),
        TypeError,
        "x to be a numpy.ndarray",
    ),
    (
        lambda: an.MultiHeadAttention(8, 3, _rng()),
        ValueError,
        "d_model to be a multiple of 3, got 8",
    ),
    (
        lambda: an.MultiHeadAttention(8, 0, _rng()),
        ValueError,
        "n_heads to be an int >= 1",
    ),
    (lambda: an.MultiHeadAttention(8.0, 2, _rng()), TypeError, "d_model to be an int"),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_give_clear_errors(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
