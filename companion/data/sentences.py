"""Sentences of any length as a data set, and the collate function that pads them
(chapter 4).

``TextDataset`` cuts a text into sentences and serves each one as a 1-D tensor of ids
(AMAL TP4, question 1); ``pad_collate_fn`` turns a list of them into one ``(L, B)``
batch whose column ``b`` holds sentence ``b``, then ``EOS``, then ``PAD`` up to the
common length ``L = max_len + 1`` (course conventions: ``PAD`` id 0, ``EOS`` id 1).
``sentence_loaders`` does what chapters 4 to 8 all need: the sentences of a text split
into a training set, served in shuffled padded batches, and held-out sentences (test,
and on request validation ones)."""

import re
from dataclasses import dataclass, field

import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

from companion.checks import Door, Ids, Int, Is, checked
from companion.data.text import (
    EOS_ID,
    PAD_ID,
    TEXT_ARG,
    VOCAB_SIZE,
    code2string,
    normalize,
    string2code,
)
from companion.seeding import generator

_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


@checked(text=Is(str))
def split_sentences(text: str) -> list[str]:
    """Cut ``text`` after every ``.``, ``?`` or ``!`` followed by white space.

    Requiring the space keeps ``3.14`` and ``object.__init__`` whole. Runs of spaces are
    collapsed and empty pieces dropped; each sentence keeps its final punctuation.

    The rule is deliberately simple, and wrong in two common cases: a period followed by
    a closing quote or bracket (``He said "stop." Then``) is not a cut, so the two
    sentences stay together; and a numbered list item or an abbreviation (``3. Loops``,
    ``e.g. this``) is cut after its period, so ``3.`` or ``e.g.`` becomes a sentence of
    its own."""
    pieces = (
        re.sub(" +", " ", p).strip() for p in _SENTENCE_END.split(normalize.bare(text))
    )
    return [p for p in pieces if p]


class TextDataset(Dataset):
    """One example per sentence: ``dataset[i]`` is a ``LongTensor (len(sentence_i),)``.

    ``maxlen`` drops the sentences longer than ``maxlen`` characters (the course
    truncates them instead; a truncated sentence would teach the model to stop in the
    middle of a word). ``maxsent`` then keeps the first ``maxsent`` sentences.
    ``dataset.sentences`` holds the text of each example. ``text`` is the text itself,
    not the path of a file (``load_text(path)`` reads one)."""

    @checked(text=TEXT_ARG, maxsent=Int(optional=True), maxlen=Int(optional=True))
    def __init__(
        self, text: str, maxsent: int | None = None, maxlen: int | None = None
    ):
        sentences = split_sentences.bare(text)
        if maxlen is not None:
            sentences = [s for s in sentences if len(s) <= maxlen]
        self.sentences = sentences[:maxsent]
        if not self.sentences:
            raise ValueError("expected at least one sentence within maxlen, got none")

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, i: int) -> torch.Tensor:
        return string2code(self.sentences[i])


def _check_batch(door) -> None:
    """``samples``: a non-empty list of 1-D id tensors in ``[0, vocab_size)``, without
    ``pad_id`` or ``eos_id``, which differ."""
    if not isinstance(samples := door.args["samples"], list | tuple) or not samples:
        raise ValueError(f"expected a non-empty list of samples, got {samples!r:.30}")
    if (pad := door.args["pad_id"]) == (eos := door.args["eos_id"]):
        raise ValueError(f"expected pad_id and eos_id to differ, got {pad} for both")
    for i, s in enumerate(samples):
        Ids("len", below=door.dims["V"]).check(f"samples[{i}]", s, Door({}))
        if torch.isin(s, torch.tensor([pad, eos])).any():
            raise ValueError(
                f"expected samples[{i}] without pad_id={pad} or eos_id={eos}"
            )


_ID = Int(0, below="V")


@checked(_check_batch, vocab_size=Int(size="V"), pad_id=_ID, eos_id=_ID)
def pad_collate_fn(
    samples: list[torch.Tensor],
    pad_id: int = PAD_ID,
    eos_id: int = EOS_ID,
    vocab_size: int = VOCAB_SIZE,
) -> torch.Tensor:
    """Batch 1-D id tensors of any lengths into a ``(max_len + 1, B)`` LongTensor.

    Column ``b`` is ``samples[b]``, then ``eos_id``, then ``pad_id`` down to the bottom.
    ``pad_id`` and ``eos_id`` are two different ids in ``[0, vocab_size)``. A sample
    holds ids in ``[0, vocab_size)``; it may be empty (the column is then ``EOS`` and
    padding) but must not contain ``pad_id`` or ``eos_id`` itself.
    """
    eos = torch.tensor([eos_id], dtype=torch.long)
    columns = [torch.cat([s.long(), eos]) for s in samples]
    return pad_sequence(columns, padding_value=pad_id)


