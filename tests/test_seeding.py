import importlib
import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import companion.seeding
from companion import set_seed
from companion.seeding import MAX_SEED, eval_mode, generator, rng, shifted

# BOOK_SEED values that are not an int from 0 to 2**63 - 1, the last from issue 27
BAD_BOOK_SEEDS = ["x", "1.5", "1e3", "-1", str(2**63), "99999999999999999999"]


def expected_message(book_seed: str) -> str:
    return (
        "expected the environment variable BOOK_SEED to be an int from 0 to 2**63 - 1 "
        f"= {MAX_SEED}, got {book_seed!r}"
    )


def draws():
    return random.random(), np.random.rand(), torch.rand(1).item()  # noqa: NPY002


@pytest.fixture
def import_seeding(monkeypatch):
    """``import_seeding(value)`` runs ``companion.seeding`` again with ``BOOK_SEED`` set
    to ``value``, as a fresh import would; the module is clean again afterwards."""

    def run(value):
        monkeypatch.setenv("BOOK_SEED", value)
        return importlib.reload(companion.seeding)

    yield run
    monkeypatch.delenv("BOOK_SEED", raising=False)
    importlib.reload(companion.seeding)


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


@pytest.mark.parametrize("seeder", [set_seed, generator, rng])
@pytest.mark.parametrize(
    ("seed", "error"),
    [
        (-1, ValueError),
        (MAX_SEED + 1, ValueError),
        (2**64, ValueError),
        (1.5, TypeError),
        ("0", TypeError),
        (True, TypeError),
    ],
)
def test_bad_seeds(seeder, seed, error):
    expected = rf"expected seed (to be an int >= 0|in \[0, {MAX_SEED}\]), got"
    with pytest.raises(error, match=expected):
        seeder(seed)


def test_book_seed_shifts_every_generator(monkeypatch):
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


def test_largest_seed_and_shift_still_seed_every_generator(import_seeding):
    seeding = import_seeding(f" {MAX_SEED} ")
    # the largest sum, 2**64 - 2: torch takes seeds up to 2**64 - 1
    assert seeding.generator(MAX_SEED).initial_seed() == 2**64 - 2
    assert seeding.set_seed(MAX_SEED).random() == seeding.rng(MAX_SEED).random()


@pytest.mark.parametrize("value", BAD_BOOK_SEEDS)
def test_bad_book_seed_fails_at_import_and_at_use(import_seeding, value):
    expected = expected_message(value)
    with pytest.raises(ValueError) as error:
        import_seeding(value)
    assert str(error.value) == expected
    with pytest.raises(ValueError) as error:
        set_seed(0)
    assert str(error.value) == expected


def test_book_seed_too_large_for_torch_stops_the_import_of_the_companion():
    """Issue 27: this value used to fail in a chapter with "Overflow when unpacking
    long long"."""
    done = subprocess.run(
        [sys.executable, "-c", "import companion"],
        env={**os.environ, "BOOK_SEED": "99999999999999999999"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line == f"ValueError: {expected_message('99999999999999999999')}"


def test_eval_mode_evaluates_without_gradients_then_restores_the_mode():
    model = nn.Sequential(nn.Linear(2, 1), nn.Dropout(0.5))
    model.train()
    with eval_mode(model) as same:
        assert same is model and not model.training and not torch.is_grad_enabled()
    assert model.training and torch.is_grad_enabled()
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training


def test_eval_mode_restores_the_mode_after_an_error():
    model = nn.Dropout(0.5)
    with pytest.raises(RuntimeError, match="inside"), eval_mode(model):
        raise RuntimeError("inside")
    assert model.training and torch.is_grad_enabled()


def test_eval_mode_needs_a_module():
    with pytest.raises(TypeError, match="model"):
        eval_mode([torch.zeros(3)])
