"""Speed of the companion attention against PyTorch's fused kernel, forward + backward.

Times ``companion.attention.scaled_dot_product_attention`` and
``torch.nn.functional.scaled_dot_product_attention`` on the same ``(B, h, L, d_head)``
inputs, with and without the causal mask, and prints the ratio companion / torch
(target: <= 1.2 at B=32, heads=4, L=128, d=128). The two are called alternately and the
median time of each is kept, so a background load slows both alike.

Usage: ``python bench/bench_attention.py [--repeats 50] [--max-ratio 1.2]``;
the exit status is 1 when a ratio exceeds ``--max-ratio``.
"""

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from companion.attention import causal_mask, scaled_dot_product_attention


def compare(
    batch=32, heads=4, length=128, d_model=128, causal=False, repeats=50, seed=0
) -> dict:
    """Median seconds per forward+backward of both implementations, and their ratio.

    The two are called in pairs, ``repeats`` pairs after a warm-up, each call timed on
    its own, the order within a pair alternating. The ratio is the median of the
    ratios within pairs: the two calls of a pair run back to back, so a change of load
    on the machine hits both alike, and the median ignores the pairs that an
    interruption split."""
    torch.manual_seed(seed)
    shape = (batch, heads, length, d_model // heads)
    inputs = [torch.randn(shape, requires_grad=True) for _ in range(3)]
    grad = torch.randn(shape)
    mask = causal_mask(length) if causal else None
    implementations = {
        "companion": lambda q, k, v: scaled_dot_product_attention(q, k, v, mask)[0],
        "torch": lambda q, k, v: F.scaled_dot_product_attention(
            q, k, v, is_causal=causal
        ),
    }
    times = {name: [] for name in implementations}
    for i in range(repeats + 3):
        pair = list(implementations.items())
        for name, fn in pair if i % 2 else pair[::-1]:
            start = time.perf_counter()
            fn(*inputs).backward(grad)
            if i >= 3:  # the first calls are a warm-up
                times[name].append(time.perf_counter() - start)
    result = {name: statistics.median(values) for name, values in times.items()}
    result["ratio"] = statistics.median(
        ours / theirs
        for ours, theirs in zip(times["companion"], times["torch"], strict=True)
    )
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--max-ratio", type=float, default=1.2)
    args = parser.parse_args(argv)
    print(
        f"B=32 heads=4 L=128 d=128, forward+backward, {torch.get_num_threads()} threads"
    )
    worst = 0.0
    for causal in (False, True):
        r = compare(causal=causal, repeats=args.repeats)
        worst = max(worst, r["ratio"])
        print(
            f"{'causal' if causal else 'full  '}  companion {r['companion'] * 1e3:7.2f} ms  "  # noqa: E501
            f"torch {r['torch'] * 1e3:7.2f} ms  ratio {r['ratio']:.2f}"
        )
    print(f"worst ratio {worst:.2f} (target <= {args.max_ratio})")
    return 0 if worst <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
