"""What makes a run reproducible: the seeds of every random number generator a chapter
touches, shifted by ``BOOK_SEED``, and the evaluation mode.

A chapter's claims must hold for any seed, not only for the one the book was built with.
The environment variable ``BOOK_SEED`` (default 0) shifts every seed a chapter uses:
``set_seed(s)`` seeds with ``s + BOOK_SEED``, and so do ``generator(s)`` and ``rng(s)``,
which chapters use instead of ``torch.Generator().manual_seed(s)`` and
``np.random.default_rng(s)``. ``BOOK_SEED=1 make chapters`` re-runs the whole book on
other draws (``make test-seeds``).

The sum must be a seed that every generator takes. Python's ``random`` and NumPy's
``default_rng`` take any int >= 0 and the legacy ``np.random.seed`` gets the sum modulo
2**32, but ``torch.manual_seed`` takes at most 2**64 - 1 (beyond: "Overflow when
unpacking long long"). So a seed and ``BOOK_SEED`` are each an int from 0 to
``MAX_SEED`` = 2**63 - 1, and their sum is at most 2**64 - 2. A bad ``BOOK_SEED`` fails
when this module is imported, a bad seed where it enters ``set_seed``, ``generator`` or
``rng``.

``with eval_mode(model):`` evaluates without dropout and without gradients, then gives
the model back its mode: a measure taken this way does not depend on the state training
left the model in."""

import contextlib
import os
import random

import numpy as np
import torch
from torch import nn

from companion.checks import Int, Is, checked

MAX_SEED = 2**63 - 1
SEED_RANGE = f"an int from 0 to 2**63 - 1 = {MAX_SEED}"


def book_seed() -> int:
    """The shift read from the environment variable ``BOOK_SEED`` (0 when it is not
    set)."""
    raw = os.environ.get("BOOK_SEED", "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= MAX_SEED:
        raise ValueError(
            f"expected the environment variable BOOK_SEED to be {SEED_RANGE}, "
            f"got {raw!r}"
        )
    return value


@checked(seed=Int(0, MAX_SEED))
def shifted(seed: int) -> int:
    """``seed + BOOK_SEED``: the seed actually used for the chapter's seed ``seed``, an
    int from 0 to ``MAX_SEED``."""
    return seed + book_seed()


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's global generator and PyTorch with
    ``shifted(seed)``.

    Returns a fresh ``numpy.random.Generator`` seeded the same way, for code that
    prefers an explicit generator to the global state."""
    seed = shifted(seed)
    random.seed(seed)
    # NumPy's legacy global generator takes seeds below 2**32; seeding it is the point
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def generator(seed: int) -> torch.Generator:
    """A ``torch.Generator`` seeded with ``shifted(seed)``."""
    return torch.Generator().manual_seed(shifted(seed))


def rng(seed: int) -> np.random.Generator:
    """A ``numpy.random.Generator`` seeded with ``shifted(seed)``."""
    return np.random.default_rng(shifted(seed))


@contextlib.contextmanager
@checked(model=Is(nn.Module))
def eval_mode(model: nn.Module):
    """``with eval_mode(model):`` runs the block in evaluation mode (no dropout) and
    without gradients, then gives the model back the mode it had, even after an
    error."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


book_seed()  # a bad BOOK_SEED fails here, when a chapter imports the companion
