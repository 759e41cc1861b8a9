"""The training monitor records pre-clipping gradient norms and gate values without
changing fit."""

import numpy as np
import pytest
import torch
from torch.utils.tensorboard import SummaryWriter

from companion.monitoring import (
    SIGMOID_BINS,
    TANH_BINS,
    TrainingMonitor,
    read_histograms,
)
from companion.recurrent import GRU, LSTM
from companion.rnn import RNN
from companion.training import fit


class _Writer:
    """A stand-in for SummaryWriter that remembers what was logged."""

    def __init__(self):
        self.scalars, self.histograms = [], []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def add_histogram(self, tag, values, step, bins="tensorflow"):
        self.histograms.append((tag, tuple(values.shape), step))
        self.bins = getattr(self, "bins", {}) | {tag: bins}


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
    assert ("grad/W_hh", (16, 4), 6) in writer.histograms
    n_parameters = len(list(layer.parameters()))
    assert len(writer.histograms) == 3 * (len(LSTM.GATES) + n_parameters)
    assert writer.bins["gates/f"] is SIGMOID_BINS
    assert writer.bins["gates/candidate"] is TANH_BINS
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


def test_histograms_read_back_from_the_event_files(tmp_path):
    """What TensorBoard stores is what was logged: counts, moments, gradient norms."""
    torch.manual_seed(1)
    layer = GRU(3, 4, 2)
    batches = [torch.randn(5, 2, 3) for _ in range(5)]
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    writer = SummaryWriter(tmp_path)
    monitor = TrainingMonitor(layer, optimizer, layer, writer=writer, every=2)
    fit(layer, batches, _loss, optimizer, 1, progress=False)
    monitor.close()
    writer.close()
    histograms = read_histograms(tmp_path)
    names = [name for name, _ in layer.named_parameters()]
    assert set(histograms) == {f"gates/{g}" for g in GRU.GATES} | {
        f"grad/{name}" for name in names
    }
    for name in names:
        steps = [h.step for h in histograms[f"grad/{name}"]]
        norms = [h.norm for h in histograms[f"grad/{name}"]]
        assert steps == [0, 2, 4]
        np.testing.assert_allclose(
            norms, [monitor.grad_norms[name][s] for s in steps], rtol=1e-5
        )
    for gate in GRU.GATES:
        for h in histograms[f"gates/{gate}"]:
            values = monitor.gates[h.step][gate].double()
            assert h.num == h.counts.sum() == values.numel()
            np.testing.assert_allclose(
                [h.mean, h.std, h.low, h.high],
                [values.mean(), values.std(correction=0), values.min(), values.max()],
                rtol=1e-5,
            )
            low, high = (-1, 1) if gate == "candidate" else (0, 1)
            assert low <= h.edges[0] and h.edges[-1] <= high
            assert len(h.edges) == len(h.counts) + 1
            if (
                gate != "candidate"
            ):  # 0.5 is an edge of SIGMOID_BINS: the count is exact
                above = float((values >= 0.5).double().mean())
                assert h.fraction_above(0.5) == pytest.approx(above)


def _corrupt_run(tmp_path, cut):
    """A run folder whose event file is the one of a real run, cut or garbled."""
    with SummaryWriter(tmp_path / "good") as writer:
        for step in range(3):
            writer.add_histogram("x", torch.randn(50), step)
    (good,) = (tmp_path / "good").glob("events.out.tfevents.*")
    data = good.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    broken = data[:-cut] if cut > 0 else data[:60] + b"garbage!" + data[68:]
    (bad / good.name).write_bytes(broken)
    return bad


@pytest.mark.parametrize("cut", [0, 10])
def test_a_corrupt_event_file_is_an_error_not_an_empty_run(tmp_path, cut):
    with pytest.raises(
        ValueError, match="run_dir to hold readable event files, got .*bad"
    ):
        read_histograms(_corrupt_run(tmp_path, cut))
    assert len(read_histograms(tmp_path / "good")["x"]) == 3


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
        (
            lambda: TrainingMonitor(LSTM_3_4, SGD, writer=None, every=None),
            TypeError,
            "every",
        ),
        (lambda: read_histograms(3), TypeError, "run_dir"),
        (lambda: read_histograms("/nonexistent/run"), ValueError, "event files"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()
