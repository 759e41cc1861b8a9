"""Chapter 8's exercises: scaled dot-product attention with a (causal) mask (graded),
and the checkable answers of ``tf-ex1`` (the spread of ``q · k``) and ``tf-ex4`` (what
the key–value cache saves).

The graded function is checked against PyTorch's fused
``F.scaled_dot_product_attention``, with and without ``is_causal``, in float64."""

import math

import torch
import torch.nn.functional as F

from companion.attention import causal_mask
from companion.workbook.runner import Exercise, Failure, Property, compare, number


def qkv(lead, Lq, Lk, dk, dv, seed=0, dtype=torch.float64, scale=1.0):
    """Queries ``(*lead, Lq, dk)``, keys ``(*lead, Lk, dk)``, values
    ``(*lead, Lk, dv)``."""
    g = torch.Generator().manual_seed(seed)
    shapes = ((*lead, Lq, dk), (*lead, Lk, dk), (*lead, Lk, dv))
    return [scale * torch.randn(s, generator=g, dtype=dtype) for s in shapes]


def describe(q, k, v, mask=None, what="") -> str:
    text = f"q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}"
    if mask is not None:
        text += f", mask {tuple(mask.shape)}" + (f" ({what})" if what else "")
    return text


def call(candidate, q, k, v, mask=None):
    """The candidate on copies of the inputs; its ``(output, weights)``, checked to be
    a pair."""
    case = describe(q, k, v, mask)
    got = candidate(q.clone(), k.clone(), v.clone(), mask)
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise Failure(
            case,
            "a pair (output, weights)",
            type(got).__name__,
            "return the output (..., Lq, dv) and the weights (..., Lq, Lk)",
        )
    return got


def _shapes(candidate):
    for lead, Lq, Lk, dk, dv in (((2,), 3, 5, 6, 2), ((2, 3), 4, 4, 8, 5)):
        q, k, v = qkv(lead, Lq, Lk, dk, dv)
        case = describe(q, k, v)
        out, weights = call(candidate, q, k, v)
        for name, got, want in (
            ("output", out, (*lead, Lq, dv)),
            ("weights", weights, (*lead, Lq, Lk)),
        ):
            if not isinstance(got, torch.Tensor) or tuple(got.shape) != want:
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else got
                raise Failure(
                    case,
                    f"{name} of shape {want}",
                    f"{shape}",
                    "the scores q k^T are (..., Lq, Lk): transpose the last two "
                    "dimensions of k only (k.transpose(-2, -1))",
                )


def _no_mask(candidate):
    for lead, Lq, Lk, dk, dv, seed in (
        ((2, 3), 5, 7, 8, 4, 1),
        ((1,), 6, 6, 16, 16, 2),
    ):
        q, k, v = qkv(lead, Lq, Lk, dk, dv, seed)
        out, _ = call(candidate, q, k, v)
        compare(
            describe(q, k, v) + ", mask=None",
            out,
            F.scaled_dot_product_attention(q, k, v),
            atol=1e-10,
            rtol=1e-8,
            what="output",
            hint="softmax(q k^T / sqrt(d_k)) v, the softmax over the keys (dim -1)",
        )


def _causal(candidate):
    for lead, L, d, seed in (((2, 4), 6, 8, 3), ((3,), 5, 4, 4)):
        q, k, v = qkv(lead, L, L, d, d, seed)
        mask = causal_mask(L)
        out, _ = call(candidate, q, k, v, mask)
        compare(
            describe(q, k, v, mask, "causal_mask(L): True = may look"),
            out,
            F.scaled_dot_product_attention(q, k, v, is_causal=True),
            atol=1e-10,
            rtol=1e-8,
            what="output",
            hint="set the scores where mask is False to -inf *before* the softmax "
            "(scores.masked_fill(~mask, -inf)), then softmax over the keys",
        )


def _future(candidate):
    L, d = 6, 4
    q, k, v = qkv((2,), L, L, d, d, seed=5)
    mask = causal_mask(L)
    case = describe(q, k, v, mask, "causal")
    out, weights = call(candidate, q, k, v, mask)
    weights = weights.detach()
    if bool(weights.isnan().any()):
        b, i, _ = (int(x) for x in weights.isnan().nonzero()[0])
        raise Failure(
            case,
            f"finite weights for query {i} (it may look at keys 0..{i})",
            f"NaN in weights[{b}, {i}]",
            "NaN comes from a row whose scores are all -inf: mask only where mask is "
            "False; a query always sees itself (j = i)",
        )
    above = ~mask.expand_as(weights)
    if bool((weights[above] != 0).any()) or bool(weights[above].isnan().any()):
        b, i, j = (
            int(x) for x in above.nonzero()[(weights[above] != 0).nonzero()[0, 0]]
        )
        raise Failure(
            case,
            f"weights[{b}, {i}, {j}] = 0 exactly (key {j} is in query {i}'s future)",
            f"{float(weights[b, i, j]):.4g}",
            "a masked score must be -inf before the softmax, so that exp gives 0; a "
            "weight zeroed after the softmax leaves the future in the normaliser",
        )
    compare(
        case,
        weights.sum(-1),
        torch.ones(2, L, dtype=torch.float64),
        atol=1e-10,
        what="the sum of each query's weights",
        hint="softmax over the keys (dim -1): each query's weights sum to 1",
    )
    for t in range(L - 1):  # change every key and value after t: outputs <= t stay
        k2, v2 = k.clone(), v.clone()
        k2[:, t + 1 :] += 1.0
        v2[:, t + 1 :] += 1.0
        changed, _ = call(candidate, q, k2, v2, mask)
        compare(
            case + f", keys and values after position {t} changed",
            changed.detach()[:, : t + 1],
            out.detach()[:, : t + 1],
            atol=1e-12,
            rtol=0,
            what=f"output at positions 0..{t}",
            hint="no output may depend on a later key or value: the future must be "
            "absent from the softmax's normaliser too",
        )


