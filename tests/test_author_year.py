"""The bibliography's author–year labels (book/_ext/author_year.py)."""

import sys
from pathlib import Path

from pybtex.database import parse_string

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import author_year  # noqa: E402

BIB = """
@article{one, author = {Elman, Jeffrey L.}, title = {T}, year = {1990}}
@article{two, author = {Minsky, Marvin and Papert, Seymour}, title = {T}, year = {1969}}
@article{many, author = {Cho, K. and van Merrienboer, B. and Gulcehre, C.}, title = {A},
         year = {2014}}
@article{many2, author = {Cho, K. and Bengio, Y. and Courville, A.}, title = {B},
         year = {2014}}
"""


def test_labels_read_like_the_citations():
    entries = list(parse_string(BIB, "bibtex").entries.values())
    labels = list(author_year.AuthorYearLabels().format_labels(entries))
    assert labels == [
        "Elman 1990",
        "Minsky and Papert 1969",
        "Cho et al. 2014a",
        "Cho et al. 2014b",
    ]


def test_the_book_bibliography_gets_unique_labels():
    from pybtex.database import parse_file

    bib = Path(__file__).resolve().parents[1] / "book" / "references.bib"
    entries = list(parse_file(bib).entries.values())
    labels = list(author_year.AuthorYearLabels().format_labels(entries))
    assert len(set(labels)) == len(labels) and not any("{" in label for label in labels)
