import math
import os
import shutil

import pytest
import torch
from torch import nn

from companion.data.sentences import pad_collate_fn
from companion.data.text import VOCAB_SIZE, string2code
from companion.language_model import CharLM, lm_loss
from companion.rnn import RNN
from companion.training import (
    count_parameters,
    evaluate,
    fit,
    race,
    tensorboard_dir,
)


def regression_problem():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    batches = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    return batches


def mse(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def test_fit_learns_linear_regression_and_records_history():
    batches = regression_problem()
    model = nn.Linear(3, 1)
    history = fit(
        model,
        batches,
        mse,
        torch.optim.SGD(model.parameters(), lr=0.1),
        30,
        test_batches=batches,
        metrics={"mae": lambda m, b: (m(b[0]) - b[1]).abs().mean()},
        progress=False,
    )
    assert set(history) == {"train_loss", "grad_norm", "test_loss", "mae"}
    assert all(len(v) == 30 for v in history.values())
    assert history["test_loss"][-1] < 1e-3 < history["train_loss"][0]


def test_clipping_bounds_the_step():
    batches = regression_problem()
    model = nn.Linear(3, 1)
    before = [p.detach().clone() for p in model.parameters()]
    history = fit(
        model,
        batches[:1],
        lambda m, b: 1e6 * mse(m, b),
        torch.optim.SGD(model.parameters(), lr=1.0),
        1,
        clip=0.5,
        progress=False,
    )
    step = torch.cat(
        [
            (p.detach() - b).ravel()
            for p, b in zip(model.parameters(), before, strict=True)
        ]
    )
    assert history["grad_norm"][0] > 0.5  # the norm before clipping
    assert step.norm().item() == pytest.approx(0.5, rel=1e-4)


def test_grad_norm_is_the_norm_of_all_gradients_together():
    model = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 2.0]]))
    batch = (torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.zeros(2, 1))
    # loss = (w1^2 + w2^2) / 2: gradient (w1, w2) = (1, 2), norm sqrt(5)
    history = fit(
        model,
        [batch],
        mse,
        torch.optim.SGD(model.parameters(), lr=0.0),
        1,
        progress=False,
    )
    assert history["grad_norm"][0] == pytest.approx(5**0.5)


def test_evaluate():
    model = nn.Sequential(nn.Linear(2, 1, bias=False), nn.Dropout(0.5))
    batches = [(torch.ones(2, 2), torch.zeros(2, 1))]
    expected = float(model[0](batches[0][0]).detach().pow(2).mean())
    assert evaluate(model, batches, mse) == pytest.approx(expected)  # no dropout
    assert torch.is_grad_enabled()


def test_writer_receives_every_value():
    class Recorder:
        def __init__(self):
            self.tags = []

        def add_scalar(self, tag, value, step):
            self.tags.append((tag, step))

    writer = Recorder()
    model = nn.Linear(3, 1)
    fit(
        model,
        regression_problem(),
        mse,
        torch.optim.SGD(model.parameters(), lr=0.01),
        2,
        writer=writer,
        progress=False,
    )
    assert writer.tags == [
        ("train_loss", 0),
        ("grad_norm", 0),
        ("train_loss", 1),
        ("grad_norm", 1),
    ]


def test_divergence_stops_training():
    model = nn.Linear(3, 1)
    history = fit(
        model,
        regression_problem(),
        lambda m, b: mse(m, b) * math.inf,
        torch.optim.SGD(model.parameters(), lr=0.1),
        5,
        progress=False,
    )
    assert len(history["train_loss"]) == 1


def _noisy_problem(seed=0):
    """A model with dropout, shuffled training batches and a validation DataLoader:
    everything that draws from torch's generator."""
    torch.manual_seed(seed)
    x = torch.randn(96, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(96, 1)
    data = torch.utils.data.TensorDataset(x, y)
    train = torch.utils.data.DataLoader(data, batch_size=16, shuffle=True)
    validation = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.3), nn.Linear(8, 1))
    return model, train, validation


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


