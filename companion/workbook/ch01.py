"""Chapter 1's graded exercise: the backward pass of the 2-2-1 network, written by hand
(``xor-backward``), and the checkable answer of ``xor-ex3`` (which function the seed's
run learns once its targets are a column)."""

import re

import numpy as np
import torch

from companion.backprop import PARAM_NAMES, PARAM_SHAPES, XOR_INPUTS
from companion.workbook.runner import Exercise, Failure, Property, choice, compare

# The order the checks read the gradients in: from the loss down, so that the first
# wrong one names the first wrong line of the backward pass.
TOP_DOWN = ("b2", "W2", "b1", "W1")
HINTS = {
    "b2": "dZ2 = 2 (Y - T) * Y (1 - Y), the sigmoid's derivative read off the output; "
    "dL/db2 sums it over the examples",
    "W2": "dW2 = H^T dZ2, (2, N) @ (N, 1)",
    "b1": "dZ1 = (dZ2 W2^T) * H (1 - H), the hidden sigmoid's derivative; dL/db1 sums "
    "it over the examples",
    "W1": "dW1 = X^T dZ1: the transpose goes on X, (2, N) @ (N, 2)",
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def network(seed: int, n: int | None = None, scale: float = 1.0):
    """Random parameters of one 2-2-1 network (N(0, scale²)), a batch ``X (N, 2)`` (the
    four XOR inputs when ``n`` is ``None``) and targets ``T (N, 1)`` in {0, 1}."""
    rng = np.random.default_rng(seed)
    params = {k: scale * rng.standard_normal(s) for k, s in PARAM_SHAPES.items()}
    if n is None:
        X = XOR_INPUTS.copy()
        T = (X[:, :1] != X[:, 1:]).astype(float)
    else:
        X = rng.uniform(-1.0, 2.0, (n, 2))
        T = rng.integers(0, 2, (n, 1)).astype(float)
    return params, X, T


def forward_cache(params: dict, X: np.ndarray) -> dict:
    """What ``companion.backprop.forward`` returns: ``X, Z1, H, Z2, Y``."""
    Z1 = X @ params["W1"] + params["b1"]
    H = _sigmoid(Z1)
    Z2 = H @ params["W2"] + params["b2"]
    return {"X": X, "Z1": Z1, "H": H, "Z2": Z2, "Y": _sigmoid(Z2)}


def autograd(params: dict, X: np.ndarray, T: np.ndarray) -> dict:
    """The gradient of ``sum((Y - T)^2)`` by torch's autograd, in float64."""
    w = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    y = torch.sigmoid(
        torch.sigmoid(torch.tensor(X) @ w["W1"] + w["b1"]) @ w["W2"] + w["b2"]
    )
    ((y - torch.tensor(T)) ** 2).sum().backward()
    return {k: v.grad.numpy() for k, v in w.items()}


def describe(X: np.ndarray, T: np.ndarray, seed: int) -> str:
    batch = "the XOR batch" if len(X) == 4 and np.array_equal(X, XOR_INPUTS) else "X"
    return f"{batch} N={len(X)}, T {T.shape}, weights of seed {seed}"


def call(candidate, params, X, T):
    """The candidate's gradients on copies of its inputs (it may not edit ours)."""
    cache = forward_cache(params, X)
    return candidate(
        {k: v.copy() for k, v in params.items()},
        {k: v.copy() for k, v in cache.items()},
        T.copy(),
    )


def check_shapes(case: str, grads) -> None:
    if not isinstance(grads, dict):
        raise Failure(case, "a dict {'W1', 'b1', 'W2', 'b2'}", type(grads).__name__)
    if missing := [k for k in PARAM_NAMES if k not in grads]:
        raise Failure(case, f"the keys {list(PARAM_NAMES)}", f"no {missing}")
    for name in TOP_DOWN:
        shape = tuple(np.shape(grads[name]))
        if shape != PARAM_SHAPES[name]:
            raise Failure(
                case,
                f"grads['{name}'] of shape {PARAM_SHAPES[name]}, its parameter's",
                f"{shape}",
                HINTS[name],
            )


def check_values(case: str, grads, expected: dict) -> None:
    check_shapes(case, grads)
    for name in TOP_DOWN:
        compare(
            case,
            grads[name],
            expected[name],
            atol=1e-10,
            rtol=1e-8,
            what=f"grads['{name}']",
            hint=HINTS[name],
        )


def _shapes(candidate):
    params, X, T = network(0)
    check_shapes(describe(X, T, 0), call(candidate, params, X, T))


def values_case(candidate, seed, n=None, scale=1.0):
    params, X, T = network(seed, n, scale)
    got = call(candidate, params, X, T)
    check_values(describe(X, T, seed), got, autograd(params, X, T))


def _values_xor(candidate):
    for seed in (0, 1, 2):
        values_case(candidate, seed)


def _values_batches(candidate):
    for seed, n in ((3, 1), (4, 7), (5, 2)):
        values_case(candidate, seed, n)


def _names_the_target(error: ValueError) -> bool:
    """Whether a ``ValueError`` is a refusal of ``T`` rather than numpy tripping over
    the ``(N, N)`` table further down."""
    message = str(error)
    return bool(re.search(r"\bT\b", message)) or "target" in message.lower()


def flat_target_case(candidate, seed, n=None):
    params, X, T = network(seed, n)
    case = describe(X, T.ravel(), seed) + " (the seed's mistake)"
    hint = (
        "Y - T with Y (N, 1) and T (N,) broadcasts to an (N, N) table: reshape T to "
        "Y's shape, or raise a ValueError that names T"
    )
    try:
        got = call(candidate, params, X, T.ravel())
    except ValueError as error:
        if _names_the_target(error):
            return  # refused at the door, as the companion does
        got = f"ValueError: {str(error)[:60]}…"
        raise Failure(
            case, "a ValueError that names T, or the gradients", got, hint
        ) from None
    try:
        check_values(case, got, autograd(params, X, T))
    except Failure as failure:
        raise Failure(
            failure.case,
            "a ValueError, or the gradients of T as a column: " + failure.expected,
            failure.got,
            hint,
        ) from None


def _flat_target(candidate):
    flat_target_case(candidate, 6)


BACKWARD = Exercise(
    label="xor-backward",
    name="backward",
    reference="companion.backprop.backward",
    question="the backward pass of the 2-2-1 network, by hand",
    points=2,
    properties=[
        Property("the four gradients, each of its parameter's shape", _shapes),
        Property("values against torch.autograd on the XOR batch", _values_xor),
        Property("values on other batches: N = 1, 7, 2 (sums over N)", _values_batches),
        Property("a target of shape (N,): a column, or a ValueError", _flat_target),
    ],
)


# xor-ex3: the seed's run with its targets as a column learns the function its
# targets describe (the chapter measures it on 100 draws of the initialisation).
SEED_INPUTS = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], dtype=bool)
SEED_TARGETS = np.array([1, 0, 1, 1], dtype=bool)
_a, _b = SEED_INPUTS.T
TRUTH_TABLES = {"XOR": _a ^ _b, "NAND": ~(_a & _b), "AND": _a & _b, "OR": _a | _b}
LEARNED = next(k for k, v in TRUTH_TABLES.items() if np.array_equal(v, SEED_TARGETS))

SEED_FIX = choice(
    "xor-ex3",
    "xor_ex3_function",
    "the function the seed's run learns with its targets as a column",
    LEARNED,
    (*TRUTH_TABLES, "the constant 0.75"),
    hint="with the targets as a column, nothing averages them any more: write the "
    "truth table the seed's targets give its four inputs",
)

EXERCISES = [BACKWARD, SEED_FIX]
