"""Seeding every random number generator a chapter touches, shifted by ``BOOK_SEED``.

A chapter's claims must hold for any seed, not only for the one the book was built with.
The environment variable ``BOOK_SEED`` (an int >= 0, default 0) shifts every seed a
chapter uses: ``set_seed(s)`` seeds with ``s + BOOK_SEED``, and so do ``generator(s)``
and ``rng(s)``, which chapters use instead of ``torch.Generator().manual_seed(s)`` and
``np.random.default_rng(s)``. ``BOOK_SEED=1 make chapters`` re-runs the whole book on
other draws (``make test-seeds``)."""

import os
import random

import numpy as np
import torch


def book_seed() -> int:
    """The shift read from the environment variable ``BOOK_SEED`` (0 when it is not
    set)."""
    raw = os.environ.get("BOOK_SEED", "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"expected the environment variable BOOK_SEED to be an int >= 0, "
            f"got {raw!r}"
        ) from None
    if value < 0:
        raise ValueError(
            f"expected the environment variable BOOK_SEED to be an int >= 0, "
            f"got {value}"
        )
    return value


def shifted(seed: int) -> int:
    """``seed + BOOK_SEED``: the seed actually used for the chapter's seed ``seed``."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"expected seed to be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"expected seed to be an int >= 0, got {seed}")
    return seed + book_seed()


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global generator and PyTorch with
    ``shifted(seed)``.

    Returns a fresh ``numpy.random.Generator`` seeded the same way, for code that
    prefers an explicit generator to the global state."""
    seed = shifted(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (seeding the legacy global generator is the point)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def generator(seed: int) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``shifted(seed)``."""
    return torch.Generator().manual_seed(shifted(seed))


def rng(seed: int) -> np.random.Generator:
    """A ``numpy.random.Generator`` seeded with ``shifted(seed)``."""
    return np.random.default_rng(shifted(seed))
