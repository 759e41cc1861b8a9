"""One number per thing: the numbers of tools/numbering.py are those of the built book,
and the intro, the teachers page, the chapters' prose and the student notebooks use
them."""

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from numbering import NumberingError, read_book, table  # noqa: E402

BOOK = read_book(ROOT)
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
CHAPTERS = [p for p in BOOK.pages if p.number is not None]


def write(root, toc, **pages):
    """A small book: ``toc`` (YAML text) and ``pages`` (name: Markdown)."""
    (root / "book").mkdir(parents=True, exist_ok=True)
    (root / "_toc.yml").write_text(toc)
    for name, text in pages.items():
        (root / "book" / f"{name}.md").write_text(text)
    return root


TOC = """format: jb-book
root: book/intro
parts:
  - caption: Chapters
    numbered: true
    chapters:
      - file: book/a
        sections:
          - file: book/a2
      - file: book/b
  - caption: Appendix
    chapters:
      - file: book/z
"""
PAGES = {
    "intro": "# Intro\n\n## Not numbered\n",
    "a": "(ch-a)=\n# A\n\n## One\n\n### One.one\n\n## Two\n\n"
    "```{exercise}\n:label: a-ex1\n\nDo.\n```\n\n"
    "$$\nx\n$$ (eq-a)\n\n"
    "```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    name: fig-a\n"
    "    caption: A figure.\n---\nplot()\n```\n",
    "a2": "# A two\n\n## Inside\n\n```{exercise} Titled\n:label: a2-ex1\n```\n\n"
    "```{figure} x.png\n:name: fig-a2\n\nCaption.\n```\n",
    "b": "# B\n\n```{exercise}\n:label: b-ex1\n```\n\n```{exercise}\n:nonumber:\n```\n"
    "\n```{exercise}\n:label: b-ex2\n```\n",
    "z": "# Appendix page\n\n## Its section\n",
}


def test_sections_pages_figures_equations_and_exercises_are_numbered_as_sphinx(
    tmp_path,
):
    book = read_book(write(tmp_path, TOC, **PAGES))
    assert [(p.doc, p.number) for p in book.pages] == [
        ("book/intro", None),
        ("book/a", (1,)),
        ("book/a2", (1, 3)),  # after the chapter's two sections
        ("book/b", (2,)),
        ("book/z", None),
    ]
    assert book.page("a2").title == "A two"
    sections = [t.numbered for t in book.of_kind("section") if t.number]
    assert sections == ["1.1", "1.1.1", "1.2", "1.3.1"]
    refs = {label: book.target(label).reference() for label in book.labels}
    assert refs == {
        "ch-a": "Section 1",
        "a-ex1": "Exercise 1.1",
        "eq-a": "(1.1)",
        "fig-a": "Fig. 1.1",
        "a2-ex1": "Exercise 1.2",  # a page under a chapter counts on
        "fig-a2": "Fig. 1.2",
        "b-ex1": "Exercise 2.1",
        "b-ex2": "Exercise 2.2",  # the unnumbered one between them counts for nothing
    }
    assert book.target("fig-a").title == "A figure."
    with pytest.raises(NumberingError, match="expected the label 'nope'"):
        book.target("nope")
    assert table(book).split("\n")[:2] == ["[1 A](a.md)", "[1.3 A two](a2.md)"]


def test_a_chapter_inserted_in_the_toc_renumbers_what_follows(tmp_path):
    toc = TOC.replace(
        "      - file: book/b\n", "      - file: book/new\n      - file: book/b\n"
    )
    book = read_book(write(tmp_path, toc, new="# New\n", **PAGES))
    assert book.page("b").number == (3,)
    assert book.target("b-ex2").reference() == "Exercise 3.2"


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ({"a": "# A\n\n# Another top heading\n"}, r"a.md:3: the heading"),
        ({"b": "# B\n\n(x)=\n## S\n\n(x)=\n## T\n"}, r"b.md:7: the label 'x'"),
    ],
)
def test_bad_pages_are_named_with_their_line(tmp_path, pages, message):
    with pytest.raises(NumberingError, match=message):
        read_book(write(tmp_path, TOC, **{**PAGES, **pages}))


def test_a_missing_page_is_named(tmp_path):
    write(tmp_path, TOC, **PAGES)
    (tmp_path / "book" / "b.md").unlink()
    with pytest.raises(NumberingError, match=r"lists 'book/b', but .*b.md is missing"):
        read_book(tmp_path)


# The real book: every number a reader sees agrees with the numbering.


