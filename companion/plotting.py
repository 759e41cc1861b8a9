"""Figures shared by several pages of the book."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from companion.backprop import forward


def plot_xor_decision(params: dict, X: np.ndarray, T: np.ndarray, ax=None, title: str = ""):
    """Output regions of a 2-2-1 network on the square [-0.5, 1.5]², its two hidden units'
    lines ``w·x + b = 0`` and the training points ``X (N, 2)`` coloured by target ``T (N, 1)``.
    """
    ax = ax or plt.gca()
    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    out = forward(params, points)["Y"].reshape(gx.shape)
    ax.contourf(gx, gy, out, levels=[0, 0.5, 1], colors=["#dbe9f6", "#fbe3d4"])
    ax.contour(gx, gy, out, levels=[0.5], colors="k", linewidths=1.5)
    W1, b1 = params["W1"], params["b1"]
    for j, style in enumerate(["--", ":"]):
        w, b = W1[:, j], b1[j]
        if abs(w[1]) > 1e-12:
            ax.plot(grid, -(w[0] * grid + b) / w[1], style, color="0.3",
                    label=f"hidden unit {j + 1}")
        else:
            ax.axvline(-b / w[0], linestyle=style, color="0.3", label=f"hidden unit {j + 1}")
    ones = T[:, 0] > 0.5
    ax.scatter(*X[ones].T, s=120, c="#d95f02", edgecolors="k", label="target 1", zorder=3)
    ax.scatter(*X[~ones].T, s=120, c="#1b9e77", marker="s", edgecolors="k", label="target 0",
               zorder=3)
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="$x_1$", ylabel="$x_2$", title=title,
           aspect="equal")
    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color="#fbe3d4", label="output > 0.5"),
                Patch(color="#dbe9f6", label="output < 0.5")]
    ax.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.9)
    return ax
