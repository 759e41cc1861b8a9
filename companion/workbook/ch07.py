"""Chapter 7's exercises: the attention of the encoder–decoder, its three scores and
the mask of padded source positions (graded), and the checkable answer of
``seq2seq-ex4`` (the weight the dot score gives a padded position without the mask).

The graded exercise is the class ``Attention`` of ``companion.attention``: the answer
cell gives its ``__init__`` (the parameters, with the companion's names),
``project_keys`` and ``forward``, and the student writes ``scores`` and ``attend``.
The checks copy the companion's weights into the student's module."""

import torch

from companion.attention import Attention
from companion.seeding import generator
from companion.workbook.runner import (
    Exercise,
    Failure,
    Property,
    compare,
    number,
    sizes,
)

SCORES = ("additive", "dot", "general")


def inputs(S, B, Dq, Dk, seed=0, dtype=torch.float64):
    """A query ``(B, Dq)`` and keys ``(S, B, Dk)``."""
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(B, Dq, generator=g, dtype=dtype)
    keys = torch.randn(S, B, Dk, generator=g, dtype=dtype)
    return query, keys


def padding_mask(lengths, S=None) -> torch.Tensor:
    """``(S, B)`` boolean, ``True`` on the first ``lengths[b]`` positions of column
    ``b``."""
    S = max(lengths) if S is None else S
    return torch.arange(S)[:, None] < torch.tensor(lengths)


