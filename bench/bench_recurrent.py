"""Training-step time of the from-scratch LSTM and GRU against ``nn.LSTM`` and
``nn.GRU`` (CPU).

Run from the repository root, with the machine as idle as possible::

    .venv/bin/python bench/bench_recurrent.py            # L=100, B=64, D=64, H=256, 15
    rounds .venv/bin/python bench/bench_recurrent.py --rounds 5 --threads 1

One training step is a forward pass over the whole sequence, a scalar loss and the
backward pass. Each PyTorch layer is timed twice: as it runs by default, where
``nn.LSTM`` calls oneDNN's fused RNN primitive (``aten::mkldnn_rnn_layer``), and inside
``torch.backends.mkldnn.flags(enabled=False)``, where the same ``nn.LSTM`` takes ATen's
unfused path (one matrix product per step, differentiated by autograd). ``nn.GRU`` has
no oneDNN path on the CPU, so its two timings measure the same code, a control for the
noise. The companion layers call neither kernel.

The six steps run in turn within a round (so a burst of load on a shared machine hits
all of them), after warm-up rounds. A *pair* is the companion's step and its reference's
step of the same round; the ratios reported are the medians over rounds of the per-round
ratios. Targets: LSTM at most 1.5 x the fused ``nn.LSTM`` and 1.15 x the unfused one,
GRU at most 1.25 x."""

import argparse
import contextlib
import statistics
import time
import warnings

import torch
from torch import nn

from companion.recurrent import GRU, LSTM

# (row name, model key, oneDNN enabled); the companion rows run with PyTorch's defaults
ROWS = (
    ("nn.LSTM, oneDNN", "nn.LSTM", True),
    ("nn.LSTM, no oneDNN", "nn.LSTM", False),
    ("companion LSTM", "companion LSTM", True),
    ("nn.GRU", "nn.GRU", True),
    ("nn.GRU, no oneDNN", "nn.GRU", False),
    ("companion GRU", "companion GRU", True),
)
# (companion row, reference row) pairs whose ratios are reported, with their targets
PAIRS = (
    ("companion LSTM", "nn.LSTM, oneDNN", 1.5),
    ("companion LSTM", "nn.LSTM, no oneDNN", 1.15),
    ("companion GRU", "nn.GRU", 1.25),
    ("companion GRU", "nn.GRU, no oneDNN", 1.25),
)


@contextlib.contextmanager
def onednn(enabled: bool):
    """Run the block with oneDNN's CPU kernels enabled (PyTorch's default) or
    disabled."""
    with warnings.catch_warnings():
        # Setting the flags warns about TF32 on Intel GPUs, which a CPU build does not
        # have.
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=enabled):
            yield


def _step(module: nn.Module, x: torch.Tensor, enabled: bool) -> float:
    """Seconds for one forward + backward pass of ``module`` on ``x (L, B, D)``."""
    module.zero_grad(set_to_none=True)
    with onednn(enabled):
        start = time.perf_counter()
        out = module(x)
        out = out[0] if isinstance(out, tuple) else out
        out.pow(2).mean().backward()
        return time.perf_counter() - start


def benchmark(
    seq_len: int = 100,
    batch: int = 64,
    input_dim: int = 64,
    hidden: int = 256,
    rounds: int = 15,
    warmup: int = 3,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Training-step times in milliseconds of every row of ``ROWS``, one list entry per
    round."""
    torch.manual_seed(seed)
    x = torch.randn(seq_len, batch, input_dim)
    models = {
        "nn.LSTM": nn.LSTM(input_dim, hidden),
        "nn.GRU": nn.GRU(input_dim, hidden),
    }
    models["companion LSTM"] = LSTM(input_dim, hidden, 1).load_torch(models["nn.LSTM"])
    models["companion GRU"] = GRU(input_dim, hidden, 1).load_torch(models["nn.GRU"])
    times: dict[str, list[float]] = {row: [] for row, _, _ in ROWS}
    for r in range(warmup + rounds):
        for row, key, enabled in ROWS:
            seconds = _step(models[key], x, enabled)
            if r >= warmup:
                times[row].append(1000 * seconds)
    return times


def ratios(times: dict[str, list[float]]) -> dict[tuple[str, str], float]:
    """Median over rounds of the per-round ratio companion / reference, for each of
    ``PAIRS``."""
    return {
        (ours, ref): statistics.median(
            a / b for a, b in zip(times[ours], times[ref], strict=True)
        )
        for ours, ref, _ in PAIRS
    }


def table(times: dict[str, list[float]]) -> str:
    """The median times, their spread over rounds, and the paired ratios against the
    targets."""
    rows = [f"{'layer':<20}{'median ms':>10}{'min-max ms':>16}"]
    for row, _, _ in ROWS:
        t = times[row]
        rows.append(
            f"{row:<20}{statistics.median(t):>10.1f}{min(t):>8.1f}-{max(t):<7.1f}"
        )
    rows.append("")
    for (ours, ref), ratio in ratios(times).items():
        target = dict(((o, r), g) for o, r, g in PAIRS)[ours, ref]
        rows.append(f"{ours} / {ref}: {ratio:.2f} (target <= {target})")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads (default: PyTorch's choice)",
    )
    parser.add_argument("--hidden", type=int, default=256)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    times = benchmark(hidden=args.hidden, rounds=args.rounds, warmup=args.warmup)
    print(
        f"L=100, B=64, D=64, H={args.hidden}, {torch.get_num_threads()} threads, "
        f"{args.rounds} rounds, torch {torch.__version__}"
    )
    print(table(times))


if __name__ == "__main__":
    main()
