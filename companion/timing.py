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

from companion.checks import Call, Int, Tensor, checked


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


@checked(fn=Call(), repeats=Int())
def median_wall_time(fn: Callable[[], object], repeats: int = 3) -> float:
    """Median wall-clock time of ``fn()`` over ``repeats`` runs, in seconds."""
    return float(median(_timings(fn, repeats, time.perf_counter)))


@checked(fn=Call(), repeats=Int())
def best_cpu_time(fn: Callable[[], object], repeats: int = 5) -> float:
    """Smallest CPU time of the calling thread over ``repeats`` runs of ``fn()``, in
    seconds."""
    return min(_timings(fn, repeats, time.thread_time))


@checked(fn=Call(), x=Tensor())
def saved_bytes(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor
) -> tuple[int, torch.Tensor]:
    """Bytes of the distinct storages autograd keeps for the backward of ``fn(x)``,
    and ``fn(x)``.

    A storage shared by several saved tensors (a view, the same tensor saved twice)
    is counted once.
    """
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(x)
    return sum(storages.values()), y


@checked(fn=Call(), length=Int(), repeats=Int(), dim=Int())
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
    x = torch.randn(length, 1, dim, requires_grad=True)
    memory, y = saved_bytes.bare(fn, x)
    y.sum().backward()  # warm-up
    start = time.thread_time()
    for _ in range(repeats):
        fn(x).sum().backward()
    return (time.thread_time() - start) / repeats, memory
