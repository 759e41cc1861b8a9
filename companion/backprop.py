"""A 2-2-1 network with sigmoid units, its gradient written out by hand (chapter 1).

Forward pass, for inputs ``X (N, 2)`` and targets ``T (N, 1)``::

    Z1 = X W1 + b1        (N, 2)     W1 (2, 2), b1 (2,)
    H  = sigmoid(Z1)      (N, 2)
    Z2 = H W2 + b2        (N, 1)     W2 (2, 1), b2 (1,)
    Y  = sigmoid(Z2)      (N, 1)
    loss = sum((Y - T)^2)            squared error, summed over the N examples

Every function also accepts a leading *population* axis ``S`` on the parameters
(``W1 (S, 2, 2)``, ``b1 (S, 2)``, ``W2 (S, 2, 1)``, ``b2 (S, 1)``), which trains ``S``
independent networks at once with the same NumPy code: ``Y`` is then ``(S, N, 1)`` and
the loss ``(S,)``. Chapter 1 uses it to train 200 networks from 200 initialisations in
one go. ``plot_xor_decision`` draws what one network computes: its output regions on the
plane and the lines of its two hidden units (that function takes one network, not a
population).

Reference: Rumelhart, Hinton & Williams, "Learning representations by back-propagating
errors" (1986).
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Patch

from companion.checks import Array, Either, Int, Is, OneOf, Real, Rule, checked
from companion.display import legend_outside

PARAM_SHAPES = {"W1": (2, 2), "b1": (2,), "W2": (2, 1), "b2": (1,)}
PARAM_NAMES = tuple(PARAM_SHAPES)
XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = np.array([[0.0], [1.0], [1.0], [0.0]])
_RNG = Is(np.random.Generator)
_KINDS = OneOf("normal", "uniform01")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, computed without overflow for large
    ``|z|``."""
    return np.exp(-np.logaddexp(0.0, -z))


@checked(rng=_RNG, population=Int(optional=True), kind=_KINDS, scale=Real(0))
def init_params(
    rng: np.random.Generator,
    population: int | None = None,
    kind: str = "normal",
    scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """Random parameters of one network, or of ``population`` networks stacked on axis
    0.

    ``kind="normal"`` draws from N(0, scale²); ``kind="uniform01"`` from U(0, 1), the
    initialisation of the TensorFlow notebook chapter 1 starts from (``scale`` is
    ignored)."""
    lead = () if population is None else (population,)
    if kind == "normal":
        return {
            k: scale * rng.standard_normal(lead + s) for k, s in PARAM_SHAPES.items()
        }
    return {k: rng.uniform(0.0, 1.0, lead + s) for k, s in PARAM_SHAPES.items()}


def _check_params(params: dict, door, one: bool = False) -> str | None:
    """The four parameters, of one network or (unless ``one``) of a population ``S``."""
    if missing := [k for k in PARAM_NAMES if k not in params]:
        return f"expected parameters {PARAM_NAMES}, missing {missing}"
    lead = ("S",) if np.ndim(params["W1"]) == 3 else ()
    if one and lead:
        return "expected the parameters of one network, got a population"
    for name, shape in PARAM_SHAPES.items():
        Array(*lead, *shape).check(name, params[name], door)


_PARAMS = Rule(_check_params)  # one network or a population
_NETWORK = Rule(lambda params, door: _check_params(params, door, one=True))
_INPUTS = Array("N", 2)
_TARGETS = Array("N", 1)
_STEP = Real(0, low_open=True)  # a step size: lr, eps
_CACHE = Rule(lambda cache, door: _INPUTS.check("cache['X']", cache["X"], door))


@checked(params=_PARAMS, X=_INPUTS)
def forward(params: dict, X: np.ndarray) -> dict[str, np.ndarray]:
    """Forward pass; returns every intermediate: ``Z1, H (…, N, 2)`` and
    ``Z2, Y (…, N, 1)``."""
    population = params["W1"].ndim == 3
    b1 = params["b1"][:, None, :] if population else params["b1"]
    b2 = params["b2"][:, None, :] if population else params["b2"]
    Z1 = X @ params["W1"] + b1
    H = sigmoid(Z1)
    Z2 = H @ params["W2"] + b2
    return {"X": X, "Z1": Z1, "H": H, "Z2": Z2, "Y": sigmoid(Z2)}


@checked(Y=Either(Array("S", "N", 1), Array("N", 1)), T=_TARGETS)
def squared_error(Y: np.ndarray, T: np.ndarray) -> np.ndarray | float:
    """``sum((Y - T)^2)`` over the examples: a float for ``Y (N, 1)``, ``(S,)`` for
    ``(S, N, 1)``.

    ``T`` must be ``(N, 1)`` like the output: a ``(N,)`` target would broadcast against
    ``(N, 1)`` into an ``(N, N)`` table of differences, the bug chapter 1 dissects.
    """
    return ((Y - T) ** 2).sum(axis=(-2, -1))


@checked(params=_PARAMS, cache=_CACHE, T=_TARGETS)
def backward(params: dict, cache: dict, T: np.ndarray) -> dict[str, np.ndarray]:
    """Gradient of ``squared_error`` with respect to each parameter, by the chain rule.

    Every line is one link of the chain, from the loss back to the first layer::

        dL/dY  = 2 (Y - T)                    (…, N, 1)
        dL/dZ2 = dL/dY * Y (1 - Y)            sigmoid'(z) = s (1 - s)
        dL/dW2 = H^T dL/dZ2                   (…, 2, 1)
        dL/db2 = sum over examples of dL/dZ2
        dL/dH  = dL/dZ2 W2^T                  (…, N, 2)
        dL/dZ1 = dL/dH * H (1 - H)
        dL/dW1 = X^T dL/dZ1                   (…, 2, 2)
        dL/db1 = sum over examples of dL/dZ1

    ``cache`` is what ``forward(params, X)`` returned.
    """
    X, H, Y = cache["X"], cache["H"], cache["Y"]
    dY = 2.0 * (Y - T)
    dZ2 = dY * Y * (1.0 - Y)
    dW2 = np.swapaxes(H, -1, -2) @ dZ2
    db2 = dZ2.sum(axis=-2)
    dH = dZ2 @ np.swapaxes(params["W2"], -1, -2)
    dZ1 = dH * H * (1.0 - H)
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=-2)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


