import time

import pytest
import torch

from companion.timing import best_cpu_time, cost, median_wall_time, saved_bytes

TIMERS = (median_wall_time, best_cpu_time)


def _busy(seconds):
    def fn():
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    return fn


def test_median_wall_time_counts_sleep_and_calls():
    calls = []

    def fn():
        calls.append(1)
        time.sleep(0.02)

    t = median_wall_time(fn, repeats=3)
    assert len(calls) == 3
    assert 0.02 <= t < 1.0


def test_best_cpu_time_ignores_sleep_and_counts_work():
    assert best_cpu_time(lambda: time.sleep(0.05), repeats=2) < 0.02
    assert best_cpu_time(_busy(0.03), repeats=2) >= 0.03


def test_best_cpu_time_is_the_minimum():
    durations = iter([0.06, 0.02, 0.04])
    assert 0.02 <= best_cpu_time(lambda: _busy(next(durations))(), repeats=3) < 0.04


def test_saved_bytes_counts_saved_storages_once():
    x = torch.randn(10, 1, 4, requires_grad=True)
    memory, y = saved_bytes(lambda t: t * t, x)  # saves x twice: one storage
    assert memory == x.numel() * 4
    torch.testing.assert_close(y, x * x)
    memory, _ = saved_bytes(lambda t: t.exp(), x)  # saves the output
    assert memory == x.numel() * 4
    memory, _ = saved_bytes(lambda t: t + 1, x)  # saves nothing
    assert memory == 0


def test_cost_returns_cpu_time_and_saved_bytes():
    def quadratic(x):  # (L, 1, D) -> (L, L) scores
        return x[:, 0] @ x[:, 0].T

    def linear(x):
        return x * x

    t, short = cost(quadratic, 16, repeats=1, dim=8)
    _, long = cost(quadratic, 64, repeats=1, dim=8)
    assert t >= 0 and long == 4 * short  # saves x: linear in L
    _, lin = cost(linear, 64, repeats=1, dim=8)
    assert lin == 64 * 8 * 4


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        *[(lambda timer=timer: timer(3), TypeError, "fn") for timer in TIMERS],
        *[
            (lambda timer=timer: timer(lambda: None, repeats=0), ValueError, "repeats")
            for timer in TIMERS
        ],
        *[
            (lambda timer=timer: timer(lambda: None, repeats=1.5), TypeError, "repeats")
            for timer in TIMERS
        ],
        (lambda: saved_bytes(None, torch.zeros(2)), TypeError, "fn"),
        (lambda: saved_bytes(lambda t: t, [1.0]), TypeError, "x"),
        (lambda: saved_bytes(lambda t: t, torch.zeros(2).numpy()), TypeError, "x"),
        (lambda: cost("f", 8), TypeError, "fn"),
        (lambda: cost(lambda x: x, 0), ValueError, "length"),
        (lambda: cost(lambda x: x, 8, repeats=0), ValueError, "repeats"),
        (lambda: cost(lambda x: x, 8, dim=2.0), TypeError, "dim"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()
