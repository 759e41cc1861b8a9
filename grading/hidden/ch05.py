"""Chapter 5's hidden checks: other sizes, a long sequence, float32."""

import torch

from companion.recurrent import GRU, LSTM
from companion.workbook import ch05
from companion.workbook.runner import Property, compare, sizes

CASES = ((1, 1, 1, 1), (7, 3, 4, 1), (2, 6, 2, 30))  # (D, H, B, L)


def _against_torch(candidate, kind, dtype=torch.float64, cases=CASES):
    for k, (D, H, B, L) in enumerate(cases):
        ref = ch05._reference(kind, 20 + k, D, H, 2)
        theirs, mine = ref.to_torch().to(dtype), ch05._twin(candidate, ref).to(dtype)
        x = ch05._randn(L, B, D, seed=30 + k).to(dtype)
        state = [ch05._randn(B, H, seed=40 + k + j).to(dtype) for j in range(2)]
        tol = {"atol": 1e-10} if dtype == torch.float64 else {"atol": 1e-5}
        case = f"{dtype} x {sizes(L=L, B=B, D=D)}, H={H}, against nn.{kind.__name__}"
        if kind is LSTM:
            want, (h_n, c_n) = theirs(x, (state[0][None], state[1][None]))
            states, final = mine(x, (state[0], state[1]), return_state=True)
            compare(case, final[1], c_n[0], what="final C", **tol)
        else:
            want, h_n = theirs(x, state[0][None])
            states, final = mine(x, state[0], return_state=True)
            final = (final,)
        compare(case, states, want, what="states", **tol)
        compare(case, final[0], h_n[0], what="final h", **tol)


HIDDEN = {
    "gates-lstm": [
        Property(
            "hidden: other sizes, a long sequence",
            lambda candidate: _against_torch(candidate, LSTM),
        ),
        Property(
            "hidden: float32",
            lambda candidate: _against_torch(candidate, LSTM, torch.float32),
        ),
    ],
    "gates-gru": [
        Property(
            "hidden: other sizes, a long sequence",
            lambda candidate: _against_torch(candidate, GRU),
        ),
        Property(
            "hidden: float32",
            lambda candidate: _against_torch(candidate, GRU, torch.float32),
        ),
    ],
}