def test_fit_without_validation_is_the_plain_loop():
    """No validation set: the steps of the loop fit always ran, bit for bit."""
    model, train, _ = _noisy_problem()
    fit(model, train, mse, torch.optim.Adam(model.parameters()), 3, clip=0.5)
    reference, train, _ = _noisy_problem()
    optimizer = torch.optim.Adam(reference.parameters())
    for _ in range(3):
        reference.train()
        for batch in train:
            optimizer.zero_grad()
            mse(reference, batch).backward()
            nn.utils.clip_grad_norm_(reference.parameters(), 0.5)
            optimizer.step()
    for got, want in zip(_weights(model), _weights(reference), strict=True):
        assert torch.equal(got, want)


def test_a_validation_set_changes_no_training_step():
    """Dropout, shuffling and a validation DataLoader (which draws a seed at each
    pass): with or without the validation set, the same weights and train curve."""
    runs = []
    for validate in (False, True):
        model, train, validation = _noisy_problem()
        extra = {"validation_batches": validation} if validate else {}
        adam = torch.optim.Adam(model.parameters(), lr=1e-2)
        history = fit(model, train, mse, adam, 4, progress=False, **extra)
        runs.append((_weights(model), history))
    (plain, plain_history), (validated, history) = runs
    for got, want in zip(validated, plain, strict=True):
        assert torch.equal(got, want)
    assert history["train_loss"] == plain_history["train_loss"]
    assert plain_history.best_epoch is None and "validation_loss" not in plain_history
    curve = history["validation_loss"]
    assert history.best_epoch == curve.index(min(curve))
    assert not history.stopped_early


def _overshoot(epochs, **kwargs):
    """One weight ``w`` pulled from 0 towards 2 by the training loss ``(w - 2)^2``
    (SGD, ``w_k = 2 (1 - 0.8^k)``: 0.4, 0.72, 0.976, 1.18, ...) while the validation
    loss ``(w - 1)^2`` is lowest at the third epoch (index 2), then rises."""
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    one = torch.ones(1, 1)
    history = fit(
        model,
        [(one, 2 * one)],
        mse,
        torch.optim.SGD(model.parameters(), lr=0.1),
        epochs,
        progress=False,
        **kwargs,
    )
    return model.weight.item(), history


VALIDATION = [(torch.ones(1, 1), torch.ones(1, 1))]


@pytest.mark.parametrize("patience", [1, 2, 3])
def test_early_stopping_waits_patience_epochs_and_restores_the_best(patience):
    weight, history = _overshoot(20, validation_batches=VALIDATION, patience=patience)
    curve = history["validation_loss"]
    assert history.best_epoch == 2 == curve.index(min(curve))
    assert history.stopped_early
    assert all(len(v) == 2 + 1 + patience for v in history.values())
    assert all(v > curve[2] for v in curve[3:])  # patience epochs without a better one
    best_weight, _ = _overshoot(3)  # the weight after the best epoch
    assert weight == best_weight == pytest.approx(0.976)
    last_weight, _ = _overshoot(3 + patience)  # where training stopped
    assert last_weight > 1.1


def test_patience_longer_than_the_run_still_restores_the_best():
    weight, history = _overshoot(6, validation_batches=VALIDATION, patience=10)
    assert not history.stopped_early and len(history["train_loss"]) == 6
    assert history.best_epoch == 2 and weight == _overshoot(3)[0]


def test_validation_without_patience_keeps_the_last_weights():
    weight, history = _overshoot(6, validation_batches=VALIDATION)
    assert history.best_epoch == 2 and not history.stopped_early
    assert weight == _overshoot(6)[0] == pytest.approx(2 * (1 - 0.8**6))


