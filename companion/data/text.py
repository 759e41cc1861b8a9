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

from companion.checks import check_integer, check_positive_int, check_tensor

LETTRES = string.ascii_letters + string.punctuation + string.digits + " "
PAD_ID = 0
EOS_ID = 1
VOCAB_SIZE = len(LETTRES) + 2
ID2LETTRE = {PAD_ID: "", EOS_ID: "", **{i + 2: c for i, c in enumerate(LETTRES)}}
LETTRE2ID = {c: i for i, c in ID2LETTRE.items() if c}


def normalize(s: str) -> str:
    """NFD-normalise ``s`` and drop every character that is not in ``LETTRES``.

    Line breaks and tabs become spaces first, so words on two lines stay apart.
    """
    if not isinstance(s, str):
        raise TypeError(f"expected the text to be a str, got {type(s).__name__}")
    s = s.replace("\n", " ").replace("\t", " ")
    return "".join(c for c in unicodedata.normalize("NFD", s) if c in LETTRE2ID)


def string2code(s: str) -> torch.Tensor:
    """Encode a string as a 1-D ``LongTensor`` of ids ``(len(normalize(s)),)``."""
    return torch.tensor([LETTRE2ID[c] for c in normalize(s)], dtype=torch.long)


def code2string(t) -> str:
    """Decode a 1-D sequence of ids (tensor or list) to text; PAD and EOS print as
    nothing."""
    if not isinstance(t, list | tuple):
        check_tensor("t", t, ("L",))
        check_integer("t", t)
        t = t.tolist()
    bad = [
        i
        for i in t
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < VOCAB_SIZE
    ]
    if bad:
        raise ValueError(f"expected t to hold ids in [0, {VOCAB_SIZE}), got {bad[0]!r}")
    return "".join(ID2LETTRE[i] for i in t)


def default_corpus() -> str:
    """Real English prose shipped with every CPython: the language reference's help
    topics.

    ``pydoc_data.topics`` holds the text that ``help("if")`` prints (about 0.5 MB once
    normalised). The topics are sorted by name, so the result is the same on every
    machine with the same Python version."""
    from pydoc_data.topics import topics

    return normalize(" ".join(topics[k] for k in sorted(topics)))


def load_corpus(path: str | Path | None = None) -> str:
    """The corpus a chapter trains on: ``path`` if given, else the file named by the
    environment variable ``TEXT_PATH`` (how a teacher points every chapter at the
    course's speeches; empty counts as unset), else ``default_corpus()``. Normalised in
    every case. An empty ``path`` raises ``ValueError``: pass ``None`` for the
    default."""
    if path is None:
        path = os.environ.get("TEXT_PATH") or None
    elif not str(path):
        raise ValueError(
            "expected path to name a text file, got an empty string "
            "(pass None for the default corpus)"
        )
    return default_corpus() if path is None else load_text(path)


def check_text(name: str, text) -> str:
    """Return ``text`` if it is a ``str`` of text, not the path of a file.

    A dataset takes the text itself: given the path of an existing file, it would build
    a data set of the path's characters, so that raises ``ValueError`` with the hint
    ``load_text(path)``."""
    if not isinstance(text, str):
        raise TypeError(
            f"expected {name} to be a str of text, got {type(text).__name__}"
        )
    if "\n" not in text and len(text) < 4096:
        try:
            is_file = Path(text).is_file()
        except (OSError, ValueError):  # not a valid path at all
            is_file = False
        if is_file:
            raise ValueError(
                f"expected {name} to be the text itself, got the path of a file "
                f"({text!r}): read it with load_text(path) first"
            )
    return text


def load_text(path: str | Path) -> str:
    """Read a UTF-8 text file (e.g. the course's speeches) and normalise it.

    Raises ``FileNotFoundError`` naming the path, and ``ValueError`` if the file is not
    UTF-8 text or holds no usable character.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"expected a UTF-8 text file at {path}, found nothing there"
        )
    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"expected a UTF-8 text file at {path}: {err}") from err
    text = normalize(raw)
    if not text:
        raise ValueError(
            f"expected text with characters from LETTRES in {path}, got none"
        )
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
    leaves the data set as it was."""

    def __init__(self, text: str, length: int = 32):
        check_positive_int("length", length)
        self.codes = string2code(check_text("text", text))
        if len(self.codes) < length + 1:
            raise ValueError(
                f"expected a text of at least {length + 1} usable characters, "
                f"got {len(self.codes)}"
            )
        self.length = length

    def __len__(self) -> int:
        return (len(self.codes) - 1) // self.length

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"expected an index in [0, {len(self)}), got {i}")
        start = (i % len(self)) * self.length
        window = self.codes[start : start + self.length + 1]
        return window[:-1].clone(), window[1:].clone()
