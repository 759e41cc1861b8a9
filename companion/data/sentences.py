"""Sentences of any length as a data set, and the collate function that pads them (chapter 4).

``TextDataset`` cuts a text into sentences and serves each one as a 1-D tensor of ids
(AMAL TP4, question 1); ``pad_collate_fn`` turns a list of them into one ``(L, B)`` batch
whose column ``b`` holds sentence ``b``, then ``EOS``, then ``PAD`` up to the common length
``L = max_len + 1`` (course conventions: ``PAD`` id 0, ``EOS`` id 1).
"""

import re

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import Dataset

from companion.checks import check_integer, check_positive_int
from companion.data.text import EOS_ID, PAD_ID, code2string, normalize, string2code

_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def split_sentences(text: str) -> list[str]:
    """Cut ``text`` after every ``.``, ``?`` or ``!`` followed by white space.

    Requiring the space keeps ``3.14`` and ``object.__init__`` whole. Runs of spaces are
    collapsed and empty pieces dropped; each sentence keeps its final punctuation.

    The rule is deliberately simple, and wrong in two common cases: a period followed by a
    closing quote or bracket (``He said "stop." Then``) is not a cut, so the two sentences
    stay together; and a numbered list item or an abbreviation (``3. Loops``, ``e.g. this``)
    is cut after its period, so ``3.`` or ``e.g.`` becomes a sentence of its own.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected text to be a str, got {type(text).__name__}")
    pieces = (re.sub(" +", " ", p).strip() for p in _SENTENCE_END.split(normalize(text)))
    return [p for p in pieces if p]


class TextDataset(Dataset):
    """One example per sentence: ``dataset[i]`` is a ``LongTensor (len(sentence_i),)``.

    ``maxlen`` drops the sentences longer than ``maxlen`` characters (the course truncates
    them instead; a truncated sentence would teach the model to stop in the middle of a
    word). ``maxsent`` then keeps the first ``maxsent`` sentences. ``dataset.sentences``
    holds the text of each example.
    """

    def __init__(self, text: str, maxsent: int | None = None, maxlen: int | None = None):
        for name, value in (("maxsent", maxsent), ("maxlen", maxlen)):
            if value is not None:
                check_positive_int(name, value)
        sentences = split_sentences(text)
        if maxlen is not None:
            sentences = [s for s in sentences if len(s) <= maxlen]
        self.sentences = sentences[:maxsent]
        if not self.sentences:
            raise ValueError("expected text with at least one sentence within maxlen, got none")

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, i: int) -> torch.Tensor:
        return string2code(self.sentences[i])


def pad_collate_fn(samples: list[torch.Tensor], pad_id: int = PAD_ID,
                   eos_id: int = EOS_ID) -> torch.Tensor:
    """Batch 1-D id tensors of any lengths into a ``(max_len + 1, B)`` LongTensor.

    Column ``b`` is ``samples[b]``, then ``eos_id``, then ``pad_id`` down to the bottom. A
    sample may be empty (the column is then ``EOS`` and padding) but must not contain
    ``pad_id`` or ``eos_id`` itself.
    """
    if not isinstance(samples, list | tuple) or not samples:
        raise ValueError("expected a non-empty list of 1-D LongTensors, got "
                         f"{samples!r:.60}")
    for i, s in enumerate(samples):
        check_integer(f"samples[{i}]", s)
        if s.dim() != 1:
            raise ValueError(f"expected samples[{i}] of shape (len,), got {tuple(s.shape)}")
        if bool(((s == pad_id) | (s == eos_id)).any()):
            raise ValueError(f"expected samples[{i}] without pad_id={pad_id} or "
                             f"eos_id={eos_id}, found one")
    eos = torch.tensor([eos_id], dtype=torch.long)
    columns = [torch.cat([s.long(), eos]) for s in samples]
    return pad_sequence(columns, padding_value=pad_id)


def decode_batch(batch: torch.Tensor) -> list[str]:
    """The text of each column of a ``(L, B)`` batch (``EOS`` and ``PAD`` print as nothing)."""
    check_integer("batch", batch)
    if batch.dim() != 2:
        raise ValueError(f"expected batch of shape (L, B), got {tuple(batch.shape)}")
    return [code2string(column) for column in batch.T]
