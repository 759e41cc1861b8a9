"""Small, model-independent training loops: ``fit`` and a race at equal compute.

The loops know nothing about the model: the caller gives
``loss_fn(model, batch) -> loss`` (a scalar tensor), so the same ``fit`` trains a
classifier, a forecaster or a language model. ``fit`` runs epochs with a progress bar,
evaluation, gradient-norm clipping (Pascanu, Mikolov & Bengio 2013) and TensorBoard
logging, and, given a validation set, early stopping: it keeps the weights of the epoch
with the lowest validation loss and stops once ``patience`` epochs in a row have not
lowered it (Prechelt 1998; Goodfellow, Bengio & Courville 2016, algorithm 7.1);
``count_parameters`` sizes a model.

``race`` (chapter 8) trains several models for the same CPU time. Wall-clock time
depends on whatever else the machine is doing, so each model is charged the CPU time of
the calling thread (``time.thread_time``) during its own training steps; run PyTorch on
one thread (``torch.set_num_threads(1)``) so that this time is all of its work. The
models train in alternation, one step each on the same batch, so that neither is
favoured by a change of conditions; the faster one simply makes more steps. Evaluation
is not charged."""

import itertools
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from companion.checks import Call, Int, Is, Real, checked

LossFn = Callable[[nn.Module, object], torch.Tensor]
Curve = list[tuple[float, int, float]]

MODEL = Is(nn.Module)
POSITIVE = Real(0, low_open=True)
CLIP = Real(0, low_open=True, optional=True)  # None: no clipping
OPTIMIZER = Is(torch.optim.Optimizer)
FIT = dict(model=MODEL, loss_fn=Call(), optimizer=OPTIMIZER, epochs=Int(), clip=CLIP)
BATCHES = Is((Sequence, DataLoader), True, "a list or a DataLoader of batches")


@checked(model=MODEL)
def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters of ``model`` (every entry of every parameter
    tensor)."""
    return sum(p.numel() for p in model.parameters())


def _check_name(door) -> None:
    name = door.args["name"]
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"expected name to be a plain folder name, got {name!r}")


def _running(pid: int) -> bool:
    """Whether the process ``pid`` of this machine is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


