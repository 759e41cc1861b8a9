"""Measuring cost: wall time, CPU time and the memory autograd keeps (chapters 4, 6, 8,
9).

Wall-clock time counts whatever else the machine does; the CPU time of the calling
thread (``time.thread_time``) does not grow when other programs compete for the
processor, which makes it the fairer clock on a shared machine (it misses work done by
other threads, so time PyTorch on one thread: ``torch.set_num_threads(1)``). Memory for
training is measured as the bytes of the tensors that autograd saves for the backward
pass, collected with ``torch.autograd.graph.saved_tensors_hooks``."""

import time
from collections.abc import Callable
from statistics import median

import torch

from companion.checks import check_positive_int, check_tensor


def _check_callable(name: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"expected {name} to be callable, got {type(fn).__name__}")


def _timings(
    fn: Callable[[], object], repeats: int, clock: Callable[[], float]
) -> list[float]:
    """``clock()`` differences around ``repeats`` calls of ``fn()``."""
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return times


def median_wall_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall-clock time of ``fn()`` over ``repeats`` runs, in seconds."""
    _check_callable("fn", fn)
    check_positive_int("repeats", repeats)
    return float(median(_timings(fn, repeats, time.perf_counter)))


def best_cpu_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Smallest CPU time of the calling thread over ``repeats`` runs of ``fn()``, in
    seconds."""
    _check_callable("fn", fn)
    check_positive_int("repeats", repeats)
    return min(_timings(fn, repeats, time.thread_time))


def saved_bytes(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[int, torch.Tensor]:
    """Bytes of the distinct storages autograd keeps for the backward of ``fn(x)``,
    and ``fn(x)``.

    A storage shared by several saved tensors (a view, the same tensor saved twice)
    is counted once.
    """
    _check_callable("fn", fn)
    check_tensor("x", x)
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(x)
    return sum(storages.values()), y


def cost(
    fn: Callable[[torch.Tensor], torch.Tensor],
    length: int,
    repeats: int = 2,
    dim: int = 64,
) -> tuple[float, int]:
    """CPU seconds per forward+backward of ``fn``, and the bytes it saves for backward.

    ``fn`` maps ``x (length, 1, dim)`` (random, requiring grad) to a tensor; one warm-up
    pass is not timed, then the calling thread's CPU time is averaged over ``repeats``
    passes of ``fn(x).sum().backward()``."""
    _check_callable("fn", fn)
    check_positive_int("length", length)
    check_positive_int("repeats", repeats)
    check_positive_int("dim", dim)
    x = torch.randn(length, 1, dim, requires_grad=True)
    memory, y = saved_bytes(fn, x)
    y.sum().backward()  # warm-up
    start = time.thread_time()
    for _ in range(repeats):
        fn(x).sum().backward()
    return (time.thread_time() - start) / repeats, memory
