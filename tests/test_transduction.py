"""The reversal data set of chapter 7, its batching and the exact-match metric."""

import pytest
import torch

from companion.data.text import EOS_ID, PAD_ID, code2string
from companion.data.transduction import (
    ALPHABET,
    SYMBOL_IDS,
    VOCAB_SIZE,
    ReversalDataset,
    exact_match,
    length_buckets,
    pad_collate_pairs,
)


def test_alphabet_keeps_the_course_ids():
    assert SYMBOL_IDS == tuple(range(2, 12)) and VOCAB_SIZE == 12
    assert code2string(list(SYMBOL_IDS)) == ALPHABET


def test_pairs_are_reversed_strings_of_the_drawn_lengths():
    data = ReversalDataset(200, 3, 9, torch.Generator().manual_seed(0))
    assert len(data) == 200 and data.lengths.shape == (200,)
    assert data.lengths.min() >= 3 and data.lengths.max() <= 9
    assert set(data.lengths.tolist()) == set(range(3, 10))
    for i in range(len(data)):
        source, target = data[i]
        assert len(source) == data.lengths[i]
        assert torch.equal(target, source.flip(0))
        assert set(source.tolist()) <= set(SYMBOL_IDS)


def test_same_generator_seed_same_data():
    a = ReversalDataset(20, 2, 6, torch.Generator().manual_seed(3))
    b = ReversalDataset(20, 2, 6, torch.Generator().manual_seed(3))
    c = ReversalDataset(20, 2, 6, torch.Generator().manual_seed(4))
    assert all(torch.equal(a[i][0], b[i][0]) for i in range(20))
    assert any(not torch.equal(a[i][0], c[i][0]) for i in range(20))


def test_collate_adds_eos_then_pad_on_both_sides():
    pairs = [
        (torch.tensor([2, 3, 4]), torch.tensor([4, 3, 2])),
        (torch.tensor([5]), torch.tensor([5])),
    ]
    source, target = pad_collate_pairs(pairs)
    assert torch.equal(
        source, torch.tensor([[2, 5], [3, EOS_ID], [4, PAD_ID], [EOS_ID, PAD_ID]])
    )
    assert torch.equal(
        target, torch.tensor([[4, 5], [3, EOS_ID], [2, PAD_ID], [EOS_ID, PAD_ID]])
    )


def test_length_buckets_cover_every_index_once_with_close_lengths():
    lengths = torch.randint(3, 30, (1000,), generator=torch.Generator().manual_seed(0))
    batches = length_buckets(lengths, 64, torch.Generator().manual_seed(1))
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(1000))
    assert all(len(b) == 64 for b in batches if len(b) != 1000 % 64)
    spreads = [int(lengths[b].max() - lengths[b].min()) for b in batches]
    assert max(spreads) <= 2
    first_lengths = [int(lengths[b[0]]) for b in batches]
    assert first_lengths != sorted(first_lengths)  # the batches themselves are shuffled


def test_exact_match_reads_up_to_the_first_eos():
    target = torch.tensor([[2, 3, 4], [EOS_ID, 5, EOS_ID], [PAD_ID, EOS_ID, PAD_ID]])
    assert exact_match(target, target).tolist() == [True, True, True]
    after_eos = target.clone()
    after_eos[2, 0] = 7  # after EOS: not read
    assert exact_match(after_eos, target).tolist() == [True, True, True]
    wrong = target.clone()
    wrong[0, 1] = 9
    assert exact_match(wrong, target).tolist() == [True, False, True]
    no_eos = torch.tensor([[2, 3, 4], [6, 5, 6], [6, 6, 6]])
    assert exact_match(no_eos, target).tolist() == [False, False, False]
    longer = torch.cat([target, torch.full((3, 3), 4)])
    assert exact_match(longer, target).all()
    short = torch.tensor([[EOS_ID, 3, 4], [PAD_ID, 5, EOS_ID]])  # column 1 never ends
    assert exact_match(short, target).tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: ReversalDataset(0, 3, 5), ValueError, "size"),
        (lambda: ReversalDataset(10, 0, 5), ValueError, "min_len"),
        (lambda: ReversalDataset(10, 6, 5), ValueError, "max_len to be an int >= 6"),
        (lambda: ReversalDataset(10, 3, 5.0), TypeError, "max_len"),
        (lambda: ReversalDataset(10, 3, 5, generator=3), TypeError, "generator"),
        (lambda: pad_collate_pairs([]), ValueError, "non-empty list"),
        (lambda: pad_collate_pairs([torch.tensor([2])]), TypeError, "pair"),
        (
            lambda: pad_collate_pairs([(torch.tensor([2, EOS_ID]), torch.tensor([2]))]),
            ValueError,
            "without pad_id",
        ),
        (lambda: length_buckets([3, 4], 2), TypeError, "lengths"),
        (lambda: length_buckets(torch.tensor([3.0]), 2), TypeError, "integer"),
        (lambda: length_buckets(torch.tensor([3, 4]), 0), ValueError, "batch_size"),
        (
            lambda: exact_match(torch.zeros(3, 2), torch.zeros(3, 2, dtype=torch.long)),
            TypeError,
            "predicted",
        ),
        (
            lambda: exact_match(
                torch.ones(3, 2, dtype=torch.long), torch.ones(3, 3, dtype=torch.long)
            ),
            ValueError,
            "target of shape",
        ),
        (
            lambda: exact_match(
                torch.ones(3, 2, dtype=torch.long),
                torch.tensor([[2, PAD_ID], [EOS_ID, PAD_ID]]),
            ),
            ValueError,
            "only of padding",
        ),
        (  # -1 never ends a sequence: every prediction would silently fail to match
            lambda: exact_match(
                torch.ones(3, 2, dtype=torch.long),
                torch.ones(3, 2, dtype=torch.long),
                eos_id=-1,
            ),
            ValueError,
            "eos_id to be an int >= 0",
        ),
    ],
)
def test_bad_arguments_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()
