import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.losses import masked_cross_entropy, maskedCrossEntropy

V = 7


def _batch(lengths, seed=0):
    """Logits (L, B, V) and a target (L, B) padded with 0 after each length."""
    g = torch.Generator().manual_seed(seed)
    L, B = max(lengths), len(lengths)
    logits = torch.randn(L, B, V, generator=g)
    target = torch.randint(1, V, (L, B), generator=g)
    for b, n in enumerate(lengths):
        target[n:, b] = 0
    return logits, target


def test_equals_cross_entropy_with_ignore_index():
    logits, target = _batch([5, 2, 3, 1])
    expected = F.cross_entropy(
        logits.reshape(-1, V), target.reshape(-1), ignore_index=0
    )
    torch.testing.assert_close(masked_cross_entropy(logits, target, 0), expected)


def test_equals_masked_sum_by_hand():
    logits, target = _batch([4, 1, 3])
    total, count = 0.0, 0
    for t in range(target.shape[0]):
        for b in range(target.shape[1]):
            if target[t, b] != 0:
                total -= torch.log_softmax(logits[t, b], -1)[target[t, b]].item()
                count += 1
    assert masked_cross_entropy(logits, target, 0).item() == pytest.approx(
        total / count
    )


def test_differs_from_unmasked_mean():
    logits, target = _batch([4, 1, 3])
    unmasked = F.cross_entropy(logits.reshape(-1, V), target.reshape(-1))
    assert not torch.isclose(masked_cross_entropy(logits, target, 0), unmasked)


def test_other_pad_id():
    logits, target = _batch([3, 2])
    target[target == 0] = 5
    expected = F.cross_entropy(
        logits.reshape(-1, V), target.reshape(-1), ignore_index=5
    )
    torch.testing.assert_close(masked_cross_entropy(logits, target, 5), expected)


def test_gradient_is_zero_at_pad_positions():
    logits, target = _batch([3, 1])
    logits.requires_grad_(True)
    masked_cross_entropy(logits, target, 0).backward()
    pad = target == 0
    assert torch.all(logits.grad[pad] == 0)
    assert torch.all(logits.grad[~pad].abs().sum(-1) > 0)


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    seed=st.integers(0, 1000),
    scale=st.floats(-50, 50),
)
def test_invariant_to_pad_content(lengths, seed, scale):
    logits, target = _batch(lengths, seed)
    other = logits.clone()
    noise = torch.randn(other.shape, generator=torch.Generator().manual_seed(seed + 1))
    other[target == 0] = scale * noise[target == 0]
    torch.testing.assert_close(
        masked_cross_entropy(other, target, 0), masked_cross_entropy(logits, target, 0)
    )


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    seed=st.integers(0, 1000),
)
def test_equals_unpadded_per_sentence_loss(lengths, seed):
    logits, target = _batch(lengths, seed)
    total = sum(
        F.cross_entropy(logits[:n, b], target[:n, b], reduction="sum")
        for b, n in enumerate(lengths)
    )
    expected = total / sum(lengths)
    torch.testing.assert_close(masked_cross_entropy(logits, target, 0), expected)


def test_int32_targets_and_the_tp_name():
    logits, target = _batch([3, 2])
    expected = masked_cross_entropy(logits, target, 0)
    torch.testing.assert_close(masked_cross_entropy(logits, target.int(), 0), expected)
    torch.testing.assert_close(maskedCrossEntropy(logits, target, 0), expected)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            lambda lg, t: (lg, t[:, 0], 0),
            ValueError,
            r"expected target of shape \(L, B\)",
        ),
        (
            lambda lg, t: (lg[0], t, 0),
            ValueError,
            r"expected logits of shape \(L, B, V\)",
        ),
        (lambda lg, t: (lg, t[:2], 0), ValueError, r"L=3, B=2"),
        (lambda lg, t: (lg.long(), t, 0), TypeError, "floating-point"),
        (lambda lg, t: (lg, t.float(), 0), TypeError, "integer"),
        (lambda lg, t: (lg.numpy(), t, 0), TypeError, "torch.as_tensor"),
        (lambda lg, t: (lg, t.numpy(), 0), TypeError, "torch.as_tensor"),
        (lambda lg, t: (lg, t, 0.0), TypeError, "pad_id"),
        (lambda lg, t: (lg, t, 200), ValueError, r"pad_id in \[0, 7\)"),
        (lambda lg, t: (lg, t, -1), ValueError, "pad_id"),
        (lambda lg, t: (lg, t + V, 0), ValueError, r"ids in \[0, 7\)"),
        (
            lambda lg, t: (lg, torch.zeros_like(t), 0),
            ValueError,
            "other than pad_id=0, got none",
        ),
        (
            lambda lg, t: (lg[:, :0], t[:, :0], 0),
            ValueError,
            r"got none \(target of shape \(3, 0\)",
        ),
    ],
)
def test_rejects_bad_inputs(change, error, message):
    with pytest.raises(error, match=message):
        masked_cross_entropy(*change(*_batch([3, 2])))


def test_nonfinite_logits_at_pad_leave_the_loss_alone():
    logits, target = _batch([3, 1])
    expected = masked_cross_entropy(logits, target, 0)
    logits[target == 0] = float("inf")
    torch.testing.assert_close(masked_cross_entropy(logits, target, 0), expected)