@checked(batch=Ids("L", "B", below=VOCAB_SIZE))
def decode_batch(batch: torch.Tensor) -> list[str]:
    """The text of each column of a ``(L, B)`` batch (``EOS`` and ``PAD`` print as
    nothing)."""
    return [code2string.bare(column) for column in batch.T]


@dataclass(frozen=True)
class SentenceLoaders:
    """Training and held-out sentences of a text, made by ``sentence_loaders``.

    ``train``: the training sentences, id tensors ``(len,)``. ``held_out``: the held-out
    sentences as text (prompts, references). ``test_batches``: the held-out sentences
    padded, ``(L, B)`` batches. ``train_loader()`` serves ``train`` in padded batches.
    ``validation`` and ``validation_batches``: the validation sentences, as text and
    padded in ``(L, B)`` batches (empty unless asked for), to select on.
    """

    train: list[torch.Tensor]
    held_out: list[str]
    test_batches: list[torch.Tensor]
    batch_size: int
    seed: int
    validation: list[str] = field(default_factory=list)
    validation_batches: list[torch.Tensor] = field(default_factory=list)

    def train_loader(self) -> DataLoader:
        """Shuffled ``(L, B)`` batches of ``batch_size`` training sentences (the last
        one may be smaller), in the same order at every call: each model compared sees
        the same batches."""
        return DataLoader(
            self.train,
            batch_size=self.batch_size,
            shuffle=True,
            collate_fn=pad_collate_fn.bare,  # our own encoded sentences
            generator=generator(self.seed + 1),
        )


def _padded(texts: list[str], size: int | None) -> list[torch.Tensor]:
    """``texts`` in padded ``(L, B)`` batches of ``size`` (all in one when ``None``)."""
    size = size or max(len(texts), 1)
    return [
        pad_collate_fn.bare([string2code(s) for s in texts[i : i + size]])
        for i in range(0, len(texts), size)
    ]


_SIZES = dict(held_out=Int(), batch_size=Int(), test_batch_size=Int(optional=True))


@checked(**_SIZES, validation=Int(0))
def sentence_loaders(
    text: str,
    *,
    maxlen: int,
    held_out: int,
    batch_size: int,
    test_batch_size: int | None = None,
    maxsent: int | None = None,
    seed: int = 0,
    validation: int = 0,
) -> SentenceLoaders:
    """The sentences of ``text`` of at most ``maxlen`` characters, split for training.

    The budget is ``TextDataset(text, maxsent, maxlen)``: the first ``maxsent``
    sentences of at most ``maxlen`` characters (all of them when ``maxsent`` is
    ``None``), so that a chapter runs as fast on a long file (``TEXT_PATH``) as on the
    default corpus. They are shuffled with ``companion.seeding.generator(seed)``; the
    first ``held_out`` are held out, in test batches of ``test_batch_size`` (all in one
    batch by default), the others are the training set, served by ``train_loader()`` in
    shuffled batches of ``batch_size`` (shuffled with ``generator(seed + 1)``).

    ``validation`` (0 by default: none) holds out that many more sentences, the next
    ones in the shuffled order, as ``validation`` and ``validation_batches`` (batches
    of ``test_batch_size``, all in one by default). They come out of the training set:
    the test sentences stay the same whatever ``validation`` is, and with
    ``validation=0`` everything is as without the argument.
    """
    dataset = TextDataset(text, maxsent=maxsent, maxlen=maxlen)
    if (n := len(dataset)) <= (kept := held_out + validation):
        raise ValueError(f"expected held_out + validation < {n} sentences, got {kept}")
    order = torch.randperm(n, generator=generator(seed)).tolist()
    texts = [dataset.sentences[i] for i in order[:held_out]]
    checks = [dataset.sentences[i] for i in order[held_out:kept]]  # validation
    train = [dataset[i] for i in order[kept:]]
    test_batches, check_batches = (_padded(t, test_batch_size) for t in (texts, checks))
    return SentenceLoaders(
        train, texts, test_batches, batch_size, seed, checks, check_batches
    )
