"""Hidden checks of chapter 9, linear recurrences."""

import torch

from companion.scan import sequential_scan
from companion.workbook import ch09 as ch
from companion.workbook.runner import Property, compare


def _float32_and_broadcast(candidate):
    g = torch.Generator().manual_seed(30)
    a1, b1 = torch.rand(5, 1, 3, generator=g), torch.randn(5, 1, 3, generator=g)
    a2, b2 = torch.rand(1, 4, 3, generator=g), torch.randn(1, 4, 3, generator=g)
    case = "float32, first (5, 1, 3), second (1, 4, 3): broadcast"
    a, b = ch._combined(candidate, (a1, b1), (a2, b2), case)
    compare(case, a, a2 * a1, atol=1e-6, what="a")
    compare(case, b, a2 * b1 + b2, atol=1e-6, what="b")


def _long_scan(candidate):
    g = torch.Generator().manual_seed(31)
    L = 37
    a = torch.rand(L, 1, 2, generator=g, dtype=ch.F64)
    b = torch.randn(L, 1, 2, generator=g, dtype=ch.F64)
    A, H = a, b  # a Blelloch-like fold: pairs, then pairs of pairs
    for t in range(1, L):
        A_t, H_t = ch._combined(candidate, (A[t - 1], H[t - 1]), (a[t], b[t]), "L=37")
        A = torch.cat([A[:t], torch.as_tensor(A_t)[None], A[t + 1 :]])
        H = torch.cat([H[:t], torch.as_tensor(H_t)[None], H[t + 1 :]])
    compare("L=37, a left fold", H, sequential_scan(a, b), atol=1e-10, what="h")


def _zoh_per_state(candidate):
    g = torch.Generator().manual_seed(32)
    A = -torch.arange(1, 6, dtype=ch.F64)  # (N,) S4D-real
    B = torch.randn(2, 5, generator=g, dtype=ch.F64)
    delta = torch.tensor([[0.01], [2.0]], dtype=ch.F64)
    h = torch.randn(2, 5, generator=g, dtype=ch.F64)
    x = torch.randn(2, 1, generator=g, dtype=ch.F64)
    A_bar, B_bar = ch._pair(candidate, A, B, delta, "A = -(1 … 5), Δ 0.01 and 2")
    compare(
        "A = -(1 … 5), Δ 0.01 and 2",
        A_bar * h + B_bar * x,
        ch._exact(A, B, delta, h, x),
        atol=1e-7,
        what="Ā h + B̄ x",
    )


HIDDEN = {
    "lr-combine": [
        Property("hidden: float32 and broadcasting", _float32_and_broadcast),
        Property("hidden: a left fold of 37 steps", _long_scan),
    ],
    "lr-zoh": [Property("hidden: S4D-real A and two steps", _zoh_per_state)],
}
