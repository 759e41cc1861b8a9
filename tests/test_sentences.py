import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from companion.data.sentences import (
    TextDataset,
    decode_batch,
    pad_collate_fn,
    sentence_loaders,
    split_sentences,
)
from companion.data.text import EOS_ID, LETTRES, PAD_ID, string2code

TEXT = "Hello  world. Is pi 3.14?  Yes!\nobject.__init__ is called. Bye."


def test_split_sentences_keeps_punctuation_and_inner_dots():
    assert split_sentences(TEXT) == [
        "Hello world.",
        "Is pi 3.14?",
        "Yes!",
        "object.__init__ is called.",
        "Bye.",
    ]


def test_split_sentences_known_limits():
    text = 'He said "stop." Then he left. 3. Loops end. e.g. this.'
    assert split_sentences(text) == [
        'He said "stop." Then he left.',
        "3.",
        "Loops end.",
        "e.g.",
        "this.",
    ]


def test_dataset_items_are_encoded_sentences():
    ds = TextDataset(TEXT)
    assert len(ds) == 5
    assert torch.equal(ds[0], string2code("Hello world."))
    assert ds[0].dtype == torch.long


def test_dataset_maxlen_drops_long_sentences_and_maxsent_keeps_first():
    assert TextDataset(TEXT, maxlen=5).sentences == ["Yes!", "Bye."]
    assert TextDataset(TEXT, maxsent=2).sentences == ["Hello world.", "Is pi 3.14?"]
    assert TextDataset(TEXT, maxsent=1, maxlen=5).sentences == ["Yes!"]


def test_collate_small_example():
    batch = pad_collate_fn([torch.tensor([5, 6, 7]), torch.tensor([8])])
    expected = torch.tensor([[5, 8], [6, EOS_ID], [7, PAD_ID], [EOS_ID, PAD_ID]])
    assert torch.equal(batch, expected)
    assert batch.dtype == torch.long


def test_collate_with_dataloader():
    loader = DataLoader(TextDataset(TEXT), batch_size=2, collate_fn=pad_collate_fn)
    batches = list(loader)
    assert [b.shape[1] for b in batches] == [2, 2, 1]
    assert decode_batch(batches[0]) == ["Hello world.", "Is pi 3.14?"]
    assert batches[0].shape[0] == len("Hello world.") + 1


