"""Non-recurrent baselines: mean/max logistic regression, persistence, unigram
entropy."""

import math

import pytest
import torch

from companion.baselines import (
    MeanMaxClassifier,
    mean_max_features,
    persistence_forecast,
    seasonal_forecast,
    unigram_entropy,
)


def test_mean_max_features():
    x = torch.tensor([[[1.0, -1.0]], [[3.0, 0.0]], [[2.0, -4.0]]])  # (L=3, B=1, D=2)
    torch.testing.assert_close(
        mean_max_features(x), torch.tensor([[2.0, -5 / 3, 3.0, 0.0]])
    )


def test_classifier_separates_by_level_and_not_by_order():
    torch.manual_seed(0)
    labels = torch.arange(300) % 3
    level = labels.float().view(1, -1, 1)
    x = level + 0.1 * torch.randn(10, 300, 1)
    model = MeanMaxClassifier(1, 3).fit(x, labels)
    assert (model(x).argmax(dim=1) == labels).float().mean() > 0.95
    # Two classes that differ only by the order of the values are out of its reach.
    up = torch.linspace(0, 1, 10).view(10, 1, 1).expand(10, 100, 1)
    x = torch.cat([up, up.flip(0)], dim=1) + 0.01 * torch.randn(10, 200, 1)
    labels = torch.arange(200) // 100
    model = MeanMaxClassifier(1, 2).fit(x, labels)
    assert (model(x).argmax(dim=1) == labels).float().mean() < 0.7


def test_classifier_is_deterministic_and_standardises():
    x, labels = torch.randn(5, 50, 2) * 100 + 7, torch.arange(50) % 2
    a = MeanMaxClassifier(2, 2).fit(x, labels)
    torch.manual_seed(1)
    b = MeanMaxClassifier(2, 2)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(a(x), b(x))
    features = (mean_max_features(x) - a.mean) / a.std
    torch.testing.assert_close(features.mean(dim=0), torch.zeros(4), atol=1e-5, rtol=0)


def test_int32_labels_and_codes_are_accepted():
    x, labels = torch.randn(5, 50, 2), torch.arange(50) % 2
    torch.manual_seed(0)
    a = MeanMaxClassifier(2, 2).fit(x, labels)
    torch.manual_seed(0)
    b = MeanMaxClassifier(2, 2).fit(x, labels.int())
    torch.testing.assert_close(a(x), b(x))
    assert unigram_entropy(torch.tensor([0, 1], dtype=torch.int32), 2) == pytest.approx(
        math.log(2)
    )


def test_persistence_forecast():
    x = torch.randn(6, 2, 4)
    pred = persistence_forecast(x)
    torch.testing.assert_close(pred, x)
    assert pred.data_ptr() != x.data_ptr()
    # On a random walk it is the best forecast: its error is the step variance.
    walk = torch.randn(2001, 500, 1).cumsum(dim=0)
    err = (persistence_forecast(walk[:-1]) - walk[1:]).pow(2).mean()
    assert abs(float(err) - 1.0) < 0.05


def test_seasonal_forecast_is_the_mean_day():
    history = torch.tensor([[[1.0], [2.0], [3.0]], [[3.0], [6.0], [5.0]]])  # (2, 3, 1)
    torch.testing.assert_close(
        seasonal_forecast(history, torch.tensor([2, 0, 2])),
        torch.tensor([[4.0], [2.0], [4.0]]),
    )
    flows = torch.rand(4, 10, 3, 2)
    slots = torch.tensor([[1, 9], [0, 5]])
    got = seasonal_forecast(flows, slots)
    assert got.shape == (2, 2, 3, 2)
    torch.testing.assert_close(got[0, 1], flows[:, 9].mean(dim=0))
    # Days that repeat one shape plus noise: the mean day beats persistence.
    shape = torch.sin(torch.linspace(0, 6, 40)).view(1, 40, 1)
    days = shape + 0.1 * torch.randn(30, 40, 1)
    seasonal = seasonal_forecast(days[:20], torch.arange(1, 40))
    persistence = days[20:, :-1]
    target = days[20:, 1:]
    assert (seasonal - target).pow(2).mean() < (persistence - target).pow(2).mean()


def test_unigram_entropy():
    assert unigram_entropy(torch.tensor([3, 3, 3]), 5) == pytest.approx(0.0)
    assert unigram_entropy(torch.tensor([0, 1, 2, 3]), 4) == pytest.approx(math.log(4))
    assert unigram_entropy(torch.tensor([[2, 2], [2, 4]]), 5) == pytest.approx(
        -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    )