def _scale(candidate):
    for dk, dv, seed in ((64, 3, 6), (1, 2, 7), (9, 9, 8)):
        q, k, v = qkv((1,), 5, 5, dk, dv, seed, scale=0.5)
        _, weights = call(candidate, q, k, v)
        want = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dk), dim=-1)
        compare(
            describe(q, k, v) + f", d_k={dk}, d_v={dv}",
            weights,
            want,
            atol=1e-10,
            rtol=1e-8,
            what="weights",
            hint="divide the scores by sqrt(d_k), d_k = q.shape[-1] (the size of the "
            "queries and keys, not of the values)",
        )


def _gradients(candidate):
    q, k, v = qkv((2, 2), 5, 5, 4, 3, seed=9)
    mask = causal_mask(5)
    case = describe(q, k, v, mask, "causal") + ", loss = Σ output·g"
    g = torch.randn(2, 2, 5, 3, generator=torch.Generator().manual_seed(10)).double()
    grads = []
    for fn in (candidate, None):
        inputs = [t.clone().requires_grad_() for t in (q, k, v)]
        if fn is None:
            out = F.scaled_dot_product_attention(*inputs, is_causal=True)
        else:
            got = fn(*inputs, mask)
            out = got[0] if isinstance(got, tuple | list) else got
        if not out.requires_grad:
            raise Failure(case, "an output that carries a gradient", "no graph")
        grads.append(torch.autograd.grad(out, inputs, g, allow_unused=True))
    for name, got, want in zip(("q.grad", "k.grad", "v.grad"), *grads, strict=True):
        if got is None:
            raise Failure(case, f"a gradient {name}", "none")
        compare(case, got, want, atol=1e-10, rtol=1e-8, what=name)


def _broadcast(candidate):
    q, k, v = qkv((), 4, 6, 5, 3, seed=11)  # no leading dimension
    out, _ = call(candidate, q, k, v)
    compare(describe(q, k, v), out, F.scaled_dot_product_attention(q, k, v), atol=1e-10)
    q, k, v = qkv((3, 2), 4, 6, 8, 8, seed=12)
    lengths = torch.tensor([6, 2, 4])
    mask = (torch.arange(6) < lengths[:, None])[:, None, None, :]  # (B, 1, 1, Lk)
    out, _ = call(candidate, q, k, v, mask)
    compare(
        describe(q, k, v, mask, "padding of keys, lengths [6, 2, 4]"),
        out,
        F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        atol=1e-10,
        rtol=1e-8,
        what="output",
        hint="the mask broadcasts against the scores (..., Lq, Lk): "
        "scores.masked_fill(~mask, -inf) does it for you",
    )


SCALED_DOT_PRODUCT = Exercise(
    label="tf-attention",
    name="scaled_dot_product_attention",
    reference="companion.attention.scaled_dot_product_attention",
    question="causal scaled dot-product attention",
    points=3,
    properties=[
        Property("output (..., Lq, dv) and weights (..., Lq, Lk)", _shapes),
        Property("no mask: against F.scaled_dot_product_attention", _no_mask),
        Property(
            "causal mask: against F.scaled_dot_product_attention(is_causal=True)",
            _causal,
        ),
        Property("the future gets weight 0 and never changes the past", _future),
        Property("the scale 1/sqrt(d_k)", _scale),
        Property("gradients against torch", _gradients),
        Property("no batch, and a padding mask (B, 1, 1, Lk) broadcast", _broadcast),
    ],
)


# ---- tf-ex1: the spread of q · k ---------------------------------------------------


def _dot_product_std(d_k=256, var_q=1.0, var_k=1.0) -> float:
    """The standard deviation of ``q · k`` for independent entries of mean 0: the
    variance of a sum of ``d_k`` independent products ``q_i k_i``, each of variance
    ``E[q_i²] E[k_i²]``."""
    return math.sqrt(sum(var_q * var_k for _ in range(d_k)))


DOT_STD = number(
    "tf-ex1",
    "tf_ex1_std",
    "the standard deviation of q · k at d_k = 256",
    _dot_product_std(),
    0.05,
    hint="the variance of a sum of independent terms is the sum of their variances, "
    "and Var(q_i k_i) = E[q_i²] E[k_i²]; then take the square root",
)


# ---- tf-ex4: what the cache saves --------------------------------------------------


def _cache_ratio(N=200, d=64) -> float:
    """Multiply-adds of attention (scores and weighted sums) to generate ``N``
    characters, re-running the whole prefix at each step (every score of the ``t × t``
    matrix, masked ones included, as the companion computes them) against the cache
    (one row of ``t`` scores per step); one head and one layer, ``d`` per head."""
    rerun = sum(2 * t * t * d for t in range(1, N + 1))  # t² scores, t² · d sums
    cached = sum(2 * t * d for t in range(1, N + 1))
    return rerun / cached


CACHE_RATIO = number(
    "tf-ex4",
    "tf_ex4_ratio",
    "what the cache saves, (a) / (b) at N = 200",
    _cache_ratio(),
    0.5,
    hint="step t costs t² (a) against t (b) scores and as many weighted-sum terms, "
    "times the same d: the ratio is Σ t² / Σ t over t = 1 … N",
)

EXERCISES = [SCALED_DOT_PRODUCT, DOT_STD, CACHE_RATIO]
