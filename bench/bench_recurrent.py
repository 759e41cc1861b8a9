"""Training-step time of the from-scratch LSTM and GRU against ``nn.LSTM`` and ``nn.GRU`` (CPU).

Run from the repository root, with the machine otherwise idle and the default thread count::

    .venv/bin/python bench/bench_recurrent.py            # L=100, B=64, D=64, H=256, 15 rounds
    .venv/bin/python bench/bench_recurrent.py --rounds 5 --threads 1

One training step is a forward pass over the whole sequence, a scalar loss and the backward
pass. The four models are timed side by side, one step each in turn per round (so a burst of
load on a shared machine hits all of them), after warm-up rounds; the table gives the median
over rounds and the ratio of each companion layer to its PyTorch counterpart (target: at most
1.25). ``nn.LSTM`` runs PyTorch's fused CPU kernel (oneDNN when available); ``nn.GRU`` runs
ATen's C++ loop. The companion layers call neither.
"""

import argparse
import statistics
import time

import torch
from torch import nn

from companion.recurrent import GRU, LSTM


def _step(module: nn.Module, x: torch.Tensor) -> None:
    module.zero_grad(set_to_none=True)
    out = module(x)
    out = out[0] if isinstance(out, tuple) else out
    out.pow(2).mean().backward()


def benchmark(seq_len: int = 100, batch: int = 64, input_dim: int = 64, hidden: int = 256,
              rounds: int = 15, warmup: int = 3, seed: int = 0) -> dict[str, float]:
    """Median training-step time in milliseconds of each model, timed round-robin."""
    torch.manual_seed(seed)
    x = torch.randn(seq_len, batch, input_dim)
    models = {"nn.LSTM": nn.LSTM(input_dim, hidden), "nn.GRU": nn.GRU(input_dim, hidden)}
    models["companion LSTM"] = LSTM(input_dim, hidden, 1).load_torch(models["nn.LSTM"])
    models["companion GRU"] = GRU(input_dim, hidden, 1).load_torch(models["nn.GRU"])
    times: dict[str, list[float]] = {name: [] for name in models}
    for r in range(warmup + rounds):
        for name, module in models.items():
            start = time.perf_counter()
            _step(module, x)
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def table(ms: dict[str, float]) -> str:
    """The timings as a text table with the companion/PyTorch ratios."""
    rows = [f"{'model':<16}{'ms/step':>9}{'ratio':>8}"]
    for name, reference in (("nn.LSTM", None), ("companion LSTM", "nn.LSTM"),
                            ("nn.GRU", None), ("companion GRU", "nn.GRU")):
        ratio = f"{ms[name] / ms[reference]:.2f}" if reference else ""
        rows.append(f"{name:<16}{ms[name]:>9.1f}{ratio:>8}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: PyTorch's choice)")
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    ms = benchmark(hidden=args.hidden, rounds=args.rounds, warmup=args.warmup)
    print(f"L=100, B=64, D=64, H={args.hidden}, {torch.get_num_threads()} threads, "
          f"median of {args.rounds} rounds, torch {torch.__version__}")
    print(table(ms))


if __name__ == "__main__":
    main()
