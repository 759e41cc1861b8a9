"""Time of the parallel scan (``linear_scan``, Hillis–Steele) against the loop
(``sequential_scan``) for the linear recurrence ``h_t = a_t ⊙ h_{t-1} + b_t``, CPU.

Run from the repository root, with the machine as idle as possible::

    .venv/bin/python bench/bench_scan.py                 # L = 64 … 4096, B = 8, D = 64
    .venv/bin/python bench/bench_scan.py --rounds 5 --threads 1 --backward

Each round times the two functions one after the other on the same ``a, b (L, B, D)``
(forward only, or forward and backward with ``--backward``), so a burst of load on a
shared machine hits both; the ratio loop / scan of each round is a *paired* ratio, and
the table reports the median over rounds of those ratios, per length, with the median
times. The loop makes ``L`` small steps one after the other; the scan makes
``⌈log₂ L⌉`` rounds of whole-tensor operations but does ``O(L log L)`` work: on a CPU,
with no parallel hardware to spread the work on, expect the scan to win by the
overhead it saves per step at long ``L``, not by ``L / log₂ L``."""

import argparse
import math
import statistics
import time

import torch

from companion.scan import linear_scan, sequential_scan

LENGTHS = (64, 128, 256, 512, 1024, 2048, 4096)
FUNCTIONS = {"loop": sequential_scan.bare, "scan": linear_scan.bare}


def _seconds(fn, a, b, backward: bool) -> float:
    start = time.perf_counter()
    h = fn(a, b)
    if backward:
        h.sum().backward()
    return time.perf_counter() - start


def benchmark(lengths=LENGTHS, batch=8, dim=64, rounds=7, backward=False, seed=0):
    """``{L: {"loop": [s, …], "scan": [s, …]}}``: seconds per call, one entry per
    round, the two functions alternating within each round after one warm-up call."""
    torch.manual_seed(seed)
    times = {}
    for L in lengths:
        a = (torch.rand(L, batch, dim) * 0.5 + 0.5).requires_grad_(backward)
        b = torch.randn(L, batch, dim).requires_grad_(backward)
        for fn in FUNCTIONS.values():  # warm-up
            _seconds(fn, a, b, backward)
        times[L] = {name: [] for name in FUNCTIONS}
        for _ in range(rounds):
            for name, fn in FUNCTIONS.items():
                times[L][name].append(_seconds(fn, a, b, backward))
    return times


def table(times: dict) -> str:
    """One row per length: median times and the median of the paired ratios."""
    rows = [
        f"{'L':>6} {'rounds':>6} {'loop (ms)':>10} {'scan (ms)':>10} {'loop/scan':>10}"
    ]
    for L, t in times.items():
        ratios = [lo / sc for lo, sc in zip(t["loop"], t["scan"], strict=True)]
        rows.append(
            f"{L:6d} {math.ceil(math.log2(L)):6d} "
            f"{1e3 * statistics.median(t['loop']):10.2f} "
            f"{1e3 * statistics.median(t['scan']):10.2f} "
            f"{statistics.median(ratios):10.2f}"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--backward", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    times = benchmark(args.lengths, args.batch, args.dim, args.rounds, args.backward)
    what = "forward and backward" if args.backward else "forward"
    print(
        f"linear recurrence, {what}, B={args.batch}, D={args.dim}, "
        f"{torch.get_num_threads()} threads"
    )
    print(table(times))


if __name__ == "__main__":
    main()
