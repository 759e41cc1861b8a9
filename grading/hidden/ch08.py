"""Chapter 8's hidden checks."""

import torch
import torch.nn.functional as F

from companion.attention import causal_mask
from companion.workbook import ch08
from companion.workbook.runner import Failure, Property, compare


def _more_causal(candidate):
    for lead, L, dk, dv, seed in (((1,), 1, 3, 2, 20), ((2, 2, 2), 9, 5, 7, 21)):
        q, k, v = ch08.qkv(lead, L, L, dk, dv, seed)
        mask = causal_mask(L)
        out, weights = ch08.call(candidate, q, k, v, mask)
        case = ch08.describe(q, k, v, mask, "causal")
        compare(
            case,
            out,
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            atol=1e-10,
            rtol=1e-8,
            what="output",
        )
        if bool((weights.detach()[..., ~mask] != 0).any()):
            raise Failure(case, "weights 0 above the diagonal", "non-zero weights")


def _rectangular_mask(candidate):
    q, k, v = ch08.qkv((2,), 3, 6, 4, 4, seed=22)
    mask = torch.rand(3, 6, generator=torch.Generator().manual_seed(23)) < 0.6
    mask[:, 0] = True  # every query sees a key
    out, _ = ch08.call(candidate, q, k, v, mask)
    compare(
        ch08.describe(q, k, v, mask, "random, (Lq, Lk)"),
        out,
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        atol=1e-10,
    )


def _float32(candidate):
    q, k, v = ch08.qkv((2, 3), 7, 7, 16, 8, seed=24, dtype=torch.float32)
    mask = causal_mask(7)
    out, weights = ch08.call(candidate, q, k, v, mask)
    case = ch08.describe(q, k, v, mask, "causal") + ", float32"
    compare(
        case,
        out,
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        atol=1e-5,
        what="output",
    )
    if out.dtype != torch.float32:
        raise Failure(case, "a float32 output", str(out.dtype), "keep the dtype")


def _large_scores(candidate):
    q, k, v = ch08.qkv((1,), 4, 4, 8, 2, seed=25, scale=30.0)
    out, _ = ch08.call(candidate, q, k, v, causal_mask(4))
    compare(
        ch08.describe(q, k, v) + ", scores of size ~300",
        out,
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        atol=1e-8,
        what="output",
        hint="softmax subtracts the row's maximum: use torch.softmax",
    )


HIDDEN = {
    "tf-attention": [
        Property("hidden: more causal sizes", _more_causal),
        Property("hidden: a rectangular mask", _rectangular_mask),
        Property("hidden: float32", _float32),
        Property("hidden: large scores", _large_scores),
    ],
}
