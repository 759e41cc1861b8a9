"""Wrong answers to chapter 1's exercises (the seed 002's broadcast among them)."""

_TOP = """
import numpy as np


def backward(params, cache, T):
    X, H, Y = cache["X"], cache["H"], cache["Y"]
"""
_RIGHT_BOTTOM = """
    dW2 = H.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dH = dZ2 @ params["W2"].T
    dZ1 = dH * H * (1 - H)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
"""


def _answer(*lines: str, bottom: str = _RIGHT_BOTTOM) -> str:
    return _TOP + "".join(f"    {line}\n" for line in lines) + bottom


# Right answers written as a student might: the checks must pass them.
RIGHT = {
    "xor-backward": _answer(
        "T = T.reshape(Y.shape)",
        "dZ2 = 2 * (Y - T) * Y * (1 - Y)",
    ),
    "xor-ex3": 'xor_ex3_function = "NAND"\n',
}

WRONG = {
    "xor-backward": {
        "T of shape (N,) broadcast against Y (N, 1) (002)": _answer(
            "dZ2 = 2 * (Y - T) * Y * (1 - Y)  # with T (N,): an (N, N) table"
        ),
        "the gradient of the broadcast loss (002): outputs pulled to the mean": _answer(
            "dY = 2 * (Y - T.reshape(1, -1)).sum(axis=1, keepdims=True)",
            "dZ2 = dY * Y * (1 - Y)",
        ),
        "the output sigmoid's derivative forgotten": _answer("dZ2 = 2 * (Y - T)"),
        "the hidden sigmoid's derivative forgotten": _answer(
            "dZ2 = 2 * (Y - T) * Y * (1 - Y)",
            bottom=_RIGHT_BOTTOM.replace("dZ1 = dH * H * (1 - H)", "dZ1 = dH"),
        ),
        "the first layer's weight gradient transposed": _answer(
            "dZ2 = 2 * (Y - T) * Y * (1 - Y)",
            bottom=_RIGHT_BOTTOM.replace('"W1": X.T @ dZ1', '"W1": dZ1.T @ X'),
        ),
        "the factor 2 of the square forgotten": _answer("dZ2 = (Y - T) * Y * (1 - Y)"),
        "biases averaged over the examples instead of summed": _answer(
            "dZ2 = 2 * (Y - T) * Y * (1 - Y)",
            bottom=_RIGHT_BOTTOM.replace("sum(axis=0)", "mean(axis=0)"),
        ),
    },
    "xor-ex3": {
        "XOR, the chapter's function": 'xor_ex3_function = "XOR"\n',
        "the constant 0.75 of the broadcast run": (
            'xor_ex3_function = "the constant 0.75"\n'
        ),
        "OR": 'xor_ex3_function = "OR"\n',
        "not one of the choices": 'xor_ex3_function = "nand"\n',
    },
}