sentences = st.lists(st.text(alphabet=LETTRES, max_size=12), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(sentences)
def test_collate_columns_end_with_one_eos_then_pad(texts):
    samples = [string2code(t) for t in texts]
    batch = pad_collate_fn(samples)
    assert batch.shape == (max(len(s) for s in samples) + 1, len(samples))
    for b, s in enumerate(samples):
        column = batch[:, b]
        assert int((column == EOS_ID).sum()) == 1
        assert column[len(s)] == EOS_ID
        assert torch.all(column[len(s) + 1 :] == PAD_ID)
        assert torch.equal(column[: len(s)], s)
    assert decode_batch(batch) == texts


def test_items_are_fresh_tensors():
    ds = TextDataset(TEXT)
    ds[0].zero_()
    assert torch.equal(ds[0], string2code("Hello world."))


def test_sentence_loaders_split_and_batch():
    text = " ".join(f"Sentence number {'x' * (i % 7)} {i}." for i in range(50))
    text += " " + "y" * 80 + "."  # longer than maxlen: left out
    data = sentence_loaders(
        text, maxlen=40, held_out=8, batch_size=5, test_batch_size=3
    )
    assert len(data.held_out) == 8 and len(data.train) == 42
    assert [b.shape[1] for b in data.test_batches] == [3, 3, 2]
    assert decode_batch(data.test_batches[0]) == data.held_out[:3]
    held = set(data.held_out)
    trained = {
        "".join(decode_batch(b[:, i : i + 1]))
        for b in data.train_loader()
        for i in range(b.shape[1])
    }
    assert (
        len(trained) == 42 and not trained & held and all(len(t) <= 40 for t in trained)
    )
    first = [b.tolist() for b in data.train_loader()]
    assert first == [
        b.tolist() for b in data.train_loader()
    ]  # same order at every call
    budget = sentence_loaders(text, maxlen=40, held_out=8, batch_size=5, maxsent=18)
    assert len(budget.train) == 10
    assert set(budget.held_out) | {
        decode_batch(b[:, None])[0] for b in budget.train
    } == set(TextDataset(text, maxsent=18, maxlen=40).sentences)
    assert (
        sentence_loaders(text, maxlen=40, held_out=8, batch_size=5, seed=1).held_out
        != data.held_out
    )


def test_sentence_loaders_validation_comes_out_of_training():
    text = " ".join(f"Sentence number {'x' * (i % 7)} {i}." for i in range(50))
    plain = sentence_loaders(text, maxlen=40, held_out=8, batch_size=5)
    assert plain.validation == [] and plain.validation_batches == []
    data = sentence_loaders(
        text, maxlen=40, held_out=8, batch_size=5, test_batch_size=3, validation=7
    )
    assert data.held_out == plain.held_out  # the test set does not move
    assert len(data.validation) == 7 and len(data.train) == 50 - 8 - 7
    assert [b.shape[1] for b in data.validation_batches] == [3, 3, 1]
    assert sum((decode_batch(b) for b in data.validation_batches), []) == (
        data.validation
    )
    trained = {decode_batch(t[:, None])[0] for t in data.train}
    assert not trained & set(data.validation) and not trained & set(data.held_out)
    assert not set(data.validation) & set(data.held_out)
    assert trained | set(data.validation) == {
        decode_batch(t[:, None])[0] for t in plain.train
    }
    one = sentence_loaders(text, maxlen=40, held_out=8, batch_size=5, validation=7)
    assert [b.shape[1] for b in one.validation_batches] == [7]  # all in one batch
    zero = sentence_loaders(text, maxlen=40, held_out=8, batch_size=5, validation=0)
    assert [b.tolist() for b in zero.train_loader()] == [
        b.tolist() for b in plain.train_loader()
    ]  # validation=0: as without the argument


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: TextDataset(TEXT, maxlen=0),
            ValueError,
            "maxlen to be an int >= 1, got 0",
        ),
        (
            lambda: TextDataset(TEXT, maxsent=2.5),
            TypeError,
            "maxsent to be an int >= 1",
        ),
        (lambda: TextDataset(TEXT, maxlen=True), TypeError, "maxlen"),
        (lambda: TextDataset(TEXT, maxlen=2), ValueError, "at least one sentence"),
        (lambda: TextDataset(None), TypeError, "str"),
        (
            lambda: TextDataset(__file__),
            ValueError,
            r"the path of a file .* load_text\(path\)",
        ),
        (lambda: split_sentences(b"abc"), TypeError, "str"),
        (lambda: pad_collate_fn([]), ValueError, "non-empty list"),
        (
            lambda: pad_collate_fn([torch.tensor([3]), torch.tensor([[3]])]),
            ValueError,
            r"expected samples\[1\] of shape \(len,\)",
        ),
        (lambda: pad_collate_fn([torch.tensor([3.0])]), TypeError, "integer"),
        (lambda: pad_collate_fn([np.array([3, 4])]), TypeError, "torch.as_tensor"),
        (
            lambda: pad_collate_fn([torch.tensor([3, EOS_ID, 4])]),
            ValueError,
            "without pad_id=0 or eos_id=1",
        ),
        (
            lambda: pad_collate_fn([torch.tensor([3, 4])], pad_id=1, eos_id=1),
            ValueError,
            "pad_id and eos_id to differ",
        ),
        (
            lambda: pad_collate_fn([torch.tensor([3, 97])]),
            ValueError,
            r"ids in \[0, 97\)",
        ),
        (
            lambda: pad_collate_fn([torch.tensor([3, -2])]),
            ValueError,
            r"ids in \[0, 97\)",
        ),
        (
            lambda: pad_collate_fn([torch.tensor([3])], eos_id=97),
            ValueError,
            r"eos_id in \[0, 97\)",
        ),
        (lambda: pad_collate_fn([torch.tensor([3])], pad_id=-1), ValueError, "pad_id"),
        (
            lambda: decode_batch(torch.tensor([3, 4])),
            ValueError,
            r"batch of shape \(L, B\)",
        ),
        (
            lambda: sentence_loaders(TEXT, maxlen=20, held_out=5, batch_size=2),
            ValueError,
            r"held_out \+ validation < 4 sentences, got 5",
        ),
        (
            lambda: sentence_loaders(
                TEXT, maxlen=20, held_out=2, batch_size=2, validation=3
            ),
            ValueError,
            r"held_out \+ validation < 4 sentences, got 5",
        ),
        (
            lambda: sentence_loaders(
                TEXT, maxlen=20, held_out=1, batch_size=2, validation=-1
            ),
            ValueError,
            "validation to be an int >= 0, got -1",
        ),
        (
            lambda: sentence_loaders(
                TEXT, maxlen=20, held_out=1, batch_size=2, validation=0.5
            ),
            TypeError,
            "validation",
        ),
        (
            lambda: sentence_loaders(TEXT, maxlen=20, held_out=0, batch_size=2),
            ValueError,
            "held_out",
        ),
        (
            lambda: sentence_loaders(
                TEXT, maxlen=20, held_out=1, batch_size=2, maxsent=0
            ),
            ValueError,
            "maxsent",
        ),
        (
            lambda: sentence_loaders(
                TEXT, maxlen=20, held_out=1, batch_size=2, test_batch_size=0
            ),
            ValueError,
            "test_batch_size to be an int >= 1, got 0",
        ),
        (lambda: TextDataset(" \n\t \u00a0 "), ValueError, "at least one sentence"),
        (
            lambda: pad_collate_fn([torch.tensor([3])], vocab_size=0),
            ValueError,
            "vocab_size to be an int >= 1, got 0",
        ),
        (
            lambda: pad_collate_fn([torch.tensor([3, 4])], vocab_size=4),
            ValueError,
            r"samples\[0\] to hold ids in \[0, 4\)",
        ),
        (lambda: pad_collate_fn(torch.tensor([3, 4])), ValueError, "non-empty list"),
        (
            lambda: decode_batch(torch.tensor([[3], [97]])),
            ValueError,
            r"batch to hold ids in \[0, 97\)",
        ),
        (lambda: decode_batch(torch.zeros(2, 2)), TypeError, "integer"),
    ],
)
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
