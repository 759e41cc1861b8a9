import math

import pytest
import torch

from companion.data.long_range import ADDING_BASELINE_MSE, copy_memory_baseline
from companion.long_range import (
    FreshBatches,
    LongRangeTask,
    adding_loss,
    adding_task,
    check_layer_fits,
    copy_loss,
    copy_task,
    train_on_task,
)
from companion.rnn import RNN


def test_tasks_describe_their_sizes_and_baselines():
    add = adding_task(20)
    assert isinstance(add, LongRangeTask)
    assert (add.input_dim, add.output_dim, add.baseline) == (2, 1, ADDING_BASELINE_MSE)
    cp = copy_task(30, n_symbols=5, n_copy=3)
    assert (cp.input_dim, cp.output_dim) == (7, 6)
    assert cp.baseline == pytest.approx(copy_memory_baseline(30, 5, 3))
    x, y = cp.sample(4, torch.Generator().manual_seed(0))
    assert x.shape == (36, 4, 7) and y.shape == (36, 4)
    with pytest.raises(ValueError, match="seq_len"):
        adding_task(2)
    with pytest.raises(ValueError, match="delay"):
        copy_task(0)


def test_adding_loss_is_mse_of_last_output():
    torch.manual_seed(0)
    rnn = RNN(2, 5, 1)
    x, y = adding_task(8).sample(6, torch.Generator().manual_seed(1))
    expected = ((rnn.decode(rnn(x))[-1, :, 0] - y) ** 2).mean()
    torch.testing.assert_close(adding_loss(rnn, (x, y)), expected)
    with pytest.raises(ValueError, match=r"expected y of shape \(B,\)"):
        adding_loss(rnn, (x, y[:3]))
    with pytest.raises(ValueError, match=r"expected x of shape \(L, B, 2\)"):
        adding_loss(rnn, (x[..., :1], y))


def test_copy_loss_is_cross_entropy_per_step():
    torch.manual_seed(0)
    task = copy_task(4)
    rnn = RNN(task.input_dim, 6, task.output_dim)
    x, y = task.sample(3, torch.Generator().manual_seed(2))
    log_p = torch.log_softmax(rnn.decode(rnn(x)), -1)
    expected = -log_p.gather(-1, y[..., None]).mean()
    torch.testing.assert_close(copy_loss(rnn, (x, y)), expected)
    with pytest.raises(TypeError, match="integer dtype"):
        copy_loss(rnn, (x, y.float()))
    with pytest.raises(ValueError, match=r"expected y of shape \(L, B\)"):
        copy_loss(rnn, (x, y[:-1]))


def test_fresh_batches_are_new_each_pass_and_seeded():
    task = adding_task(6)
    batches = FreshBatches(task, 3, 2, seed=5)
    first, second = list(batches), list(batches)
    assert len(first) == len(batches) == 3
    assert not torch.equal(first[0][0], second[0][0])
    again = list(FreshBatches(task, 3, 2, seed=5))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    with pytest.raises(ValueError, match="n_batches"):
        FreshBatches(task, 0, 2)


def test_check_layer_fits():
    check_layer_fits(RNN(2, 4, 1), adding_task(10))
    with pytest.raises(ValueError, match="input_dim=10"):
        check_layer_fits(RNN(2, 4, 9), copy_task(5))
    with pytest.raises(ValueError, match="output_dim=1"):
        train_on_task(RNN(2, 4, 3), adding_task(10), epochs=1)


def test_train_on_task_learns_short_adding_problem():
    torch.manual_seed(0)
    rnn = RNN(2, 16, 1)
    history = train_on_task(rnn, adding_task(6), epochs=30, batches_per_epoch=10, lr=2e-2,
                            progress=False)
    assert history["steps"] == [10 * (i + 1) for i in range(30)]
    assert history["baseline"] == ADDING_BASELINE_MSE
    assert len(history["test_loss"]) == 30
    assert history["test_loss"][-1] < 0.5 * ADDING_BASELINE_MSE


def test_train_on_task_with_given_optimizer_and_no_clip():
    torch.manual_seed(0)
    task = copy_task(2, n_symbols=3, n_copy=2)
    rnn = RNN(task.input_dim, 8, task.output_dim)
    sgd = torch.optim.SGD(rnn.parameters(), lr=0.0)
    before = [p.detach().clone() for p in rnn.parameters()]
    history = train_on_task(rnn, task, epochs=2, batches_per_epoch=2, clip=None, optimizer=sgd,
                            progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, rnn.parameters(), strict=True))
    assert math.isfinite(history["test_loss"][-1])


def test_fresh_batches_sizes_must_be_ints():
    with pytest.raises(TypeError, match="expected batch_size to be an int >= 1"):
        FreshBatches(adding_task(6), 3, 2.0)
