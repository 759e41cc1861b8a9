"""A local Sphinx extension: bibliography labels in author–year form, like the
citations.

The chapters cite with ``bibtex_reference_style: author_year`` ("Cho et al. (2014)"),
but sphinxcontrib-bibtex labels the bibliography with pybtex's ``alpha`` style by
default ("[CvMerrienboerG+14]"). The pybtex formatting style ``author_year`` registered
here is pybtex's ``unsrt`` with labels "Cho et al. 2014" (one author: "Elman 1990"; two:
"Minsky and Papert 1969"), a letter added when two entries would get the same label, and
entries sorted by author, year and title. Select it with
``bibtex_default_style: author_year``."""

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle


def author_year_label(entry) -> str:
    """``"Surname year"``, ``"A and B year"`` or ``"A et al. year"`` for a pybtex
    entry."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [" ".join(p.prelast_names + p.last_names) for p in people]
    if not surnames:
        names = entry.fields.get("key", entry.key)
    elif len(surnames) == 1:
        names = surnames[0]
    elif len(surnames) == 2:
        names = f"{surnames[0]} and {surnames[1]}"
    else:
        names = f"{surnames[0]} et al."
    return f"{names} {entry.fields.get('year', 'n.d.')}".replace("{", "").replace(
        "}", ""
    )


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [author_year_label(entry) for entry in sorted_entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                label = f"{label}{chr(ord('a') + seen[label] - 1)}"
            yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = SortingStyle


def setup(app):
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
