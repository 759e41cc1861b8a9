"""Chapter 3's hidden checks."""

import torch
from torch import nn

from companion.workbook import ch03
from companion.workbook.runner import Property, compare


def _clip_more(candidate):
    shapes = [(5, 2), (7,), (1, 3, 2), (1,)]
    for norms, max_norm, seed in (
        ([0.5, 9.0, 0.1, 3.0], 0.1, 3),
        ([1e-3, 2e-3, 0.0, 1e-3], 1e-3, 4),
        ([40.0, 30.0, 0.0, 0.0], 100.0, 5),
        ([2.0, 2.0, 2.0, 2.0], 3.0, 6),
    ):
        case, got, want, g_got, g_want = ch03._clip_case(
            candidate, shapes, norms, max_norm, seed
        )
        compare(case, got, want, atol=1e-12, rtol=1e-6, what="returned norm")
        ch03._compare_gradients(case, g_got, g_want, atol=1e-12)


def _clip_single_tensor(candidate):
    p = ch03._parameters([(4, 3)], [6.0], seed=8)[0]
    want = 2.0 * p.grad / p.grad.norm()
    got = candidate([p], 2.0)
    case = "one parameter (4, 3) in a list, gradient of norm 6, max_norm=2"
    compare(case, got, 6.0, atol=1e-9, what="returned norm")
    compare(case, p.grad, want, atol=1e-9, what="parameters[0].grad")


def _clip_float32(candidate):
    shapes, norms = [(6, 5), (5,)], [3.0, 4.0]
    case, got, want, g_got, g_want = ch03._clip_case(
        candidate, shapes, norms, 0.5, seed=9, dtype=torch.float32
    )
    case = "float32 " + case
    compare(case, got, want, atol=1e-5, rtol=1e-5, what="returned norm")
    ch03._compare_gradients(case, g_got, g_want, atol=1e-6, rtol=1e-4)


def _clip_model_no_grad_at_all(candidate):
    model = nn.Linear(3, 2).double()
    got = candidate(model.parameters(), 1.0)
    compare("nn.Linear(3, 2) before any backward pass", got, 0.0, what="returned norm")


HIDDEN = {
    "vanish-clip-norm": [
        Property("hidden: more sizes and thresholds", _clip_more),
        Property("hidden: one parameter in a list", _clip_single_tensor),
        Property("hidden: float32 gradients", _clip_float32),
        Property("hidden: no gradient at all", _clip_model_no_grad_at_all),
    ],
}
