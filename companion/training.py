"""A small, model-independent training loop: progress bar, evaluation, clipping, TensorBoard.

The loop knows nothing about the model: the caller gives ``loss_fn(model, batch) -> loss``
(a scalar tensor), so the same ``fit`` trains a classifier, a forecaster or a language model.
"""

import math
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

LossFn = Callable[[nn.Module, object], torch.Tensor]


def tensorboard_dir(name: str) -> Path:
    """A fresh, empty folder ``_build/tensorboard/<name>`` for one run's TensorBoard logs.

    The folder is under the repository root (the folder holding ``_config.yml`` next to this
    package), or under the working directory when the package is installed elsewhere, so a
    chapter writes to the same place whether it runs in ``book/``, in a student folder or in
    a build. Open the logs with ``tensorboard --logdir _build/tensorboard``.
    """
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"expected a plain folder name, got {name!r}")
    root = Path(__file__).resolve().parents[1]
    if not (root / "_config.yml").is_file():
        root = Path.cwd()
    path = root / "_build" / "tensorboard" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def gradient_norm(model: nn.Module) -> float:
    """Euclidean norm of all parameter gradients of ``model`` taken together (0 if none)."""
    norms = [p.grad.detach().norm() for p in model.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


def train_epoch(model: nn.Module, batches: Iterable, loss_fn: LossFn,
                optimizer: torch.optim.Optimizer, clip: float | None = None) -> dict:
    """One pass over ``batches``; returns the mean loss and the mean gradient norm.

    With ``clip`` the gradient is rescaled to norm ``clip`` when it is larger (norm clipping,
    Pascanu et al. 2013); the norm reported is the one measured before clipping.
    """
    if clip is not None and not clip > 0:
        raise ValueError(f"expected clip > 0 or None, got {clip}")
    model.train()
    total, norms, count = 0.0, 0.0, 0
    for batch in batches:
        optimizer.zero_grad()
        loss = loss_fn(model, batch)
        loss.backward()
        if clip is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip))
        else:
            norm = gradient_norm(model)
        optimizer.step()
        total, norms, count = total + float(loss.detach()), norms + norm, count + 1
    if count == 0:
        raise ValueError("expected at least one batch, got an empty iterable")
    return {"loss": total / count, "grad_norm": norms / count}


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable, loss_fn: LossFn) -> float:
    """Mean of ``loss_fn`` over ``batches`` in evaluation mode, without gradients."""
    model.eval()
    values = [float(loss_fn(model, batch)) for batch in batches]
    if not values:
        raise ValueError("expected at least one batch, got an empty iterable")
    return sum(values) / len(values)


def fit(model: nn.Module, train_batches: Iterable, loss_fn: LossFn,
        optimizer: torch.optim.Optimizer, epochs: int, *,
        test_batches: Iterable | None = None, metrics: dict[str, LossFn] | None = None,
        clip: float | None = None, writer=None, progress: bool = True,
        desc: str = "training") -> dict[str, list[float]]:
    """Train for ``epochs`` epochs and return the history, one value per epoch.

    ``history["train_loss"]`` and ``history["grad_norm"]`` always; ``history["test_loss"]``
    when ``test_batches`` is given, and ``history[name]`` for each extra metric in
    ``metrics`` (each evaluated on ``test_batches`` like the loss). With a TensorBoard
    ``writer`` (``torch.utils.tensorboard.SummaryWriter``) every value is logged under its
    name at each epoch. ``train_batches`` must be re-iterable (a list or a ``DataLoader``).
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"expected epochs to be a positive int, got {epochs!r}")
    metrics = metrics or {}
    if metrics and test_batches is None:
        raise ValueError("expected test_batches when metrics are given")
    history: dict[str, list[float]] = {"train_loss": [], "grad_norm": []}
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=True)
    for epoch in bar:
        stats = train_epoch(model, train_batches, loss_fn, optimizer, clip)
        row = {"train_loss": stats["loss"], "grad_norm": stats["grad_norm"]}
        if test_batches is not None:
            row["test_loss"] = evaluate(model, test_batches, loss_fn)
            for name, fn in metrics.items():
                row[name] = evaluate(model, test_batches, fn)
        for name, value in row.items():
            history.setdefault(name, []).append(value)
            if writer is not None:
                writer.add_scalar(name, value, epoch)
        if not math.isfinite(row["train_loss"]):
            bar.close()
            break
        bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()})
    return history
