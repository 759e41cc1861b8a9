"""Chapter 10's hidden checks."""

import torch

from companion.trm import TRM
from companion.workbook import ch10
from companion.workbook.runner import Failure, Property, compare


def _more_sizes(candidate):
    for n, L, B, D, seed in ((4, 9, 1, 16, 5), (1, 2, 5, 4, 6), (6, 4, 2, 8, 7)):
        case, _, _, got, want = ch10.run_case(candidate, n, L, B, D, seed)
        for name, g, w in zip("yz", got, want, strict=True):
            compare(case, g, w, atol=1e-10, rtol=1e-8, what=name)


def _more_calls(candidate):
    n = 7
    model = ch10.stand_in(n, 5, seed=8)
    x, y, z = ch10.states(2, 3, 5, seed=8)
    candidate(model, x, y, z)
    want = ch10.expected_inputs(model.net, n, x, y, z)
    got = model.net.inputs
    case = ch10._describe(n, 2, 3, 5)
    if len(got) != len(want):
        raise Failure(case, f"{len(want)} calls of self.net", f"{len(got)}")
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        compare(case + f"; call {k + 1}", g, w, atol=1e-12, what="its input")


def _float32(candidate):
    model = ch10.trm(4, 8, 2, seed=9, dtype=torch.float32)
    x, y, z = ch10.states(4, 2, 8, seed=9, dtype=torch.float32)
    got = candidate(model, x, y, z)
    want = TRM.latent_recursion(model, x, y, z)
    case = "float32, n=2, L=4, B=2, D=8"
    for name, g, w in zip("yz", got, want, strict=True):
        compare(case, g, w, atol=1e-5, what=name)
        if g.dtype != torch.float32:
            raise Failure(case, f"{name} in float32", str(g.dtype))


HIDDEN = {
    "trm-latent-recursion": [
        Property("hidden: more sizes and n", _more_sizes),
        Property("hidden: n = 7, every call's input", _more_calls),
        Property("hidden: float32", _float32),
    ],
}
