"""Small, model-independent training loops: ``fit`` and a race at equal compute.

The loops know nothing about the model: the caller gives
``loss_fn(model, batch) -> loss`` (a scalar tensor), so the same ``fit`` trains a
classifier, a forecaster or a language model. ``fit`` runs epochs with a progress bar,
evaluation, gradient-norm clipping (Pascanu, Mikolov & Bengio 2013) and TensorBoard
logging; ``count_parameters`` sizes a model.

``race`` (chapter 8) trains several models for the same CPU time. Wall-clock time
depends on whatever else the machine is doing, so each model is charged the CPU time of
the calling thread (``time.thread_time``) during its own training steps; run PyTorch on
one thread (``torch.set_num_threads(1)``) so that this time is all of its work. The
models train in alternation, one step each on the same batch, so that neither is
favoured by a change of conditions; the faster one simply makes more steps. Evaluation
is not charged."""

import contextlib
import itertools
import math
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from companion.checks import check_positive_int, check_real

LossFn = Callable[[nn.Module, object], torch.Tensor]
Curve = list[tuple[float, int, float]]


def _check_callable(name: str, fn) -> None:
    if not callable(fn):
        raise TypeError(f"expected {name} to be callable, got {type(fn).__name__}")


def _check_module(name: str, model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"expected {name} to be a torch.nn.Module, got {type(model).__name__}"
        )


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """``with eval_mode(model):`` runs the block in evaluation mode (no dropout) and
    without gradients, then gives the model back the mode it had, even after an
    error."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters of ``model`` (every entry of every parameter
    tensor)."""
    _check_module("model", model)
    return sum(p.numel() for p in model.parameters())


def tensorboard_dir(name: str) -> Path:
    """A fresh, empty folder ``_build/tensorboard/<name>`` for one run's TensorBoard
    logs.

    The folder is under the repository root (the folder holding ``_config.yml`` next to
    this package), or under the working directory when the package is installed
    elsewhere, so a chapter writes to the same place whether it runs in ``book/``, in a
    student folder or in a build. Open the logs with
    ``tensorboard --logdir _build/tensorboard``."""
    if not isinstance(name, str):
        raise TypeError(
            f"expected name to be a folder name (str), got {type(name).__name__}"
        )
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"expected name to be a plain folder name, got {name!r}")
    root = Path(__file__).resolve().parents[1]
    if not (root / "_config.yml").is_file():
        root = Path.cwd()
    path = root / "_build" / "tensorboard" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def gradient_norm(model: nn.Module) -> float:
    """Euclidean norm of all parameter gradients of ``model`` taken together (0 if
    none)."""
    _check_module("model", model)
    return _gradient_norm(model)


def _gradient_norm(model: nn.Module) -> float:
    norms = [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


def train_epoch(
    model: nn.Module,
    batches: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    clip: float | None = None,
) -> dict:
    """One pass over ``batches``; returns the mean loss and the mean gradient norm.

    With ``clip`` the gradient is rescaled to norm ``clip`` when it is larger (norm
    clipping, Pascanu et al. 2013); the norm reported is the one measured before
    clipping."""
    _check_loop(model, loss_fn, optimizer, clip)
    return _train_epoch(model, batches, loss_fn, optimizer, clip)


def _check_loop(model, loss_fn, optimizer, clip) -> None:
    _check_module("model", model)
    _check_callable("loss_fn", loss_fn)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"expected optimizer to be a torch.optim.Optimizer, "
            f"got {type(optimizer).__name__}"
        )
    if clip is not None:
        check_real("clip", clip, 0, low_open=True)


def _train_epoch(model, batches, loss_fn, optimizer, clip) -> dict:
    model.train()
    total, norms, count = 0.0, 0.0, 0
    for batch in batches:
        optimizer.zero_grad()
        loss = loss_fn(model, batch)
        loss.backward()
        if clip is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip))
        else:
            norm = _gradient_norm(model)
        optimizer.step()
        total, norms, count = total + float(loss.detach()), norms + norm, count + 1
    if count == 0:
        raise ValueError(
            "expected the training batches to hold at least one batch, got none"
        )
    return {"loss": total / count, "grad_norm": norms / count}


def evaluate(model: nn.Module, batches: Iterable, loss_fn: LossFn) -> float:
    """Mean of ``loss_fn`` over ``batches`` in evaluation mode, without gradients."""
    _check_module("model", model)
    _check_callable("loss_fn", loss_fn)
    return _evaluate(model, batches, loss_fn)