def page_links(text: str) -> list[tuple[str, str]]:
    """``(number, page)`` for each link to a page whose text starts with a number:
    ``[2.9 Title](02b_name.md)``, ``[chapter 4](04_name.md)``, ``[5](05_name.md)``."""
    links = re.findall(r"\[([^\]]*)\]\(([\w-]+)\.md\)", text)
    return [
        (re.findall(r"\b\d+(?:\.\d+)*\b", said)[0], page)
        for said, page in links
        if re.match(r"(\d|[Cc]hapters? \d|[Ss]ections? \d)", said)
    ]


def test_the_intro_table_lists_every_numbered_page_with_its_number():
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    rows = [r for r in intro.split("\n") if r.startswith("| [")]
    links = [page_links(row)[0] for row in rows]
    assert links == [(p.numbered, Path(p.doc).name) for p in CHAPTERS]


@pytest.mark.parametrize("name", ["intro", "teachers"])
def test_section_numbers_in_the_intro_and_teachers_pages_are_the_books(name):
    text = (ROOT / "book" / f"{name}.md").read_text(encoding="utf-8")
    numbers = {p.numbered for p in CHAPTERS} | {
        t.numbered for t in BOOK.of_kind("section") if t.number
    }
    for number, page in page_links(text):
        assert number == BOOK.page(page).numbered, (number, page)
    # "section 2.9", "sections 4.10 and 5.8", "(2.9, 4.10, …)": numbers that exist
    for phrase in re.findall(r"[Ss]ections? ([\d., and]+)|\((\d+\.\d+), ", text):
        for number in re.findall(r"\d+(?:\.\d+)+", " ".join(phrase)):
            assert number in numbers, f"{name}.md: section {number} does not exist"


NUMBERED = re.compile(
    r"\b(Exercises?|Fig\.|Figures?|Sections?|Chapters?|§)\s?(\d+(?:\.\d+)*)",
    re.IGNORECASE,
)


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: Path(p.doc).name)
def test_the_prose_numbers_what_it_links_and_nothing_by_hand(page):
    """``{ref}`chapter 4 <ch-sentences>``` says the number of the page it links; an
    exercise, figure or section of the book is cited with ``{numref}``, never by a
    number typed in ("Exercise 3" where the box says 5.3)."""
    text = page.path.read_text(encoding="utf-8")
    for said, label in re.findall(r"\{ref\}`([^`<]*?)\s*<([\w-]+)>`", text):
        target = BOOK.target(label)
        if target.kind == "page" and re.search(r"\d", said):
            number = re.findall(r"\d+(?:\.\d+)*", said)[-1]
            assert number == target.numbered, f"{said!r} links {label}"
    prose = re.sub(r"```\{code-cell\}.*?\n```", "", text, flags=re.DOTALL)
    for line in prose.split("\n"):
        line = re.sub(r"\{(ref|numref|eq)\}`[^`]*`", "", line)
        for match in NUMBERED.finditer(line):
            before = line[: match.start()]
            if re.search(r"(\bits|paper's|TP\d,?)\s*$", before):
                continue  # a number in another document: "its section 2.5"
            raise AssertionError(f"{page.path.name}: {match[0]!r} typed by hand")


def built(html: Path, page) -> dict[str, list]:
    """What the built page shows: heading numbers in order, and the numbers of its
    figures, equations and exercises by label."""
    text = (html / f"{page.doc}.html").read_text(encoding="utf-8")
    article = text[text.find('<article class="bd-article"') :]
    headings = re.findall(
        r'<h\d><span class="section-number">([\d.]+)\. </span>', article
    )
    figures = re.findall(
        r'<figure[^>]*id="([^"]+)">.*?caption-number">Fig\. ([\d.]+) ', article, re.S
    )
    exercises = re.findall(
        r'class="exercise admonition" id="([^"]+)">\s*<p class="admonition-title">'
        r'<span class="caption-number">Exercise ([\d.]+) ',
        article,
    )
    equations = re.findall(
        r'id="equation-([^"]+)">\s*<span class="eqno">\(([\d.]+)\)', article
    )
    return {
        "headings": headings,
        "figures": figures,
        "exercises": exercises,
        "equations": equations,
    }


@pytest.mark.skipif(  # `make browser-test` sets BOOK_HTML: there a missing book fails
    not (HTML / "book" / "intro.html").is_file() and "BOOK_HTML" not in os.environ,
    reason=f"no built book at {HTML} (make book, or set BOOK_HTML)",
)
@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: Path(p.doc).name)
def test_the_numbers_are_those_of_the_built_book(page):
    shown = built(HTML, page)
    sections = [page.numbered] + [
        t.numbered for t in page.targets if t.kind == "section"
    ]
    assert shown["headings"] == sections
    for kind, key in (("figure", "figures"), ("exercise", "exercises")):
        ours = [(t.label, t.numbered) for t in page.targets if t.kind == kind]
        assert shown[key] == ours, kind
    ours = [(t.label, t.numbered[1:-1]) for t in page.targets if t.kind == "equation"]
    assert shown["equations"] == ours
