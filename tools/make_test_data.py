"""Write the alternative data sets that ``make test-data`` runs the chapters on.

    .venv/bin/python tools/make_test_data.py OUT_DIR

The chapters' claims must hold on the course's own files, which are not in the
repository. These stand-ins have the same kind but another shape than the defaults:

* ``metro_twin.pch``: a second synthetic Hangzhou metro twin, drawn with another seed
  (so other peak times, widths, plateaus and station sizes, inside the real ranges of
  ``companion.data.metro``), saved like the course's ``hzdataset.pch``: a
  ``torch.save``d pair ``(train (18, 73, 80, 2), test (7, 73, 80, 2))`` of float32
  counts.
* ``metro_rough.pch``: the rough twin, ``synthetic_metro(**ROUGH_METRO)``, as rough as
  the course's file (issue 28): its flows stray from the mean day as much as the real
  ones, and forget it within about two hours, where the smooth twins' strays last all
  day. Each metro file is printed with these figures (``residual_figures``) next to
  the real file's.
* ``fortunes.txt``: short, spoken-style English sentences, about 2 MB: the
  fortune-cookie quotations of Debian's ``fortunes`` package (sayings, jokes, dialogue),
  one per line. Like the course's speeches (median sentence 60 characters, 22% under
  30), unlike the default corpus (median 105). Its size also tests that chapters train
  on a budget, not on the file.
* ``licenses.txt``: legal English with long sentences, Debian's
  ``/usr/share/common-licenses`` (GPL, LGPL, Apache, MPL, Artistic, CC0, GFDL), each
  text once.

Each file is printed with its sentence-length figures.
"""

import statistics
import sys
from pathlib import Path

import torch

from companion.data.metro import (
    ROUGH_METRO,
    residual_figures,
    residual_table,
    synthetic_metro,
)
from companion.data.sentences import split_sentences
from companion.data.text import normalize

FORTUNES = Path("/usr/share/games/fortunes")
LICENSES = Path("/usr/share/common-licenses")
# Fortune files of pictures, lists or non-English text: not sentences.
NOT_PROSE = {"art", "ascii-art", "definitions", "translate-me", "debian", "knghtbrd"}


def fortunes_text() -> str:
    """One quotation per line, attributions and layout removed."""
    if not (FORTUNES / "fortunes").is_file():
        raise SystemExit(
            f"expected Debian's 'fortunes' package in {FORTUNES}: "
            "apt-get install fortunes (make test-data does it as root)"
        )
    quotes = []
    for path in sorted(FORTUNES.iterdir()):
        if path.suffix or path.name in NOT_PROSE or not path.is_file():
            continue
        for entry in path.read_text(encoding="utf-8", errors="ignore").split("\n%\n"):
            lines = [line.strip() for line in entry.splitlines()]
            lines = [line for line in lines if line and not line.startswith("--")]
            text = " ".join(lines)
            if sum(c.isalpha() for c in text) > 0.6 * len(text) > 0:
                quotes.append(text)
    return "\n".join(quotes) + "\n"


def licenses_text() -> str:
    seen, texts = set(), []
    for path in sorted(LICENSES.iterdir()):
        real = path.resolve()
        if real in seen or not real.is_file():
            continue
        seen.add(real)
        texts.append(real.read_text(encoding="utf-8", errors="ignore"))
    return "\n\n".join(texts)


def describe(name: str, text: str) -> str:
    lengths = [len(s) for s in split_sentences(normalize(text))]
    q = statistics.quantiles(lengths, n=10)
    short = sum(n < 30 for n in lengths) / len(lengths)
    long = sum(n > 100 for n in lengths) / len(lengths)
    return (
        f"{name}: {len(text) / 1e6:.2f} M characters, {len(lengths)} sentences, lengths q10 "  # noqa: E501
        f"{q[0]:.0f} median {statistics.median(lengths):.0f} q90 {q[8]:.0f}; "
        f"{short:.0%} under 30, {long:.0%} over 100"
    )


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, kwargs in (
        ("metro_twin.pch", {"seed": 2026}),
        ("metro_rough.pch", ROUGH_METRO),
    ):
        flows = synthetic_metro(**kwargs)
        torch.save(flows, out / name)
        print(f"{name}: synthetic_metro(**{kwargs}) in {out}")
        print(residual_table(residual_figures(*flows)))
    for name, text in (
        ("fortunes.txt", fortunes_text()),
        ("licenses.txt", licenses_text()),
    ):
        (out / name).write_text(text, encoding="utf-8")
        print(describe(name, text))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tools/make_test_data.py OUT_DIR")
    main(sys.argv[1])
