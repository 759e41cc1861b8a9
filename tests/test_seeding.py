import random

import numpy as np
import pytest
import torch

from companion import set_seed


def draws():
    return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002


def test_same_seed_same_draws_everywhere():
    rng = set_seed(123)
    first = (*draws(), rng.random())
    rng = set_seed(123)
    assert (*draws(), rng.random()) == first


def test_different_seeds_differ():
    set_seed(1)
    a = draws()
    set_seed(2)
    assert all(x != y for x, y in zip(a, draws(), strict=True))


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)],
)
def test_bad_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        set_seed(seed)


def test_book_seed_shifts_every_generator(monkeypatch):
    from companion.seeding import generator, rng, shifted

    monkeypatch.setenv("BOOK_SEED", "5")
    assert shifted(3) == 8
    shifted_draws = (set_seed(3).random(), generator(3).initial_seed(), rng(3).random())
    monkeypatch.delenv("BOOK_SEED")
    assert shifted_draws == (
        set_seed(8).random(),
        generator(8).initial_seed(),
        rng(8).random(),
    )
    assert shifted_draws != (
        set_seed(3).random(),
        generator(3).initial_seed(),
        rng(3).random(),
    )


@pytest.mark.parametrize("value", ["x", "-1", "1.5"])
def test_bad_book_seed(monkeypatch, value):
    monkeypatch.setenv("BOOK_SEED", value)
    with pytest.raises(ValueError, match="BOOK_SEED"):
        set_seed(0)
