"""Forecasting helpers: rollout feeds predictions back; one-step predictions use short
windows."""

import pytest
import torch

from companion.forecasting import one_step_predictions, rollout
from companion.rnn import RNN


@pytest.fixture
def model():
    torch.manual_seed(0)
    return RNN(3, 8, 3).double()


def test_rollout_feeds_predictions_back(model):
    context = torch.randn(6, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        got = rollout(model, context, 4)
        assert got.shape == (4, 2, 3)
        # Step by step: the first prediction reads the context, the next ones their own
        # output.
        h = model(context)[-1]
        torch.testing.assert_close(got[0], model.decode(h))
        for k in range(1, 4):
            h = model.one_step(got[k - 1], h)
            torch.testing.assert_close(got[k], model.decode(h))
        # Equivalently: appending the predictions to the context gives the same
        # forecasts.
        extended = torch.cat([context, got[:-1]])
        torch.testing.assert_close(got, model.decode(model(extended))[-4:])


class _TupleState(RNN):
    """An RNN whose state is a pair ``(h, h)``, like an LSTM's ``(h, C)``."""

    def forward(self, x, state=None, return_state=False):
        states, h = super().forward(
            x, None if state is None else state[0], return_state=True
        )
        return (states, (h, h)) if return_state else states

    def one_step(self, x, state):
        h = super().one_step(x, state[0])
        return h, h

    @staticmethod
    def hidden(state):
        return state[0]


def test_rollout_reads_the_hidden_part_of_a_tuple_state(model):
    pair = _TupleState(3, 8, 3).double()
    pair.load_state_dict(model.state_dict())
    context = torch.randn(4, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(
            rollout(pair, context, 3), rollout(model, context, 3)
        )


@pytest.mark.parametrize("length", [4, 7, 12])
def test_one_step_predictions_use_windows_of_the_training_length(model, length):
    window = 5
    series = torch.randn(length, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        got = one_step_predictions(model, series, window)
        assert got.shape == (length - 1, 2, 3)
        for t in range(1, length):
            context = series[max(0, t - window) : t]
            assert len(context) <= window
            torch.testing.assert_close(got[t - 1], model.decode(model(context)[-1]))


def test_one_step_predictions_ignore_the_far_past(model):
    series = torch.randn(12, 2, 3, dtype=torch.float64)
    changed = series.clone()
    changed[:3] += 5.0
    with torch.no_grad():
        a, b = (
            one_step_predictions(model, series, 4),
            one_step_predictions(model, changed, 4),
        )
    assert not torch.allclose(a[:6], b[:6])
    torch.testing.assert_close(
        a[6:], b[6:]
    )  # steps 7.. read windows starting at 3 or later


X = torch.randn(5, 2, 3, dtype=torch.float64)
RNN_3 = RNN(3, 8, 3).double()


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        # rollout(model, context, steps)
        (lambda: rollout(torch.nn.Linear(3, 3), X, 2), TypeError, "model"),
        (lambda: rollout(RNN(3, 8, 2).double(), X, 2), ValueError, "output_dim"),
        (lambda: rollout(RNN_3, X[:, 0], 2), ValueError, "context"),
        (lambda: rollout(RNN_3, X[..., :2], 2), ValueError, "context"),
        (lambda: rollout(RNN_3, X.numpy(), 2), TypeError, "context"),
        (lambda: rollout(RNN_3, X.long(), 2), TypeError, "context"),
        (lambda: rollout(RNN_3, X, 0), ValueError, "steps"),
        # one_step_predictions(model, series, window)
        (lambda: one_step_predictions(torch.nn.Linear(3, 3), X, 2), TypeError, "model"),
        (lambda: one_step_predictions(RNN_3, X, 0), ValueError, "window"),
        (lambda: one_step_predictions(RNN_3, X[:1], 3), ValueError, "series"),
        (lambda: one_step_predictions(RNN_3, X[0], 3), ValueError, "series"),
        (lambda: one_step_predictions(RNN_3, X, 1.5), TypeError, "window"),
        (lambda: one_step_predictions("RNN", X, 2), TypeError, "model"),
        (lambda: rollout(RNN_3, X, True), TypeError, "steps"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()
