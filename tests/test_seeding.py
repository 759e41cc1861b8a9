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


@pytest.mark.parametrize(("seed", "error"), [(-1, ValueError), (1.5, TypeError),
                                             ("0", TypeError), (True, TypeError)])
def test_bad_seeds(seed, error):
    with pytest.raises(error, match="seed"):
        set_seed(seed)
