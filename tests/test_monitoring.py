"""The training monitor records pre-clipping gradient norms and gate values without
changing fit."""

import pytest
import torch

from companion.monitoring import TrainingMonitor
from companion.recurrent import LSTM
from companion.rnn import RNN
from companion.training import fit


class _Writer:
    """A stand-in for SummaryWriter that remembers what was logged."""

    def __init__(self):
        self.scalars, self.histograms = [], []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def add_histogram(self, tag, values, step):
        self.histograms.append((tag, tuple(values.shape), step))


def _loss(layer, batch):
    return layer.decode(layer(batch)).pow(2).mean()


def test_monitor_records_norms_and_gates():
    torch.manual_seed(0)
    layer = LSTM(3, 4, 2)
    batches = [torch.randn(5, 2, 3) for _ in range(7)]
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    writer = _Writer()
    monitor = TrainingMonitor(layer, optimizer, layer, writer=writer, every=3)
    assert layer.record_gates
    recording = []  # the gates are recorded only on the updates they are kept for
    layer.register_forward_pre_hook(
        lambda module, args: recording.append(module.record_gates)
    )
    fit(layer, batches, _loss, optimizer, 1, progress=False, clip=1e-3)
    monitor.close()
    assert recording == [True, False, False, True, False, False, True]
    assert not layer.record_gates
    assert set(monitor.grad_norms) == {name for name, _ in layer.named_parameters()}
    assert all(len(v) == 7 for v in monitor.grad_norms.values())
    assert sorted(monitor.gates) == [0, 3, 6]
    assert monitor.gates[6]["f"].shape == (5, 2, 4)
    # norms are read before clipping: the recorded total exceeds the clipped one, 1e-3
    total = sum(v[-1] ** 2 for v in monitor.grad_norms.values()) ** 0.5
    clipped = float(torch.stack([p.grad.norm() for p in layer.parameters()]).norm())
    torch.testing.assert_close(clipped, 1e-3)
    assert total > 10 * clipped
    ratio = monitor.grad_norms["W_hh"][-1] / float(layer.W_hh.grad.norm())
    torch.testing.assert_close(ratio, total / clipped, rtol=1e-4, atol=0)
    assert ("grad_norm/W_hh", monitor.grad_norms["W_hh"][0], 0) in writer.scalars
    assert ("gates/f", (5, 2, 4), 3) in writer.histograms
    assert len(writer.histograms) == 3 * len(LSTM.GATES)
    fit(layer, batches, _loss, optimizer, 1, progress=False)
    assert all(len(v) == 7 for v in monitor.grad_norms.values()), (
        "hooks removed by close()"
    )


def test_monitor_without_a_layer_records_norms_only():
    layer = LSTM(3, 4, 2)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    monitor = TrainingMonitor(layer, optimizer)
    fit(layer, [torch.randn(5, 2, 3)], _loss, optimizer, 1, progress=False)
    monitor.close()
    assert monitor.gates == {} and len(monitor.grad_norms["b"]) == 1


LSTM_3_4 = LSTM(3, 4, 2)
SGD = torch.optim.SGD(LSTM_3_4.parameters(), lr=0.1)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (
            lambda: TrainingMonitor(LSTM_3_4, SGD, LSTM_3_4, every=0),
            ValueError,
            "every",
        ),
        (
            lambda: TrainingMonitor(LSTM_3_4, SGD, LSTM_3_4, every=2.0),
            TypeError,
            "every",
        ),
        (lambda: TrainingMonitor(LSTM_3_4, SGD, RNN(3, 4, 2)), TypeError, "last_gates"),
        (lambda: TrainingMonitor(list(LSTM_3_4.parameters()), SGD), TypeError, "model"),
        (lambda: TrainingMonitor(LSTM_3_4, "sgd"), TypeError, "optimizer"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()