def test_validation_and_test_curves_have_one_value_per_epoch():
    batches = regression_problem()
    model = nn.Linear(3, 1)
    history = fit(
        model,
        batches[:2],
        mse,
        torch.optim.SGD(model.parameters(), lr=0.1),
        5,
        validation_batches=batches[2:3],
        test_batches=batches[3:],
        metrics={"mae": lambda m, b: (m(b[0]) - b[1]).abs().mean()},
        progress=False,
    )
    assert set(history) == {
        "train_loss",
        "grad_norm",
        "validation_loss",
        "validation_mae",
        "test_loss",
        "mae",
    }
    assert all(len(v) == 5 for v in history.values())
    assert history["validation_loss"][-1] == pytest.approx(
        evaluate(model, batches[2:3], mse)
    )
    assert history["test_loss"][-1] == pytest.approx(evaluate(model, batches[3:], mse))


def test_tensorboard_dir_gives_each_run_its_own_folder(monkeypatch):
    first = tensorboard_dir("unit_test_run")
    assert list(first.iterdir()) == [] and first.parent.name == "unit_test_run"
    assert (first.parents[3] / "_config.yml").is_file()
    (first / "events").write_text("x")
    # another run, live (the parent of this process) or ended (a pid not in use)
    live = first.parent / f"20000101-000000-pid{os.getppid()}-live"
    ended = first.parent / "20000101-000000-pid999999999-ended"
    live.mkdir()
    ended.mkdir()
    second = tensorboard_dir("unit_test_run")
    assert second != first and list(second.iterdir()) == []
    assert not first.exists(), "an earlier folder of the same process goes"
    assert live.is_dir(), "the folder of a run still going is left alone"
    assert not ended.exists(), "the folder of a run that has ended goes"
    shutil.rmtree(second.parent)


BATCHES = [
    pad_collate_fn([string2code("hello there"), string2code("abc")]),
    pad_collate_fn([string2code("general kenobi")]),
]


def _models():
    torch.manual_seed(0)
    return {
        "small": CharLM(RNN(4, 8, VOCAB_SIZE)),
        "large": CharLM(RNN(8, 64, VOCAB_SIZE)),
    }


def test_race_spends_the_budget_and_records_curves():
    models, calls = _models(), []

    @torch.no_grad()
    def evaluate(model):
        calls.append(model)
        return float(lm_loss(model, BATCHES[0]))

    curves = race(models, BATCHES, lm_loss, evaluate, budget=0.05, every=0.02)
    assert set(curves) == {"small", "large"}
    for curve in curves.values():
        assert curve[0][:2] == (0.0, 0)
        seconds, steps, _ = zip(*curve, strict=True)
        assert seconds[-1] >= 0.05  # each used its budget
        assert list(seconds) == sorted(seconds) and list(steps) == sorted(steps)
        assert steps[-1] >= 1
    assert sum(c is models["small"] for c in calls) == len(curves["small"])
    assert sum(c is models["large"] for c in calls) == len(curves["large"])


def test_race_trains():
    models = _models()

    @torch.no_grad()
    def evaluate(model):
        return float(lm_loss(model, BATCHES[0]))

    curves = race(
        {"small": models["small"]},
        BATCHES,
        lm_loss,
        evaluate,
        budget=0.3,
        every=0.3,
        lr=0.05,
    )
    assert curves["small"][-1][2] < curves["small"][0][2] - 0.5


def test_count_parameters_counts_every_entry():
    assert count_parameters(nn.Linear(3, 2)) == 3 * 2 + 2
    assert (
        count_parameters(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)))
        == 11
    )
    rnn = RNN(4, 8, 3)
    assert count_parameters(rnn) == sum(p.numel() for p in rnn.parameters()) > 0


LINEAR = nn.Linear(3, 1)
SGD = torch.optim.SGD(LINEAR.parameters(), lr=0.1)
BATCHES_XY = regression_problem()


