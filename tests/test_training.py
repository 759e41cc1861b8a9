import math

import pytest
import torch
from torch import nn

from companion.training import evaluate, fit, gradient_norm, tensorboard_dir, train_epoch


def regression_problem():
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    return batches


def mse(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def test_fit_learns_linear_regression_and_records_history():
    batches = regression_problem()
    model = nn.Linear(3, 1)
    history = fit(model, batches, mse, torch.optim.SGD(model.parameters(), lr=0.1), 30,
                  test_batches=batches, metrics={"mae": lambda m, b: (m(b[0]) - b[1]).abs().mean()},
                  progress=False)
    assert set(history) == {"train_loss", "grad_norm", "test_loss", "mae"}
    assert all(len(v) == 30 for v in history.values())
    assert history["test_loss"][-1] < 1e-3 < history["train_loss"][0]


def test_clipping_bounds_the_step():
    batches = regression_problem()
    model = nn.Linear(3, 1)
    before = [p.detach().clone() for p in model.parameters()]
    stats = train_epoch(model, batches[:1], lambda m, b: 1e6 * mse(m, b),
                        torch.optim.SGD(model.parameters(), lr=1.0), clip=0.5)
    step = torch.cat([(p.detach() - b).ravel() for p, b in zip(model.parameters(), before,
                                                              strict=True)])
    assert stats["grad_norm"] > 0.5
    assert step.norm().item() == pytest.approx(0.5, rel=1e-4)


def test_gradient_norm_and_evaluate():
    model = nn.Linear(2, 1, bias=False)
    assert gradient_norm(model) == 0.0
    model.weight.grad = torch.tensor([[3.0, 4.0]])
    assert gradient_norm(model) == pytest.approx(5.0)
    batches = [(torch.ones(2, 2), torch.zeros(2, 1))]
    expected = float(model(batches[0][0]).pow(2).mean())
    assert evaluate(model, batches, mse) == pytest.approx(expected)
    assert torch.is_grad_enabled()


def test_writer_receives_every_value():
    class Recorder:
        def __init__(self):
            self.tags = []

        def add_scalar(self, tag, value, step):
            self.tags.append((tag, step))

    writer = Recorder()
    model = nn.Linear(3, 1)
    fit(model, regression_problem(), mse, torch.optim.SGD(model.parameters(), lr=0.01), 2,
        writer=writer, progress=False)
    assert writer.tags == [("train_loss", 0), ("grad_norm", 0), ("train_loss", 1),
                           ("grad_norm", 1)]


def test_divergence_stops_training():
    model = nn.Linear(3, 1)
    history = fit(model, regression_problem(), lambda m, b: mse(m, b) * math.inf,
                  torch.optim.SGD(model.parameters(), lr=0.1), 5, progress=False)
    assert len(history["train_loss"]) == 1


@pytest.mark.parametrize("kwargs", [{"epochs": 0}, {"epochs": 2, "clip": 0.0},
                                    {"epochs": 2, "metrics": {"m": mse}}])
def test_bad_arguments(kwargs):
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="expected"):
        fit(model, regression_problem(), mse, torch.optim.SGD(model.parameters(), lr=0.1),
            progress=False, **kwargs)


def test_empty_batches_are_an_error():
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match="at least one batch"):
        train_epoch(model, [], mse, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="at least one batch"):
        evaluate(model, [], mse)


def test_tensorboard_dir_is_fresh_and_under_the_repository():
    path = tensorboard_dir("unit_test_run")
    (path / "old_event").write_text("x")
    again = tensorboard_dir("unit_test_run")
    assert again == path and list(again.iterdir()) == []
    assert (path.parents[2] / "_config.yml").is_file()
    again.rmdir()
    for bad in ("", "a/b", ".."):
        with pytest.raises(ValueError, match="plain folder name"):
            tensorboard_dir(bad)
