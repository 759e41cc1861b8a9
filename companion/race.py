"""A race at equal compute: train several models for the same CPU time (chapter 8).

Wall-clock time depends on whatever else the machine is doing, so each model is charged the
CPU time of the calling thread (``time.thread_time``) during its own training steps; run
PyTorch on one thread (``torch.set_num_threads(1)``) so that this time is all of its work.
The models train in alternation, one step each on the same batch, so that neither is
favoured by a change of conditions; the faster one simply makes more steps. Evaluation is not
charged.
"""

import itertools
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn
from tqdm import tqdm

from companion.language_model import lm_loss

Curve = list[tuple[float, int, float]]


def race(models: dict[str, nn.Module], train_batches: Sequence,
         evaluate: Callable[[nn.Module], float], budget: float = 6.0, every: float = 1.0,
         lr: float = 1e-2, clip: float = 1.0,
         loss_fn: Callable[[nn.Module, object], torch.Tensor] = lm_loss) -> dict[str, Curve]:
    """Alternate one Adam step per model until each has used ``budget`` CPU seconds.

    Step ``s`` trains every model still under budget on ``train_batches[s % len]`` with
    ``loss_fn(model, batch)``, gradient norm clipped to ``clip``. ``evaluate(model)`` is
    called at the start, about every ``every`` CPU seconds of a model, and at its end.
    Returns, for each name, the curve ``[(cpu_seconds, steps, evaluate(model)), ...]``,
    starting at ``(0.0, 0, ...)``.
    """
    if not isinstance(models, dict) or not models:
        raise TypeError(f"expected models to be a non-empty dict of name -> nn.Module, "
                        f"got {models!r}")
    for name, model in models.items():
        if not isinstance(model, nn.Module):
            raise TypeError(f"expected models[{name!r}] to be an nn.Module, "
                            f"got {type(model).__name__}")
    if not isinstance(train_batches, Sequence) or len(train_batches) == 0:
        raise ValueError("expected train_batches to be a non-empty sequence of batches")
    if not callable(evaluate):
        raise TypeError(f"expected evaluate to be callable, got {type(evaluate).__name__}")
    for name, value in (("budget", budget), ("every", every), ("lr", lr), ("clip", clip)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"expected {name} to be a positive number, got {value!r}")
    optimizers = {name: torch.optim.Adam(m.parameters(), lr=lr) for name, m in models.items()}
    spent = dict.fromkeys(models, 0.0)
    curves = {name: [(0.0, 0, evaluate(m))] for name, m in models.items()}
    total = budget * len(models)
    with tqdm(total=total, desc="race (CPU s)", mininterval=5.0,
              bar_format="{l_bar}{bar} {n:.0f}/{total:.0f} s") as bar:
        for step in itertools.count():
            batch = train_batches[step % len(train_batches)]
            for name, model in models.items():
                if spent[name] >= budget:
                    continue
                start = time.thread_time()
                optimizers[name].zero_grad()
                loss_fn(model, batch).backward()
                nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizers[name].step()
                elapsed = time.thread_time() - start
                spent[name] += elapsed
                bar.update(min(elapsed, total - bar.n))
                if spent[name] >= every * len(curves[name]) or spent[name] >= budget:
                    curves[name].append((spent[name], step + 1, evaluate(model)))
            if all(s >= budget for s in spent.values()):
                return curves
