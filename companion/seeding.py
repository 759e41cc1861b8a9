"""Seeding every random number generator a chapter touches."""

import random

import numpy as np
import torch


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global generator and PyTorch (CPU and CUDA).

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``, for code that prefers
    an explicit generator to the global state.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"expected seed to be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"expected a non-negative seed, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeding the legacy global generator is the point)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