MODEL = MeanMaxClassifier(2, 3)
X, LABELS = torch.zeros(4, 5, 2), torch.zeros(5, dtype=torch.long)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: mean_max_features(torch.zeros(3, 2)),
            ValueError,
            r"expected x of shape \(L, B, D\), got \(3, 2\)",
        ),
        (
            lambda: mean_max_features(torch.zeros(3, 1, 2, dtype=torch.long)),
            TypeError,
            "floating-point",
        ),
        (
            lambda: mean_max_features(torch.zeros(0, 1, 2)),
            ValueError,
            "at least one time step",
        ),
        (lambda: mean_max_features(X.numpy()), TypeError, "torch.as_tensor"),
        (
            lambda: MeanMaxClassifier(0, 3),
            ValueError,
            "expected input_dim to be an int >= 1, got 0",
        ),
        (lambda: MeanMaxClassifier(2, 3.0), TypeError, "num_classes"),
        (
            lambda: MODEL(torch.zeros(4, 5, 3)),
            ValueError,
            r"expected x of shape \(L, B, 2\)",
        ),
        (
            lambda: MODEL(X.double()),
            TypeError,
            r"dtype torch.float32 .*got torch.float64",
        ),
        (lambda: MODEL(X.numpy()), TypeError, "torch.as_tensor"),
        (lambda: MODEL.fit(X, torch.zeros(5)), TypeError, "integer"),
        (
            lambda: MODEL.fit(X, torch.zeros(6, dtype=torch.long)),
            ValueError,
            r"expected labels of shape \(B,\) with B=5",
        ),
        (
            lambda: MODEL.fit(X, torch.full((5,), 3)),
            ValueError,
            r"labels to hold ids in \[0, 3\)",
        ),
        (
            lambda: MODEL.fit(X, LABELS, steps=0),
            ValueError,
            "steps to be an int >= 1, got 0",
        ),
        (lambda: MODEL.fit(X[:, :1], LABELS[:1]), ValueError, "at least 2 sequences"),
        (
            lambda: persistence_forecast(torch.zeros(4)),
            ValueError,
            r"expected x of shape \(L, B, \.\.\.\)",
        ),
        (
            lambda: persistence_forecast(torch.zeros(4, 2, dtype=torch.long)),
            TypeError,
            "floating-point",
        ),
        (lambda: persistence_forecast(X.numpy()), TypeError, "torch.as_tensor"),
        (
            lambda: seasonal_forecast(torch.zeros(5), torch.tensor([0])),
            ValueError,
            r"expected history of shape \(D, T, \.\.\.\)",
        ),
        (
            lambda: seasonal_forecast(torch.zeros(0, 5), torch.tensor([0])),
            ValueError,
            r"history with at least one D, got shape \(0, 5\)",
        ),
        (
            lambda: seasonal_forecast(torch.zeros(2, 5, dtype=torch.long), X[0, 0]),
            TypeError,
            "floating-point",
        ),
        (
            lambda: seasonal_forecast(torch.zeros(2, 5), torch.tensor([5])),
            ValueError,
            r"slots to hold ids in \[0, 5\)",
        ),
        (
            lambda: seasonal_forecast(torch.zeros(2, 5), torch.tensor([1.0])),
            TypeError,
            "integer",
        ),
        (
            lambda: seasonal_forecast(torch.zeros(2, 5).numpy(), torch.tensor([0])),
            TypeError,
            "torch.as_tensor",
        ),
        (lambda: unigram_entropy(torch.tensor([0.5]), 4), TypeError, "integer"),
        (
            lambda: unigram_entropy(torch.tensor([4]), 4),
            ValueError,
            r"codes to hold ids in \[0, 4\)",
        ),
        (
            lambda: unigram_entropy(torch.tensor([], dtype=torch.long), 4),
            ValueError,
            "empty",
        ),
        (lambda: unigram_entropy([1, 2], 4), TypeError, "torch.as_tensor"),
        (
            lambda: unigram_entropy(torch.tensor([0]), 0),
            ValueError,
            "vocab_size to be an int >= 1, got 0",
        ),
        (
            lambda: MODEL.fit(X, LABELS, weight_decay=-1.0),
            ValueError,
            "weight_decay",
        ),
        (
            lambda: persistence_forecast(torch.zeros(0, 2, 3)),
            ValueError,
            r"x with at least one time step, got shape \(0, 2, 3\)",
        ),
        (
            lambda: seasonal_forecast(torch.zeros(2, 5), torch.tensor([-1])),
            ValueError,
            r"slots to hold ids in \[0, 5\)",
        ),
    ],
)
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