@checked(_check_name, name=Is(str))
def tensorboard_dir(name: str) -> Path:
    """A new, empty folder ``_build/tensorboard/<name>/<run>`` for this run's
    TensorBoard logs.

    ``<run>`` is unique to the call: date and time, process id and a random suffix,
    e.g. ``20250101-120000-pid4242-x1y2``. Two runs of a page at once (two builds, a
    build and a student) never write into, or empty, each other's folder, and each
    reads back its own files. Folders left under ``<name>`` by earlier calls of this
    process, or by processes that have ended, are removed: a page keeps one folder per
    live run.

    ``_build`` is at the repository root (the folder holding ``_config.yml`` next to
    this package), or under the working directory when the package is installed
    elsewhere, so a chapter writes to the same place whether it runs in ``book/``, in a
    student folder or in a build. Open the logs with
    ``tensorboard --logdir _build/tensorboard/<name>``."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "_config.yml").is_file():
        root = Path.cwd()
    parent = root / "_build" / "tensorboard" / name
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.glob("*-pid*-*"):
        pid = old.name.split("-pid")[1].split("-")[0]
        if pid.isdigit() and (int(pid) == os.getpid() or not _running(int(pid))):
            shutil.rmtree(old, ignore_errors=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-pid{os.getpid()}-", dir=parent))


def _train_epoch(model, batches, loss_fn, optimizer, clip) -> dict:
    """One pass over ``batches``: the mean loss, and the mean gradient norm (measured
    before clipping)."""
    model.train()
    total, norms, count = 0.0, 0.0, 0
    for batch in batches:
        optimizer.zero_grad()
        loss = loss_fn(model, batch)
        loss.backward()
        if clip is not None:
            norm = nn.utils.clip_grad_norm_(model.parameters(), clip)
        else:
            norm = nn.utils.get_total_norm(
                [p.grad for p in model.parameters() if p.grad is not None]
            )
        optimizer.step()
        total, norms, count = (
            total + float(loss.detach()),
            norms + float(norm),
            count + 1,
        )
    if count == 0:
        raise ValueError("expected the training batches to hold a batch, got none")
    return {"loss": total / count, "grad_norm": norms / count}


@checked(model=MODEL, loss_fn=Call())
@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable, loss_fn: LossFn) -> float:
    """Mean of ``loss_fn`` over ``batches`` in evaluation mode, without gradients."""
    model.eval()
    values = [float(loss_fn(model, batch)) for batch in batches]
    if not values:
        raise ValueError("expected the evaluation batches to hold a batch, got none")
    return sum(values) / len(values)


class History(dict):
    """What ``fit`` returns: a dict of curves, one value per epoch, and two attributes.

    ``best_epoch``: the epoch (from 0) of the lowest validation loss, ``None`` without
    a validation set; ``stopped_early``: whether ``patience`` ended the training."""

    best_epoch: int | None = None
    stopped_early: bool = False


def _check_metrics(door) -> None:
    metrics, validation = door.args["metrics"] or {}, door.args["validation_batches"]
    if metrics and door.args["test_batches"] is None and validation is None:
        raise ValueError("expected test_batches or validation_batches with metrics")
    if door.args["patience"] is not None and validation is None:
        raise ValueError("expected validation_batches when patience is given")
    for name, fn in metrics.items():
        Call().check(f"metrics[{name!r}]", fn, door)


@checked(_check_metrics, **FIT, validation_batches=BATCHES, patience=Int(optional=True))
def fit(
    model: nn.Module,
    train_batches: Iterable,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    validation_batches: Iterable | None = None,
    patience: int | None = None,
    test_batches: Iterable | None = None,
    metrics: dict[str, LossFn] | None = None,
    clip: float | None = None,
    writer=None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train for ``epochs`` epochs and return the ``History``, one value per epoch.

    ``history["train_loss"]`` and ``history["grad_norm"]`` (the mean gradient norm
    before clipping) always; ``history["test_loss"]`` when ``test_batches`` is given,
    and ``history[name]`` for each extra metric in ``metrics`` (each evaluated on
    ``test_batches`` like the loss). With ``clip`` the gradient is rescaled to norm
    ``clip`` when it is larger (norm clipping, Pascanu et al. 2013). With a TensorBoard
    ``writer`` (``torch.utils.tensorboard.SummaryWriter``) every value is logged under
    its name at each epoch. ``train_batches`` must be re-iterable (a list or a
    ``DataLoader``). Training stops after an epoch whose loss is not finite.

    With ``validation_batches`` (a list or a ``DataLoader``) the history also holds
    ``history["validation_loss"]`` and ``history[f"validation_{name}"]`` for each
    metric, measured at the end of every epoch, and ``history.best_epoch``, the epoch
    of the lowest validation loss. With ``patience`` as well (early stopping),
    training stops after ``patience`` epochs in a row whose validation loss is not
    strictly below the lowest so far, and the model gets back the weights (its whole
    ``state_dict``) of the best epoch, whether or not it stopped early; the
    optimizer's state is not restored. Measuring the validation loss leaves torch's
    random generator as it was, so the training steps (shuffling, dropout) are the
    same with or without a validation set, and an early stop cuts the very run that
    would have gone on. Select on the validation set; evaluate on ``test_batches``
    once, at the end."""
    metrics = metrics or {}
    history = History(train_loss=[], grad_norm=[])
    best, waited, best_state = math.inf, 0, None
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=True)
    for epoch in bar:
        stats = _train_epoch(model, train_batches, loss_fn, optimizer, clip)
        row = {"train_loss": stats["loss"], "grad_norm": stats["grad_norm"]}
        if validation_batches is not None:  # a DataLoader draws a seed at each pass:
            with torch.random.fork_rng(devices=[]):  # put torch's generator back
                for name, fn in {"loss": loss_fn, **metrics}.items():
                    value = evaluate.bare(model, validation_batches, fn)
                    row[f"validation_{name}"] = value
        if test_batches is not None:
            row["test_loss"] = evaluate.bare(model, test_batches, loss_fn)
            for name, fn in metrics.items():
                row[name] = evaluate.bare(model, test_batches, fn)
        for name, value in row.items():
            history.setdefault(name, []).append(value)
            if writer is not None:
                writer.add_scalar(name, value, epoch)
        if not math.isfinite(row["train_loss"]):
            bar.close()
            break
        bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()})
        if validation_batches is None:
            continue
        if row["validation_loss"] < best:  # NaN never is
            best, waited, history.best_epoch = row["validation_loss"], 0, epoch
            if patience is not None:  # a copy: training goes on changing the model
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
        if patience is not None and waited >= patience:
            history.stopped_early = True
            bar.close()
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _check_race(door) -> None:
    models = door.args["models"]
    if not isinstance(models, dict) or not models:
        raise TypeError(f"expected models: a non-empty dict of modules, got {models!r}")
    for name, model in models.items():
        MODEL.check(f"models[{name!r}]", model, door)
    if len(door.args["train_batches"]) == 0:
        raise ValueError("expected train_batches to hold a batch, got none")
    for name in ("budget", "every", "lr", "clip"):
        POSITIVE.check(name, door.args[name], door)


@checked(_check_race, train_batches=Is(Sequence), loss_fn=Call(), evaluate=Call())
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