def fit_with(**kwargs):
    arguments = {
        "model": LINEAR,
        "train_batches": BATCHES_XY,
        "loss_fn": mse,
        "optimizer": SGD,
        "epochs": 1,
        "progress": False,
        **kwargs,
    }
    return fit(**arguments)


def race_with(**kwargs):
    arguments = {
        "models": {"m": LINEAR},
        "train_batches": BATCHES_XY,
        "loss_fn": mse,
        "evaluate": lambda m: 0.0,
        "budget": 0.01,
        **kwargs,
    }
    return race(**arguments)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        # fit(model, train_batches, loss_fn, optimizer, epochs, ...), evaluate
        (lambda: fit_with(clip="1"), TypeError, "clip"),
        (lambda: fit_with(epochs=0), ValueError, "epochs"),
        (lambda: fit_with(epochs=2.0), TypeError, "epochs"),
        (lambda: fit_with(clip=0.0), ValueError, "clip"),
        (lambda: fit_with(clip=float("nan")), ValueError, "clip"),
        (lambda: fit_with(metrics={"m": mse}), ValueError, "test_batches"),
        (
            lambda: fit_with(patience=0, validation_batches=BATCHES_XY),
            ValueError,
            "patience",
        ),
        (
            lambda: fit_with(patience=2.0, validation_batches=BATCHES_XY),
            TypeError,
            "patience",
        ),
        (lambda: fit_with(patience=2), ValueError, "validation_batches"),
        (
            lambda: fit_with(validation_batches=iter(BATCHES_XY)),
            TypeError,
            "validation_batches",
        ),
        (
            lambda: fit_with(validation_batches=torch.zeros(4, 3)),
            TypeError,
            "validation_batches",
        ),
        (
            lambda: fit_with(
                validation_batches=torch.utils.data.TensorDataset(torch.zeros(4, 3))
            ),
            TypeError,
            "validation_batches",
        ),
        (lambda: fit_with(validation_batches=[]), ValueError, "evaluation batches"),
        (
            lambda: fit_with(validation_batches=BATCHES_XY, metrics={"m": None}),
            TypeError,
            "metrics",
        ),
        (
            lambda: fit_with(test_batches=BATCHES_XY, metrics={"m": 3}),
            TypeError,
            "metrics",
        ),
        (lambda: fit_with(model=lambda x: x), TypeError, "model"),
        (lambda: fit_with(loss_fn="mse"), TypeError, "loss_fn"),
        (lambda: fit_with(optimizer=None), TypeError, "optimizer"),
        (lambda: fit_with(train_batches=[]), ValueError, "training batches"),
        (lambda: fit_with(test_batches=[]), ValueError, "evaluation batches"),
        (lambda: evaluate(LINEAR, [], mse), ValueError, "evaluation batches"),
        (lambda: evaluate(LINEAR, BATCHES_XY, None), TypeError, "loss_fn"),
        # race(models, train_batches, loss_fn, evaluate, budget, every, lr, clip)
        (lambda: race_with(models={}), TypeError, "models"),
        (lambda: race_with(models={"m": 3}), TypeError, r"models\['m'\]"),
        (lambda: race_with(train_batches=[]), ValueError, "train_batches"),
        (lambda: race_with(train_batches=iter(BATCHES_XY)), TypeError, "train_batches"),
        (lambda: race_with(evaluate=None), TypeError, "evaluate"),
        (lambda: race_with(loss_fn=None), TypeError, "loss_fn"),
        *[
            (lambda name=name: race_with(**{name: 0}), ValueError, name)
            for name in ("budget", "every", "lr", "clip")
        ],
        # count_parameters, tensorboard_dir
        (lambda: count_parameters(torch.zeros(3)), TypeError, "model"),
        *[
            (lambda bad=bad: tensorboard_dir(bad), ValueError, "name")
            for bad in ("", "a/b", "..")
        ],
        (lambda: tensorboard_dir(None), TypeError, "name"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()