@checked(params=_PARAMS, X=_INPUTS, T=_TARGETS)
def loss_and_gradient(params: dict, X: np.ndarray, T: np.ndarray):
    """``(loss, gradients)`` of one network (or a population) on ``X (N, 2)``,
    ``T (N, 1)``."""
    cache = forward.bare(params, X)
    return squared_error.bare(cache["Y"], T), backward.bare(params, cache, T)


@checked(params=_NETWORK, X=_INPUTS, T=_TARGETS, eps=_STEP)
def numerical_gradient(
    params: dict, X: np.ndarray, T: np.ndarray, eps: float = 1e-6
) -> dict[str, np.ndarray]:
    """Central finite differences ``(L(θ + ε) - L(θ - ε)) / 2ε``, one coordinate at a
    time.

    For one network only (no population axis); float64 parameters give about 1e-10
    accuracy."""
    grads = {}
    for name in PARAM_NAMES:
        grad = np.zeros_like(params[name])
        for index in np.ndindex(params[name].shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][index] += eps
            plus = squared_error.bare(forward.bare(shifted, X)["Y"], T)
            shifted[name][index] -= 2 * eps
            minus = squared_error.bare(forward.bare(shifted, X)["Y"], T)
            grad[index] = (plus - minus) / (2 * eps)
        grads[name] = grad
    return grads


@checked(params=_PARAMS, X=_INPUTS, T=_TARGETS)
def autograd_gradient(
    params: dict, X: np.ndarray, T: np.ndarray
) -> dict[str, np.ndarray]:
    """The same loss written in PyTorch, differentiated by ``torch.autograd``
    (float64)."""
    weights = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for k, v in params.items()
    }
    x, t = torch.tensor(X, dtype=torch.float64), torch.tensor(T, dtype=torch.float64)
    b1 = weights["b1"] if weights["b1"].dim() == 1 else weights["b1"][:, None, :]
    b2 = weights["b2"] if weights["b2"].dim() == 1 else weights["b2"][:, None, :]
    y = torch.sigmoid(torch.sigmoid(x @ weights["W1"] + b1) @ weights["W2"] + b2)
    ((y - t) ** 2).sum().backward()
    return {k: w.grad.numpy() for k, w in weights.items()}


