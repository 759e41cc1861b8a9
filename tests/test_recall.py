"""Associative recall: the batches ask for stored keys and expect their values; one
attention layer can learn it; bad inputs are named."""

import pytest
import torch

from companion.recall import (
    CausalAttention,
    RecallModel,
    recall_accuracy,
    recall_batch,
    recall_loss,
)
from companion.ssm import SelectiveSSM


def test_a_batch_asks_for_stored_keys_and_their_values():
    batch = recall_batch(5, 4, 7, 9, 6, torch.Generator().manual_seed(0))
    assert batch.keys.shape == batch.values.shape == batch.targets.shape == (9, 7)
    for b in range(7):
        keys, values = batch.keys[:5, b].tolist(), batch.values[:5, b].tolist()
        stored = dict(zip(keys, values, strict=True))
        assert len(stored) == 5  # distinct keys
        assert (batch.targets[:5, b] == -1).all() and (batch.values[5:, b] == 6).all()
        for t in range(5, 9):
            assert stored[int(batch.keys[t, b])] == int(batch.targets[t, b])


def test_a_model_that_remembers_nothing_is_at_chance():
    torch.manual_seed(0)
    model = RecallModel(16, 4, 8, torch.nn.Identity())  # no mixing: no memory
    batch = recall_batch(8, 8, 2000, 16, 4, torch.Generator().manual_seed(1))
    assert abs(recall_accuracy(model, batch) - 0.25) < 0.1


@pytest.mark.parametrize("mixer", ["attention", "ssm"])
def test_models_run_and_train(mixer):
    torch.manual_seed(0)
    make = {
        "attention": lambda: CausalAttention(16),
        "ssm": lambda: SelectiveSSM(16, 2),
    }
    model = RecallModel(8, 4, 16, make[mixer]())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = recall_loss(model, recall_batch(4, 4, 32, 8, 4, g))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) < sum(losses[:5])


BAD_INPUTS = [
    (lambda: recall_batch(5, 2, 3, 4, 6), ValueError, "n_keys >= n_pairs"),
    (lambda: recall_batch(0, 2, 3, 4, 6), ValueError, "n_pairs"),
    (lambda: recall_batch(2, 2, 3, 4, 1), ValueError, "n_values"),
    (lambda: recall_batch(2, 2, 3, 4, 6, generator=0), TypeError, "generator"),
    (lambda: RecallModel(4, 3, 8, lambda x: x), TypeError, "mixer"),
    (
        lambda: RecallModel(4, 3, 8, torch.nn.Identity())(
            torch.tensor([[5]]), torch.tensor([[0]])
        ),
        ValueError,
        r"ids in \[0, 4\)",
    ),
]


@pytest.mark.parametrize(("call", "error", "pattern"), BAD_INPUTS)
def test_bad_inputs_are_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
