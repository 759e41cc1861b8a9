"""Chapter 1's hidden checks."""

import numpy as np

from companion.workbook import ch01
from companion.workbook.runner import Property


def _saturated(candidate):
    for seed in (11, 12):
        ch01.values_case(candidate, seed, scale=4.0)


def _soft_targets(candidate):
    params, X, _ = ch01.network(13, 50)
    T = np.random.default_rng(13).uniform(0.0, 1.0, (50, 1))
    got = ch01.call(candidate, params, X, T)
    case = ch01.describe(X, T, 13) + ", targets in [0, 1]"
    ch01.check_values(case, got, ch01.autograd(params, X, T))


def _flat_target_more(candidate):
    ch01.flat_target_case(candidate, 14, 3)


HIDDEN = {
    "xor-backward": [
        Property("hidden: saturated units (weights of size 4)", _saturated),
        Property("hidden: a batch of 50, targets in [0, 1]", _soft_targets),
        Property("hidden: a target (3,)", _flat_target_more),
    ],
}