def _check_writer(door) -> None:
    if door.args["writer"] is not None and "S" in door.dims:
        raise ValueError("expected the parameters of one network with a writer")


@checked(_check_writer, params=_PARAMS, X=_INPUTS, T=_TARGETS, lr=_STEP, epochs=Int(0))
def train(
    params: dict, X: np.ndarray, T: np.ndarray, lr: float, epochs: int, writer=None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Full-batch gradient descent ``θ ← θ - lr ∇L``; returns the new parameters and
    losses.

    ``losses`` is ``(epochs + 1,)`` (or ``(epochs + 1, S)`` for a population), the loss
    before each update and after the last. With a TensorBoard ``writer`` the loss of a
    single network is logged as ``loss`` at every epoch (a population has no single
    loss to log)."""
    params = {k: v.copy() for k, v in params.items()}
    losses = []
    for epoch in range(epochs + 1):
        loss, grads = loss_and_gradient.bare(params, X, T)
        losses.append(loss)
        if writer is not None:
            writer.add_scalar("loss", float(loss), epoch)
        if epoch < epochs:
            for name in PARAM_NAMES:
                params[name] -= lr * grads[name]
    return params, np.array(losses)


@checked(params=_PARAMS, X=_INPUTS, T=_TARGETS)
def solved(params: dict, X: np.ndarray, T: np.ndarray) -> np.ndarray | bool:
    """Whether every output is on the right side of 0.5 (one bool, or ``(S,)`` bools).

    ``T`` must be ``(N, 1)``: a ``(N,)`` target would broadcast into an ``(N, N)``
    table."""
    Y = forward.bare(params, X)["Y"]
    return ((Y > 0.5) == (T > 0.5)).all(axis=(-2, -1))


@checked(params=_NETWORK, X=_INPUTS, T=_TARGETS, legend=OneOf("right", "below", None))
def plot_xor_decision(
    params: dict,
    X: np.ndarray,
    T: np.ndarray,
    ax=None,
    title: str = "",
    legend: str | None = "right",
):
    """Output regions of a 2-2-1 network on the square [-0.5, 1.5]², its two hidden
    units' lines ``w·x + b = 0`` and the training points ``X (N, 2)`` coloured by target
    ``T (N, 1)``.

    The legend stays off the data (``companion.display.legend_outside``): right of the
    square (``legend="right"``), under the figure (``"below"``, one legend for several
    panels) or none (``None``)."""
    ax = ax or plt.gca()
    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    out = forward.bare(params, points)["Y"].reshape(gx.shape)
    ax.contourf(gx, gy, out, levels=[0, 0.5, 1], colors=["#dbe9f6", "#fbe3d4"])
    ax.contour(gx, gy, out, levels=[0.5], colors="k", linewidths=1.5)
    W1, b1 = params["W1"], params["b1"]
    for j, style in enumerate(["--", ":"]):
        w, b = W1[:, j], b1[j]
        if abs(w[1]) > 1e-12:
            ax.plot(
                grid,
                -(w[0] * grid + b) / w[1],
                style,
                color="0.3",
                label=f"hidden unit {j + 1}",
            )
        else:
            ax.axvline(
                -b / w[0], linestyle=style, color="0.3", label=f"hidden unit {j + 1}"
            )
    ones = T[:, 0] > 0.5
    ax.scatter(
        *X[ones].T, s=120, c="#d95f02", edgecolors="k", label="target 1", zorder=3
    )
    ax.scatter(
        *X[~ones].T,
        s=120,
        c="#1b9e77",
        marker="s",
        edgecolors="k",
        label="target 0",
        zorder=3,
    )
    ax.set(
        xlim=(-0.5, 1.5),
        ylim=(-0.5, 1.5),
        xlabel="$x_1$",
        ylabel="$x_2$",
        title=title,
        aspect="equal",
    )
    if legend is not None:
        handles, _ = ax.get_legend_handles_labels()
        handles += [
            Patch(color="#fbe3d4", label="output > 0.5"),
            Patch(color="#dbe9f6", label="output < 0.5"),
        ]
        ncols = {"right": 1, "below": 3}[legend]
        legend_outside(ax, side=legend, handles=handles, ncols=ncols)
    return ax
