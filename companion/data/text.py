"""Characters ↔ ids with the course's conventions, and the offline default corpus.

``PAD`` is id 0, ``EOS`` id 1, and the characters of ``LETTRES`` (letters, punctuation,
digits, space: 95 symbols) have ids 2 to 96, so the vocabulary has ``VOCAB_SIZE = 97``
ids. Text is normalised with Unicode NFD and every character outside ``LETTRES`` is
dropped (accents fall off their letters, line breaks disappear)."""

import os
import string
import unicodedata
from pathlib import Path

import torch
import torch.utils.data
from torch.utils.data import Subset

from companion.checks import Ids, Int, Is, Real, Rule, That, checked

LETTRES = string.ascii_letters + string.punctuation + string.digits + " "
PAD_ID = 0
EOS_ID = 1
VOCAB_SIZE = len(LETTRES) + 2
ID2LETTRE = {PAD_ID: "", EOS_ID: "", **{i + 2: c for i, c in enumerate(LETTRES)}}
LETTRE2ID = {c: i for i, c in ID2LETTRE.items() if c}


@checked(s=Is(str))
def normalize(s: str) -> str:
    """NFD-normalise ``s`` and drop every character that is not in ``LETTRES``.

    Line breaks and tabs become spaces first, so words on two lines stay apart.
    """
    s = s.replace("\n", " ").replace("\t", " ")
    return "".join(c for c in unicodedata.normalize("NFD", s) if c in LETTRE2ID)


def string2code(s: str) -> torch.Tensor:
    """Encode a string as a 1-D ``LongTensor`` of ids ``(len(normalize(s)),)``."""
    return torch.tensor([LETTRE2ID[c] for c in normalize(s)], dtype=torch.long)


def _check_codes(t, door) -> None:
    """A 1-D integer tensor, or a list, of ids in ``[0, VOCAB_SIZE)``."""
    if not isinstance(t, list | tuple):
        return Ids("L", below=VOCAB_SIZE).check("t", t, door)
    if not all(type(i) is int and 0 <= i < VOCAB_SIZE for i in t):
        raise ValueError(f"expected t to hold ids in [0, {VOCAB_SIZE}), got {t!r:.60}")


@checked(t=Rule(_check_codes))
def code2string(t) -> str:
    """Decode a 1-D sequence of ids (tensor or list) to text; PAD and EOS print as
    nothing."""
    return "".join(ID2LETTRE[i] for i in (t.tolist() if torch.is_tensor(t) else t))


def default_corpus() -> str:
    """Real English prose shipped with every CPython: the language reference's help
    topics.

    ``pydoc_data.topics`` holds the text that ``help("if")`` prints (about 0.5 MB once
    normalised). The topics are sorted by name, so the result is the same on every
    machine with the same Python version."""
    from pydoc_data.topics import topics

    return normalize.bare(" ".join(topics[k] for k in sorted(topics)))


def _check_text(text, door) -> str | None:
    """The text itself, not the path of a file (a data set of the path's characters
    would be built without a word): the hint is ``load_text(path)``."""
    Is(str).check("text", text, door)
    if os.path.isfile(text):  # False for a long text, or one that is no valid path
        return f"expected text, got the path of a file {text!r}: use load_text(path)"


TEXT_ARG = Rule(_check_text)  # a text argument: a str, not the path of a file


@checked(path=That(lambda path: path != "", "expected path, got an empty string"))
def load_corpus(path: str | Path | None = None) -> str:
    """The corpus a chapter trains on: ``path`` if given, else the file named by the
    environment variable ``TEXT_PATH`` (how a teacher points every chapter at the
    course's speeches; empty counts as unset), else ``default_corpus()``. Normalised in
    every case. An empty ``path`` raises ``ValueError``: pass ``None`` for the
    default."""
    path = path or os.environ.get("TEXT_PATH") or None
    return default_corpus() if path is None else load_text(path)


def load_text(path: str | Path) -> str:
    """Read a UTF-8 text file (e.g. the course's speeches) and normalise it.

    Raises ``FileNotFoundError`` naming the path, and ``ValueError`` naming it if the
    file is not UTF-8 text or holds no usable text: nothing from ``LETTRES`` but
    spaces (a file of line breaks, tabs or no-break spaces holds none).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"expected a UTF-8 text file at {path}, found nothing there"
        )
    try:
        text = normalize.bare(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"expected a UTF-8 text file at {path}: {err}") from err
    if not text.strip():
        raise ValueError(f"expected text in {path}, got no LETTRES but spaces")
    return text


class CharWindowDataset(torch.utils.data.Dataset):
    """Fixed-length windows of a text for next-character prediction (TP3's generation
    task).

    The text is encoded once with ``string2code`` and cut into consecutive,
    non-overlapping windows of ``length + 1`` ids (window ``i`` starts at
    ``i * length``, so each one shares its first id with the end of the previous). Item
    ``i`` is ``(input (length,), target (length,))``, the target being the input shifted
    by one character; a ``DataLoader`` batches them to ``(B, length)``. No PAD and no
    EOS: every sequence has the same length, as in TP3. Items are copies: editing one
    leaves the data set as it was. A text of fewer than ``length + 1`` usable
    characters raises ``ValueError``. ``split(validation, test)`` cuts the windows into
    a training, a validation and a test set."""

    @checked(text=TEXT_ARG, length=Int())
    def __init__(self, text: str, length: int = 32):
        codes = string2code(text)
        if len(codes) <= length:
            raise ValueError(
                f"expected at least {length + 1} usable characters, got {len(codes)}"
            )
        self.codes, self.length = codes, length

    def __len__(self) -> int:
        return (len(self.codes) - 1) // self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        start = range(0, len(self) * self.length, self.length)[i]  # IndexError
        window = self.codes[start : start + self.length + 1]
        return window[:-1].clone(), window[1:].clone()

    @checked(validation=Real(0, 1, high_open=True), test=Real(0, 1, high_open=True))
    def split(
        self, validation: float = 0.1, test: float = 0.1
    ) -> tuple[Subset, Subset, Subset]:
        """``(train, validation, test)``: three ``Subset``s of consecutive windows, in
        the text's order, so that no held-out passage is read in training.

        The last ``int(test · len(self))`` windows are the test set (the end of the
        text), the ``int(validation · len(self))`` before them the validation set, and
        the windows before those the training set. With ``validation=0`` the validation
        set is empty. Raises ``ValueError`` if the training set would be empty."""
        n = len(self)
        second = n - int(test * n)
        first = second - int(validation * n)
        if first < 1:
            raise ValueError("expected validation + test to leave windows to train on")
        return tuple(
            Subset(self, range(a, b))
            for a, b in ((0, first), (first, second), (second, n))
        )
