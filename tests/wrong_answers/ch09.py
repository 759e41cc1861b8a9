"""Wrong answers to the exercises of chapter 9, linear recurrences."""

_COMBINE = """
def combine(first, second):
    a1, b1 = first
    a2, b2 = second
    return {a}, {b}
"""

_ZOH = """
import torch


def zoh(A, B, delta):
    {body}
"""

WRONG = {
    "lr-combine": {
        "the order swapped: second applied first": _COMBINE.format(
            a="a1 * a2", b="a1 * b2 + b1"
        ),
        "the offsets added, not carried through a₂": _COMBINE.format(
            a="a1 * a2", b="b1 + b2"
        ),
        "the factors added": _COMBINE.format(a="a1 + a2", b="a2 * b1 + b2"),
        "the second step only (no memory)": _COMBINE.format(a="a2", b="b2"),
    },
    "lr-zoh": {
        "Euler: Ā = 1 + ΔA, B̄ = ΔB": _ZOH.format(
            body="return 1 + delta * A, delta * B"
        ),
        "Mamba's simplification: B̄ = ΔB": _ZOH.format(
            body="return torch.exp(delta * A), delta * B"
        ),
        "the sign of the integral flipped": _ZOH.format(
            body="A_bar = torch.exp(delta * A)\n    return A_bar, (1 - A_bar) / A * B"
        ),
        "Δ forgotten in Ā": _ZOH.format(
            body="A_bar = torch.exp(A)\n    return A_bar, (A_bar - 1) / A * B"
        ),
    },
    "lr-memory": {
        "the Transformer counted too": (
            "lr_memory_models = {'RNN', 'LSTM', 'GRU', 'minGRU', 'minLSTM', 'SSM',"
            " 'Transformer'}\n"
        ),
        "only the new models": "lr_memory_models = {'minGRU', 'minLSTM', 'SSM'}\n",
        "only the Transformer (its cache)": "lr_memory_models = {'Transformer'}\n",
        "one name as a string": "lr_memory_models = 'SSM'\n",
    },
}
