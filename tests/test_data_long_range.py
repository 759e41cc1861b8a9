import math

import pytest
import torch
from torch.nn import functional as F

from companion.data.long_range import (
    ADDING_BASELINE_MSE,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
    memoryless_cross_entropy,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_adding_shapes_and_dtypes():
    x, y = adding_problem(20, 5, gen())
    assert x.shape == (20, 5, 2) and y.shape == (5,)
    assert x.dtype == torch.float32 and y.dtype == torch.float32


def test_adding_two_markers_in_first_half():
    x, _ = adding_problem(21, 500, gen())
    markers = x[..., 1]
    assert torch.equal(markers.sum(0), torch.full((500,), 2.0))
    assert markers[21 // 2:].sum() == 0
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert ((x[..., 0] >= 0) & (x[..., 0] <= 1)).all()


def test_adding_target_is_sum_of_marked_values():
    x, y = adding_problem(30, 64, gen())
    expected = torch.stack([x[:, b, 0][x[:, b, 1] == 1].sum() for b in range(64)])
    torch.testing.assert_close(y, expected)


def test_adding_marker_positions_cover_first_half():
    x, _ = adding_problem(10, 2000, gen())
    counts = x[..., 1].sum(1)
    assert (counts[:5] > 0.3 * 2 * 2000 / 5).all()


def test_adding_seeded():
    a, b = adding_problem(12, 3, gen(4)), adding_problem(12, 3, gen(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], adding_problem(12, 3, gen(5))[0])


def test_adding_baseline_by_monte_carlo():
    _, y = adding_problem(8, 200_000, gen(1))
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert float(((y - 1.0) ** 2).mean()) == pytest.approx(ADDING_BASELINE_MSE, rel=0.02)
    # no constant does better than the mean
    assert float(((y - 0.9) ** 2).mean()) > float(((y - 1.0) ** 2).mean())


def test_adding_validation():
    with pytest.raises(ValueError, match="seq_len"):
        adding_problem(3, 2)
    with pytest.raises(ValueError, match="batch_size"):
        adding_problem(10, 0)
    with pytest.raises(TypeError, match="torch.Generator"):
        adding_problem(10, 2, generator=0)


def test_copy_shapes_and_layout():
    delay, n_copy, n_symbols = 7, 4, 5
    x, y = copy_memory(delay, 3, n_symbols, n_copy, gen())
    L = delay + 2 * n_copy
    assert x.shape == (L, 3, n_symbols + 2) and y.shape == (L, 3)
    assert x.dtype == torch.float32 and y.dtype == torch.long
    assert torch.equal(x.sum(-1), torch.ones(L, 3))
    tokens = x.argmax(-1)
    assert (tokens[n_copy + delay - 1] == n_symbols + 1).all()
    assert ((tokens[:n_copy] >= 1) & (tokens[:n_copy] <= n_symbols)).all()
    blank = torch.ones(L, dtype=torch.bool)
    blank[:n_copy] = False
    blank[n_copy + delay - 1] = False
    assert (tokens[blank] == 0).all()


def test_copy_target_is_computable_from_input():
    x, y = copy_memory(12, 16, generator=gen())
    tokens = x.argmax(-1)
    expected = torch.zeros_like(y)
    expected[-10:] = tokens[:10]
    assert torch.equal(y, expected)


def test_copy_baseline_formula():
    assert copy_memory_baseline(100) == pytest.approx(10 * math.log(8) / 120)
    assert copy_memory_baseline(3, n_symbols=4, n_copy=2) == pytest.approx(2 * math.log(4) / 7)


def test_copy_baseline_by_monte_carlo():
    """The best memoryless predictor outputs, at each step, the marginal distribution of the
    target there; its cross-entropy, estimated by sampling (written out here, independently of
    ``memoryless_cross_entropy``), is the baseline."""
    delay = 15
    _, y = copy_memory(delay, 20_000, generator=gen(2))
    marginals = F.one_hot(y, 9).float().mean(1)  # (L, 9)
    log_p = marginals.clamp_min(1e-12).log()
    ce = -(F.one_hot(y, 9).float() * log_p[:, None]).sum(-1).mean()
    assert float(ce) == pytest.approx(copy_memory_baseline(delay), rel=0.01)


def test_copy_validation():
    with pytest.raises(ValueError, match="delay"):
        copy_memory(0, 2)
    with pytest.raises(ValueError, match="n_symbols"):
        copy_memory(5, 2, n_symbols=1)
    with pytest.raises(ValueError, match="n_copy"):
        copy_memory_baseline(5, n_copy=0)
    with pytest.raises(TypeError, match="torch.Generator"):
        copy_memory(5, 2, generator="seed")


def test_memoryless_cross_entropy_estimates_the_copy_baseline():
    _, y = copy_memory(15, 20_000, generator=gen(2))
    assert memoryless_cross_entropy(y, 9) == pytest.approx(copy_memory_baseline(15), rel=0.01)


def test_memoryless_cross_entropy_of_known_targets():
    y = torch.tensor([[0, 0, 0, 0], [0, 1, 0, 1]])  # step 0 certain, step 1 a fair coin
    assert memoryless_cross_entropy(y, 2) == pytest.approx(math.log(2) / 2)
    with pytest.raises(ValueError, match=r"expected targets in \[0, 2\)"):
        memoryless_cross_entropy(y + 1, 2)
    with pytest.raises(ValueError, match=r"expected targets of shape \(L, B\)"):
        memoryless_cross_entropy(y[0], 2)
    with pytest.raises(TypeError, match="integer dtype"):
        memoryless_cross_entropy(y.float(), 2)
    with pytest.raises(ValueError, match="n_classes"):
        memoryless_cross_entropy(y, 1)


def test_sizes_must_be_ints():
    with pytest.raises(TypeError, match="expected seq_len to be an int >= 4"):
        adding_problem(10.0, 2)
    with pytest.raises(TypeError, match="expected delay to be an int >= 1"):
        copy_memory(True, 2)
