import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from companion.data.sentences import TextDataset, decode_batch, pad_collate_fn, split_sentences
from companion.data.text import EOS_ID, LETTRES, PAD_ID, string2code

TEXT = "Hello  world. Is pi 3.14?  Yes!\nobject.__init__ is called. Bye."


def test_split_sentences_keeps_punctuation_and_inner_dots():
    assert split_sentences(TEXT) == ["Hello world.", "Is pi 3.14?", "Yes!",
                                     "object.__init__ is called.", "Bye."]


def test_split_sentences_known_limits():
    text = 'He said "stop." Then he left. 3. Loops end. e.g. this.'
    assert split_sentences(text) == ['He said "stop." Then he left.', "3.", "Loops end.",
                                     "e.g.", "this."]


def test_split_sentences_rejects_non_str():
    with pytest.raises(TypeError, match="expected text to be a str"):
        split_sentences(b"abc")


def test_dataset_items_are_encoded_sentences():
    ds = TextDataset(TEXT)
    assert len(ds) == 5
    assert torch.equal(ds[0], string2code("Hello world."))
    assert ds[0].dtype == torch.long


def test_dataset_maxlen_drops_long_sentences_and_maxsent_keeps_first():
    assert TextDataset(TEXT, maxlen=5).sentences == ["Yes!", "Bye."]
    assert TextDataset(TEXT, maxsent=2).sentences == ["Hello world.", "Is pi 3.14?"]
    assert TextDataset(TEXT, maxsent=1, maxlen=5).sentences == ["Yes!"]


def test_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError, match="expected maxlen to be an int >= 1, got 0"):
        TextDataset(TEXT, maxlen=0)
    with pytest.raises(TypeError, match="expected maxsent to be an int >= 1, got 2.5"):
        TextDataset(TEXT, maxsent=2.5)
    with pytest.raises(TypeError, match="maxlen"):
        TextDataset(TEXT, maxlen=True)
    with pytest.raises(ValueError, match="at least one sentence"):
        TextDataset(TEXT, maxlen=2)
    with pytest.raises(TypeError, match="str"):
        TextDataset(None)


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
        assert torch.all(column[len(s) + 1:] == PAD_ID)
        assert torch.equal(column[:len(s)], s)
    assert decode_batch(batch) == texts


def test_collate_rejects_bad_samples():
    with pytest.raises(ValueError, match="non-empty list"):
        pad_collate_fn([])
    with pytest.raises(ValueError, match=r"expected samples\[1\] of shape \(len,\)"):
        pad_collate_fn([torch.tensor([3]), torch.tensor([[3]])])
    with pytest.raises(TypeError, match="integer"):
        pad_collate_fn([torch.tensor([3.0])])
    with pytest.raises(ValueError, match="without pad_id=0 or eos_id=1"):
        pad_collate_fn([torch.tensor([3, EOS_ID, 4])])


def test_decode_batch_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"expected batch of shape \(L, B\)"):
        decode_batch(torch.tensor([3, 4]))