def pair(candidate, score, Dq, Dk, attention_dim=None, seed=0, dtype=torch.float64):
    """The companion's module and the candidate's, with the companion's weights."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        ref = Attention(score, Dq, Dk, attention_dim).to(dtype)
    mine = candidate(score, Dq, Dk, attention_dim).to(dtype)
    mine.load_state_dict(ref.state_dict())
    return mine, ref


def _describe(score, S, B, Dq, Dk, lengths=None, attention_dim=None):
    text = f"score={score!r}, query (B, Dq), keys (S, B, Dk) with "
    text += sizes(S=S, B=B, Dq=Dq, Dk=Dk)
    if attention_dim is not None:
        text += f", attention_dim={attention_dim}"
    if lengths is not None:
        text += f", source lengths {list(lengths)} (mask (S, B), True = real)"
    return text


def _pair_of_tensors(case, got):
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise Failure(
            case,
            "a pair (context, weights)",
            type(got).__name__,
            "attend returns the context (B, Dk) and the weights (S, B)",
        )
    return got


def _scores(candidate):
    hint = {
        "additive": "v^T tanh(W_q q + W_k k_j + b): projected holds W_k k_j + b, add "
        "W_q(query) (broadcast over S), tanh, then self.v, and drop the last size-1 "
        "dimension",
        "dot": "q^T k_j for every position j: multiply projected (S, B, D) by the "
        "query (B, D) and sum over the features",
        "general": "q^T W k_j: projected holds W k_j already; the rest is the dot "
        "score",
    }
    for score in SCORES:
        S, B, Dq, Dk = 5, 3, 6, (6 if score == "dot" else 4)
        mine, ref = pair(candidate, score, Dq, Dk, seed=1)
        query, keys = inputs(S, B, Dq, Dk, seed=2)
        projected = ref.project_keys(keys)
        case = _describe(score, S, B, Dq, Dk)
        compare(
            case,
            mine.scores(query, projected),
            ref.scores(query, projected),
            atol=1e-10,
            rtol=1e-8,
            what="scores (S, B)",
            hint=hint[score],
        )


def _shapes(candidate):
    for score, S, B, Dq, Dk, lengths in (
        ("dot", 5, 3, 8, 8, [5, 2, 4]),
        ("additive", 4, 2, 3, 6, [4, 1]),
    ):
        mine, _ = pair(candidate, score, Dq, Dk)
        query, keys = inputs(S, B, Dq, Dk)
        case = _describe(score, S, B, Dq, Dk, lengths)
        context, weights = _pair_of_tensors(
            case, mine(query, keys, padding_mask(lengths, S))
        )
        for name, got, want in (
            ("context", context, (B, Dk)),
            ("weights", weights, (S, B)),
        ):
            if not isinstance(got, torch.Tensor) or tuple(got.shape) != want:
                shape = tuple(got.shape) if isinstance(got, torch.Tensor) else got
                raise Failure(
                    case,
                    f"{name} of shape {want}",
                    f"{shape}",
                    "weights (S, B): positions first, as the keys; context (B, Dk): "
                    "one vector per source",
                )


def _padding(candidate):
    for score in SCORES:
        lengths, S, B, D = [5, 2, 4], 5, 3, 8
        mine, _ = pair(candidate, score, D, D, seed=3)
        query, keys = inputs(S, B, D, D, seed=4)
        mask = padding_mask(lengths, S)
        case = _describe(score, S, B, D, D, lengths)
        _, weights = _pair_of_tensors(case, mine(query, keys, mask))
        padded = weights.detach()[~mask]
        if padded.isnan().any() or bool((padded != 0).any()):
            j, b = (int(i) for i in (~mask).nonzero()[(padded != 0).nonzero()[0, 0]])
            raise Failure(
                case,
                f"weights[{j}, {b}] = 0 exactly (a PAD position of source {b})",
                f"{float(weights.detach()[j, b]):.4g}",
                "set the scores of PAD positions to -inf before the softmax "
                "(scores.masked_fill(~mask, -inf)): exp(-inf) = 0",
            )
        compare(
            case,
            weights.detach().sum(0),
            torch.ones(B, dtype=torch.float64),
            atol=1e-10,
            what="the sum of the weights over the positions of each source",
            hint="softmax over the positions (dim 0 of the (S, B) scores), after the "
            "masking, so that the real positions share all the weight",
        )


HINTS = {
    "weights": "the softmax over the positions (dim 0) of the scores, those of PAD "
    "set to -inf first",
    "context": "context = Σ_j α_j h_j: the weights (S, B) times the keys themselves "
    "(not the projected keys), summed over the positions",
}


def _values(candidate):
    for score, S, B, Dq, Dk, lengths, attention_dim in (
        ("additive", 5, 3, 6, 4, [5, 2, 4], None),
        ("additive", 4, 2, 3, 5, [1, 4], 7),
        ("dot", 6, 2, 5, 5, [3, 6], None),
        ("general", 4, 3, 6, 4, [4, 4, 2], None),
        ("dot", 4, 2, 3, 3, None, None),
    ):
        mine, ref = pair(candidate, score, Dq, Dk, attention_dim, seed=5)
        query, keys = inputs(S, B, Dq, Dk, seed=6)
        mask = None if lengths is None else padding_mask(lengths, S)
        case = _describe(score, S, B, Dq, Dk, lengths, attention_dim)
        if mask is None:
            case += ", mask=None"
        got = _pair_of_tensors(case, mine(query, keys, mask))
        want = ref(query, keys, mask)
        for name, g, w in zip(
            ("weights", "context"), got[::-1], want[::-1], strict=True
        ):
            compare(case, g, w, atol=1e-10, rtol=1e-8, what=name, hint=HINTS[name])


def _gradients(candidate):
    for score in ("additive", "general"):
        S, B, Dq, Dk, lengths = 4, 2, 5, 3, [4, 2]
        mine, ref = pair(candidate, score, Dq, Dk, seed=7)
        mask = padding_mask(lengths, S)
        case = _describe(score, S, B, Dq, Dk, lengths) + ", loss = Σ context·a"
        a = torch.randn(B, Dk, generator=torch.Generator().manual_seed(8)).double()
        grads = []
        for module in (mine, ref):
            query, keys = (t.requires_grad_() for t in inputs(S, B, Dq, Dk, seed=9))
            context, _ = _pair_of_tensors(case, module(query, keys, mask))
            (context * a).sum().backward()
            grads.append(
                {"query.grad": query.grad, "keys.grad": keys.grad}
                | {f"{k}.grad": p.grad for k, p in module.named_parameters()}
            )
        for name, want in grads[1].items():
            got = grads[0].get(name)
            if got is None:
                raise Failure(case, f"a gradient for {name}", "none")
            compare(case, got, want, atol=1e-10, rtol=1e-8, what=name)


ATTENTION = Exercise(
    label="seq2seq-attention",
    name="Attention",
    reference="companion.attention.Attention",
    question="the decoder's attention, with the padding mask",
    points=3,
    properties=[
        Property("scores (S, B): the additive, dot and general scores", _scores),
        Property("context (B, Dk) and weights (S, B)", _shapes),
        Property("PAD positions get weight 0, the real ones sum to 1", _padding),
        Property("values against the companion's Attention (weights copied)", _values),
        Property("gradients against the companion's Attention", _gradients),
    ],
)


# ---- seq2seq-ex4: the weight of a padded position without the mask -----------------


def _padded_weight() -> float:
    """The chapter's attention check (``generator(4)``, sources of lengths 5, 2, 4
    padded to 5) with the encoder states zero at the PAD positions and no mask: the
    weight the dot score gives one PAD position of the second source."""
    gen = generator(4)
    query = torch.randn(3, 8, dtype=torch.float64, generator=gen)
    keys = torch.randn(5, 3, 8, dtype=torch.float64, generator=gen)
    mask = padding_mask([5, 2, 4])
    keys[~mask] = 0
    _, weights = Attention("dot", 8, 8).double()(query, keys)
    pad = weights[~mask[:, 1], 1]
    assert torch.allclose(pad, pad[0])  # zero keys, zero scores: one weight for all
    return float(pad[0])


PADDED_WEIGHT = number(
    "seq2seq-ex4",
    "seq2seq_ex4_weight",
    "the weight of one PAD position of source 2 without the mask",
    _padded_weight(),
    0.002,
    hint="a zero key gives a dot score of exactly 0, so a weight exp(0) / Z: compute "
    "the softmax of the second source's five scores, without the mask",
)

EXERCISES = [ATTENTION, PADDED_WEIGHT]
