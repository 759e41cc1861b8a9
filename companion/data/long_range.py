"""Two synthetic long-range tasks, generated on the fly, and the loss of their best blind guess.

* **Adding problem** (Hochreiter & Schmidhuber 1997, experiment 4): the input has two channels,
  values drawn uniformly in ``[0, 1]`` and a marker that is 1 at exactly two steps and 0
  elsewhere; the target is the sum of the two marked values. Here both markers fall in the first
  half of the sequence, so the network must carry them for at least ``L - L // 2`` steps. A
  constant prediction can do no better than predicting the mean, 1, whose mean squared error is
  the variance of a sum of two uniforms: ``2 / 12 = 1 / 6``.
* **Copy memory** (Arjovsky, Shah & Bengio 2016): ``n_copy`` symbols drawn from an
  alphabet of ``n_symbols``, then ``delay - 1`` blanks, a delimiter and ``n_copy`` more blanks;
  the network must output blanks until the delimiter has been read, then the ``n_copy`` symbols
  in order. A network without memory outputs blanks, then a uniform guess at each of the last
  ``n_copy`` steps: its mean cross-entropy per step is ``n_copy log(n_symbols) / (delay +
  2 n_copy)``.

Inputs are float tensors ``(L, B, D)`` ready for any recurrent layer of the book.
``memoryless_cross_entropy`` estimates a memoryless baseline from sampled targets (Monte Carlo).
"""

import math

import torch

from companion.checks import check_integer, check_positive_int, check_shape

ADDING_BASELINE_MSE = 1 / 6


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"expected generator to be a torch.Generator or None, "
                        f"got {type(generator).__name__}")


def adding_problem(seq_len: int, batch_size: int, generator: torch.Generator | None = None):
    """A batch of the adding problem: ``x (L, B, 2)`` float and the target ``y (B,)``.

    ``x[..., 0]`` holds the values, uniform in ``[0, 1]``; ``x[..., 1]`` is 1 at two distinct
    steps drawn uniformly among the first ``L // 2`` and 0 elsewhere; ``y`` is the sum of the two
    marked values. ``seq_len`` must be at least 4 so that the first half holds two steps.
    """
    check_positive_int("seq_len", seq_len, 4)
    check_positive_int("batch_size", batch_size)
    _check_generator(generator)
    values = torch.rand(seq_len, batch_size, generator=generator)
    # argsort of uniform noise gives a uniform random permutation; its first two entries are
    # two distinct positions.
    noise = torch.rand(seq_len // 2, batch_size, generator=generator)
    positions = noise.argsort(dim=0)[:2]
    markers = torch.zeros(seq_len, batch_size)
    markers.scatter_(0, positions, 1.0)
    x = torch.stack([values, markers], dim=-1)
    y = (values * markers).sum(dim=0)
    return x, y


def copy_memory(delay: int, batch_size: int, n_symbols: int = 8, n_copy: int = 10,
                generator: torch.Generator | None = None):
    """A batch of the copy-memory task: one-hot inputs ``x (L, B, n_symbols + 2)`` and the
    target classes ``y (L, B)`` (long), with ``L = delay + 2 n_copy``.

    Input categories: 0 is the blank, ``1..n_symbols`` the symbols, ``n_symbols + 1`` the
    delimiter, found at step ``n_copy + delay - 1``. Target classes: 0 (blank) everywhere except
    the last ``n_copy`` steps, which hold the first ``n_copy`` input symbols.
    """
    check_positive_int("delay", delay)
    check_positive_int("batch_size", batch_size)
    check_positive_int("n_symbols", n_symbols, 2)
    check_positive_int("n_copy", n_copy)
    _check_generator(generator)
    seq_len = delay + 2 * n_copy
    symbols = torch.randint(1, n_symbols + 1, (n_copy, batch_size), generator=generator)
    tokens = torch.zeros(seq_len, batch_size, dtype=torch.long)
    tokens[:n_copy] = symbols
    tokens[n_copy + delay - 1] = n_symbols + 1
    target = torch.zeros(seq_len, batch_size, dtype=torch.long)
    target[-n_copy:] = symbols
    x = torch.nn.functional.one_hot(tokens, n_symbols + 2).float()
    return x, target


def copy_memory_baseline(delay: int, n_symbols: int = 8, n_copy: int = 10) -> float:
    """Mean cross-entropy per step (nats) of the memoryless strategy on ``copy_memory``:
    ``n_copy log(n_symbols) / (delay + 2 n_copy)``."""
    check_positive_int("delay", delay)
    check_positive_int("n_symbols", n_symbols, 2)
    check_positive_int("n_copy", n_copy)
    return n_copy * math.log(n_symbols) / (delay + 2 * n_copy)


def memoryless_cross_entropy(targets: torch.Tensor, n_classes: int) -> float:
    """Mean cross-entropy per step (nats) of the best predictor that knows the step index but
    remembers none of the inputs, estimated on sampled ``targets (L, B)`` (long classes).

    That predictor outputs, at step ``t``, the distribution of the target at ``t`` over the
    batch (its empirical marginal); on ``copy_memory`` targets this estimates
    ``copy_memory_baseline``.
    """
    check_positive_int("n_classes", n_classes, 2)
    check_integer("targets", targets)
    check_shape("targets", targets, ("L", "B"))
    if targets.numel() and (targets.min() < 0 or targets.max() >= n_classes):
        raise ValueError(f"expected targets in [0, {n_classes}), got values in "
                         f"[{int(targets.min())}, {int(targets.max())}]")
    one_hot = torch.nn.functional.one_hot(targets, n_classes).float()
    marginals = one_hot.mean(1, keepdim=True)  # (L, 1, n_classes): the prediction at each step
    return float(-(one_hot * marginals.clamp_min(1e-12).log()).sum(-1).mean())
