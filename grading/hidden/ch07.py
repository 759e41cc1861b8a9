"""Chapter 7's hidden checks."""

import torch

from companion.workbook import ch07
from companion.workbook.runner import Failure, Property, compare


def _more_sizes(candidate):
    for score, S, B, Dq, Dk, lengths, attention_dim in (
        ("dot", 1, 1, 4, 4, [1], None),
        ("general", 7, 4, 3, 9, [7, 1, 3, 5], None),
        ("additive", 6, 1, 2, 3, [4], 11),
        ("additive", 3, 5, 4, 4, None, None),
    ):
        mine, ref = ch07.pair(candidate, score, Dq, Dk, attention_dim, seed=20)
        query, keys = ch07.inputs(S, B, Dq, Dk, seed=21)
        mask = None if lengths is None else ch07.padding_mask(lengths, S)
        case = ch07._describe(score, S, B, Dq, Dk, lengths, attention_dim)
        got = ch07._pair_of_tensors(case, mine(query, keys, mask))
        want = ref(query, keys, mask)
        for name, g, w in zip(("context", "weights"), got, want, strict=True):
            compare(case, g, w, atol=1e-10, rtol=1e-8, what=name)


def _projected_given(candidate):
    mine, ref = ch07.pair(candidate, "additive", 4, 6, seed=22)
    query, keys = ch07.inputs(5, 2, 4, 6, seed=23)
    mask = ch07.padding_mask([2, 5], 5)
    projected = ref.project_keys(keys)
    case = "score='additive', S=5, B=2, Dq=4, Dk=6, forward(..., projected=given)"
    got = ch07._pair_of_tensors(case, mine(query, keys, mask, projected))
    for name, g, w in zip(
        ("context", "weights"), got, ref(query, keys, mask), strict=True
    ):
        compare(case, g, w, atol=1e-10, what=name)


def _all_real(candidate):
    mine, _ = ch07.pair(candidate, "general", 5, 5, seed=24)
    query, keys = ch07.inputs(4, 3, 5, 5, seed=25)
    case = "score='general', S=4, B=3, a mask of True only"
    with_mask = ch07._pair_of_tensors(case, mine(query, keys, torch.ones(4, 3).bool()))
    without = ch07._pair_of_tensors(case, mine(query, keys, None))
    for name, g, w in zip(("context", "weights"), with_mask, without, strict=True):
        compare(case, g, w, atol=1e-12, what=name)


def _float32(candidate):
    mine, ref = ch07.pair(candidate, "dot", 6, 6, seed=26, dtype=torch.float32)
    query, keys = ch07.inputs(5, 3, 6, 6, seed=27, dtype=torch.float32)
    mask = ch07.padding_mask([5, 3, 1], 5)
    case = "float32, score='dot', S=5, B=3, D=6"
    got = ch07._pair_of_tensors(case, mine(query, keys, mask))
    for name, g, w in zip(
        ("context", "weights"), got, ref(query, keys, mask), strict=True
    ):
        compare(case, g, w, atol=1e-5, what=name)
        if g.dtype != torch.float32:
            raise Failure(case, f"{name} in float32", str(g.dtype))


HIDDEN = {
    "seq2seq-attention": [
        Property("hidden: more sizes, attention_dim, no mask", _more_sizes),
        Property("hidden: forward with projected given", _projected_given),
        Property("hidden: a mask of True only is no mask", _all_real),
        Property("hidden: float32", _float32),
    ],
}
