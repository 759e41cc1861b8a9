"""A transduction task made offline: reverse a random string (chapter 7).

The source is a string of ``L`` symbols drawn uniformly from ``ALPHABET`` (the ten
letters ``a`` to ``j``), the target the same string reversed. Output symbol ``t`` (from
0) is input symbol ``L - 1 - t``: the first symbol written depends on the last one read
and the last written on the first read, so an encoder–decoder must carry every symbol
across the whole sequence, and the task gets harder as ``L`` grows. The true alignment
is the anti-diagonal. Reversal is one of the tasks on which attention was first shown to
learn an alignment (Bahdanau, Cho & Bengio 2015 use translation; the reversal and copy
tasks go back to Sutskever, Vinyals & Le 2014 and Graves et al.'s Neural Turing
Machines, 2014).

Ids follow the course: ``PAD`` 0, ``EOS`` 1, and the letters keep their ids of
``companion.data.text`` (``a`` is 2, …, ``j`` is 11), so ``code2string`` prints them and
a model needs only ``VOCAB_SIZE = 12`` ids. ``pad_collate_pairs`` batches
``(source, target)`` pairs with chapter 4's ``pad_collate_fn``: each column is a
sequence, then ``EOS``, then ``PAD``; ``length_buckets`` groups sequences of similar
lengths into batches. ``exact_match`` scores whole sequences."""

import torch
from torch import Generator
from torch.utils.data import Dataset

from companion.checks import Ids, Int, Is, checked
from companion.data.sentences import pad_collate_fn
from companion.data.text import EOS_ID, LETTRE2ID, PAD_ID

ALPHABET = "abcdefghij"
SYMBOL_IDS = tuple(LETTRE2ID[c] for c in ALPHABET)  # (2, …, 11)
VOCAB_SIZE = max(SYMBOL_IDS) + 1
_RNG = Is(Generator, optional=True)


def _check_pairs(door) -> None:
    """``samples``: a non-empty list of ``(source, target)`` pairs."""
    if not isinstance(samples := door.args["samples"], list | tuple) or not samples:
        raise ValueError(f"expected a non-empty list of pairs, got {samples!r:.60}")
    if not all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in samples):
        raise TypeError(
            f"expected samples of pairs (source, target), got {samples!r:.40}"
        )


def _check_padding(door) -> None:
    if bool((door.args["target"] == PAD_ID).all(0).any()):
        raise ValueError("expected a symbol per target column, got one only of padding")


class ReversalDataset(Dataset):
    """``size`` pairs ``(source (L,), target (L,))`` with ``target = source`` reversed.

    Each length ``L`` is drawn uniformly in ``[min_len, max_len]``, each symbol
    uniformly in ``ALPHABET``, with ``generator`` (a ``torch.Generator``; the global one
    when ``None``). Everything is drawn at construction: the data set is a fixed list,
    ``lengths`` a ``LongTensor (size,)``."""

    @checked(size=Int(), min_len=Int(size="min"), max_len=Int("min"), generator=_RNG)
    def __init__(
        self,
        size: int,
        min_len: int,
        max_len: int,
        generator: torch.Generator | None = None,
    ):
        self.lengths = torch.randint(min_len, max_len + 1, (size,), generator=generator)
        symbols = torch.tensor(SYMBOL_IDS)
        draws = torch.randint(len(SYMBOL_IDS), (size, max_len), generator=generator)
        self.sources = [
            symbols[draws[i, :n]] for i, n in enumerate(self.lengths.tolist())
        ]

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        source = self.sources[i]
        return source, source.flip(0)


@checked(_check_pairs)
def pad_collate_pairs(samples: list[tuple[torch.Tensor, torch.Tensor]]):
    """Batch ``(source (S_b,), target (T_b,))`` pairs into ``source (S, B)``,
    ``target (T, B)``.

    Both sides go through ``pad_collate_fn``: column ``b`` is the sequence, ``EOS``,
    then ``PAD``, so ``S = max S_b + 1`` and ``T = max T_b + 1``."""
    sources, targets = zip(*samples, strict=True)
    return pad_collate_fn(list(sources)), pad_collate_fn(list(targets))


@checked(lengths=Ids("N"), batch_size=Int(), generator=_RNG)
def length_buckets(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator | None = None
) -> list[list[int]]:
    """Batches of indices of similar lengths, in random order: a ``batch_sampler``.

    The indices are shuffled, sorted by ``lengths (N,)`` (a stable sort, so equal
    lengths stay shuffled) and cut into consecutive batches of ``batch_size`` (the last
    may be smaller), whose order is then shuffled. A batch then pads its columns to
    nearly their own length, and a recurrent network does not spend its steps on
    padding."""
    shuffled = torch.randperm(len(lengths), generator=generator)
    ordered = shuffled[lengths[shuffled].sort(stable=True).indices].tolist()
    batches = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    return [
        batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()
    ]


def _cut_at_eos(column: list[int], eos_id: int) -> list[int]:
    return column[: column.index(eos_id) + 1] if eos_id in column else column


@checked(_check_padding, predicted=Ids("Lp", "B"), target=Ids("Lt", "B"), eos_id=Int(0))
def exact_match(
    predicted: torch.Tensor, target: torch.Tensor, eos_id: int = EOS_ID
) -> torch.Tensor:
    """Whether each predicted sequence equals its target: a ``BoolTensor (B,)``.

    ``predicted (Lp, B)`` and ``target (Lt, B)`` are id columns; each is cut after its
    first ``eos_id`` (what follows is never read), and the two cuts must be equal,
    ``EOS`` included. A prediction that never writes ``EOS`` matches nothing. The
    exact-match accuracy of a batch is ``exact_match(...).float().mean()``. The door
    asks for a target column with a symbol in each column and an ``eos_id >= 0`` (an id
    that can occur: ``-1`` would never end a sequence, and nothing would match)."""
    return torch.tensor(
        [
            _cut_at_eos(p, eos_id) == _cut_at_eos(t, eos_id)
            for p, t in zip(predicted.T.tolist(), target.T.tolist(), strict=True)
        ],
        dtype=torch.bool,
    )