@torch.no_grad()
def _evaluate(model, batches, loss_fn) -> float:
    model.eval()
    values = [float(loss_fn(model, batch)) for batch in batches]
    if not values:
        raise ValueError(
            "expected the evaluation batches to hold at least one batch, got none"
        )
    return sum(values) / len(values)


def fit(
    model: nn.Module,
    train_batches: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    test_batches: Iterable | None = None,
    metrics: dict[str, LossFn] | None = None,
    clip: float | None = None,
    writer=None,
    progress: bool = True,
    desc: str = "training",
) -> dict[str, list[float]]:
    """Train for ``epochs`` epochs and return the history, one value per epoch.

    ``history["train_loss"]`` and ``history["grad_norm"]`` always;
    ``history["test_loss"]`` when ``test_batches`` is given, and ``history[name]`` for
    each extra metric in ``metrics`` (each evaluated on ``test_batches`` like the loss).
    With a TensorBoard ``writer`` (``torch.utils.tensorboard.SummaryWriter``) every
    value is logged under its name at each epoch. ``train_batches`` must be re-iterable
    (a list or a ``DataLoader``)."""
    _check_loop(model, loss_fn, optimizer, clip)
    check_positive_int("epochs", epochs)
    metrics = metrics or {}
    if metrics and test_batches is None:
        raise ValueError("expected test_batches when metrics are given")
    for name, fn in metrics.items():
        _check_callable(f"metrics[{name!r}]", fn)
    history: dict[str, list[float]] = {"train_loss": [], "grad_norm": []}
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=True)
    for epoch in bar:
        stats = _train_epoch(model, train_batches, loss_fn, optimizer, clip)
        row = {"train_loss": stats["loss"], "grad_norm": stats["grad_norm"]}
        if test_batches is not None:
            row["test_loss"] = _evaluate(model, test_batches, loss_fn)
            for name, fn in metrics.items():
                row[name] = _evaluate(model, test_batches, fn)
        for name, value in row.items():
            history.setdefault(name, []).append(value)
            if writer is not None:
                writer.add_scalar(name, value, epoch)
        if not math.isfinite(row["train_loss"]):
            bar.close()
            break
        bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()})
    return history


def _check_race(models, train_batches, loss_fn, evaluate, numbers: dict) -> None:
    if not isinstance(models, dict) or not models:
        raise TypeError(
            f"expected models to be a non-empty dict of name -> nn.Module, "
            f"got {models!r}"
        )
    for name, model in models.items():
        _check_module(f"models[{name!r}]", model)
    if not isinstance(train_batches, Sequence):
        raise TypeError(
            f"expected train_batches to be a sequence of batches (a list), "
            f"got {type(train_batches).__name__}"
        )
    if len(train_batches) == 0:
        raise ValueError("expected train_batches to hold at least one batch, got none")
    _check_callable("loss_fn", loss_fn)
    _check_callable("evaluate", evaluate)
    for name, value in numbers.items():
        check_real(name, value, 0, low_open=True)


def race(
    models: dict[str, nn.Module],
    train_batches: Sequence,
    loss_fn: LossFn,
    evaluate: Callable[[nn.Module], float],
    budget: float = 6.0,
    every: float = 1.0,
    lr: float = 1e-2,
    clip: float = 1.0,
) -> dict[str, Curve]:
    """Alternate one Adam step per model until each has used ``budget`` CPU seconds.

    Step ``s`` trains every model still under budget on ``train_batches[s % len]``
    with ``loss_fn(model, batch)``, gradient norm clipped to ``clip``.
    ``evaluate(model)`` is called at the start, about every ``every`` CPU seconds of
    a model, and at its end. Returns, for each name, the curve
    ``[(cpu_seconds, steps, evaluate(model)), ...]``, starting at ``(0.0, 0, ...)``.
    """
    _check_race(
        models,
        train_batches,
        loss_fn,
        evaluate,
        {"budget": budget, "every": every, "lr": lr, "clip": clip},
    )
    optimizers = {
        name: torch.optim.Adam(m.parameters(), lr=lr) for name, m in models.items()
    }
    spent = dict.fromkeys(models, 0.0)
    curves = {name: [(0.0, 0, evaluate(m))] for name, m in models.items()}
    total = budget * len(models)
    with tqdm(
        total=total,
        desc="race (CPU s)",
        mininterval=5.0,
        bar_format="{l_bar}{bar} {n:.0f}/{total:.0f} s",
    ) as bar:
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
