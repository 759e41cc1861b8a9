"""The book's numbers, derived from ``_toc.yml`` and the pages: one number per thing.

    .venv/bin/python tools/numbering.py            # prints every numbered thing
    .venv/bin/python tools/numbering.py --table    # the intro's table of pages

Sphinx numbers the book from its table of contents (``numbered: true``): the chapters of
a numbered part are 1, 2, …; the ``##`` sections of chapter 2 are 2.1, 2.2, …; and the
pages listed under a chapter in ``_toc.yml`` come after its last section, so with eight
sections the first one is 2.9. Figures, labelled equations and exercises are counted
per chapter (``numfig_secnum_depth: 1``) in reading order, the chapter's pages
included: Fig. 2.7, (2.3), Exercise 2.11. This module computes the same numbers from
the same sources, without building the book, so that the student notebooks
(tools/student.py) and the tests (tests/test_numbering.py) use the numbers the HTML
shows. A chapter inserted in ``_toc.yml`` renumbers everything after it; nothing here
is written by hand.

Each page is read with myst-parser's markdown-it (the book's parser); what counts:

* headings outside directives (the first ``#`` is the page's title);
* ``{exercise}`` and ``{exercise-start}`` directives, without ``:nonumber:``;
* figures: ``{figure}`` with a ``:name:``, and code cells whose ``mystnb`` metadata
  has ``figure: name:`` (a figure drawn by the cell);
* labelled equations: ``$$ ... $$ (label)`` and ``{math}`` with a ``:label:``;
* ``{table}`` with a ``:name:``;
* targets ``(label)=``, which name the block after them."""

import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser
from myst_parser.parsers.options import TokenizeError, options_to_items

ROOT = Path(__file__).resolve().parents[1]
EXTENSIONS = {"amsmath", "colon_fence", "deflist", "dollarmath", "substitution"}
# What Sphinx puts before a number (numfig_format of _config.yml, sphinx-exercise).
PREFIX = {
    "figure": "Fig. ",
    "table": "Table ",
    "exercise": "Exercise ",
    "section": "Section ",
    "page": "Section ",
}
# Directives whose body is MyST: a figure or an exercise may sit in it.
NESTED = {
    "admonition",
    "attention",
    "caution",
    "danger",
    "epigraph",
    "error",
    "hint",
    "important",
    "margin",
    "note",
    "seealso",
    "sidebar",
    "tip",
    "topic",
    "warning",
}


# Directives that hold something numbered, or a label.
COUNTED = {"exercise", "exercise-start", "figure", "table", "math", "code-cell"}


class NumberingError(ValueError):
    """The table of contents or a page cannot be read; the message names it."""


@dataclass
class Target:
    """One numbered (or labelled) thing of the book."""

    kind: str  # page, section, figure, equation, exercise, table, other
    doc: str  # the page's docname, "book/02_rnn"
    line: int  # 1-based line of the page
    number: tuple[int, ...] | None = None  # None: not numbered
    title: str = ""  # heading, caption, exercise title
    label: str | None = None

    @property
    def numbered(self) -> str:
        """The number as the HTML writes it: ``2.9``, ``(2.3)`` for an equation."""
        if self.number is None:
            return ""
        text = ".".join(map(str, self.number))
        return f"({text})" if self.kind == "equation" else text

    def reference(self) -> str:
        """What ``{numref}`` shows: "Exercise 5.3", "Fig. 2.1", "(2.3)",
        "Section 2.9"."""
        if self.number is None:
            raise NumberingError(
                f"{self.doc}:{self.line}: {self.label or self.kind} has no number"
            )
        return PREFIX.get(self.kind, "") + self.numbered


@dataclass
class Page:
    """A page of the table of contents, in reading order."""

    doc: str
    path: Path
    number: tuple[int, ...] | None
    parent: str | None  # the chapter a page of sections belongs to
    title: str = ""
    targets: list[Target] = field(default_factory=list)

    @property
    def numbered(self) -> str:
        """``2.9``; empty for a page outside the numbered part."""
        return ".".join(map(str, self.number)) if self.number else ""


@dataclass
class Book:
    """Every page, in order, and every label's target."""

    pages: list[Page]
    labels: dict[str, Target]

    def page(self, doc: str) -> Page:
        """The page ``doc`` ("book/02_rnn" or "02_rnn")."""
        for page in self.pages:
            if page.doc == doc or page.path.stem == doc:
                return page
        raise NumberingError(f"expected a page {doc!r} in _toc.yml, found none")

    def target(self, label: str) -> Target:
        """The target of ``label``; a clear error when no page defines it."""
        try:
            return self.labels[label]
        except KeyError:
            raise NumberingError(
                f"expected the label {label!r} to be defined in a page of "
                "_toc.yml, found none"
            ) from None

    def of_kind(self, kind: str, doc: str | None = None) -> list[Target]:
        """The targets of one kind, in reading order (of one page if ``doc``)."""
        return [
            t
            for page in self.pages
            if doc is None or page.doc == doc or page.path.stem == doc
            for t in page.targets
            if t.kind == kind
        ]


@cache
def _parser() -> MarkdownIt:
    return create_md_parser(MdParserConfig(enable_extensions=EXTENSIONS), RendererHTML)


def _toc_pages(toc: dict, where: Path) -> list[tuple[str, tuple[int, ...] | None, str]]:
    """``(docname, number, parent)`` for each page of a jb-book ``toc``, in order."""
    if not isinstance(toc, dict) or "root" not in toc:
        raise NumberingError(f"{where}: expected a jb-book table with a 'root' key")
    out = [(str(toc["root"]), None, None)]
    parts = toc.get("parts") or [{"chapters": toc.get("chapters", [])}]
    chapter = 0
    for part in parts:
        numbered = bool(part.get("numbered", False))
        for entry in part.get("chapters") or []:
            if "file" not in entry:
                continue  # a URL or a glob: Sphinx numbers neither
            number = None
            if numbered:
                chapter += 1
                number = (chapter,)
            out.append((str(entry["file"]), number, None))
            out += _sections(entry, number, str(entry["file"]))
    return out


def _sections(entry: dict, number, parent: str) -> list:
    """The pages listed under ``entry``, numbered after its own sections (filled in
    later: their place depends on how many sections the parent page has)."""
    out = []
    for sub in entry.get("sections") or []:
        if "file" in sub:
            out.append((str(sub["file"]), number and (), parent))
            out += _sections(sub, number and (), str(sub["file"]))
    return out


def _directive(token: Token) -> tuple[str | None, str]:
    parts = token.info.strip().split(maxsplit=1)
    name = parts[0] if parts else ""
    if name.startswith("{") and name.endswith("}"):
        return name[1:-1].lower(), parts[1] if len(parts) > 1 else ""
    return None, token.info.strip()


def _options(content: str) -> tuple[dict, int]:
    """A directive's options (``:key: value`` lines or a ``---`` YAML block) and the
    index of its body's first line."""
    lines = content.split("\n")
    if lines and lines[0].startswith("---"):
        for k in range(1, len(lines)):
            if re.match(r"-{3,}", lines[k]):
                try:
                    options = yaml.safe_load("\n".join(lines[1:k]))
                    return (options if isinstance(options, dict) else {}), k + 1
                except yaml.YAMLError as err:
                    raise NumberingError(f"options do not parse: {err}") from None
        return {}, len(lines)
    k = 0
    while k < len(lines) and re.match(r"\s*:[\w-]+:", lines[k]):
        k += 1
    block = "\n".join(line.lstrip()[1:] for line in lines[:k])
    if not k:
        return {}, 0
    try:
        return dict(options_to_items(block)[0]), k
    except TokenizeError:
        try:  # code cells' options are YAML, as jupytext reads them
            options = yaml.safe_load(block)
        except yaml.YAMLError as err:
            raise NumberingError(f"options do not parse: {err}") from None
        return (options if isinstance(options, dict) else {}), k


def _blocks(text: str, first: int = 0):
    """``(kind, line, label, title, level)`` for each thing of a MyST ``text`` that
    Sphinx numbers, or that a label names, in reading order; ``first`` is the line of
    the page that is ``text``'s line 0."""
    tokens = _parser().parse(text)
    pending = None  # a (label)= target waiting for the block it names
    for i, token in enumerate(tokens):
        if token.map is None or token.level != 0:
            continue
        line = first + token.map[0] + 1
        kind = label = None
        title, level = "", 0
        if token.type == "myst_target":
            if pending is not None:
                yield "other", pending[1], pending[0], "", 0
            pending = (token.content.strip(), line)
            continue
        if token.type == "heading_open":
            kind, level = "heading", int(token.tag[1])
            title = tokens[i + 1].content.strip()
        elif token.type == "math_block_label":
            kind, label, title = "equation", token.info.strip(), token.content
        elif token.type in ("fence", "colon_fence"):
            name, argument = _directive(token)
            if name is not None and name in COUNTED | NESTED:
                try:
                    options, body = _options(token.content)
                except NumberingError as err:
                    raise NumberingError(f"line {line}: {err}") from None
                kind, label, title = _classify(name, argument, options, token)
                if name in NESTED | {"exercise", "exercise-start"}:
                    inner = "\n".join(token.content.split("\n")[body:])
                    yield from _blocks(inner, line + body)
            elif token.type == "colon_fence":
                yield from _blocks(token.content, line)
        if (
            token.type
            in (
                "paragraph_open",
                "bullet_list_open",
                "ordered_list_open",
                "table_open",
                "blockquote_open",
                "html_block",
                "math_block",
                "amsmath",
            )
            and kind is None
        ):
            kind = "other"
        if kind is None:
            continue
        if pending is not None:
            if label is None:
                label = pending[0]
            else:
                yield "other", pending[1], pending[0], title, 0
            pending = None
        yield kind, line, label, title, level
    if pending is not None:
        yield "other", pending[1], pending[0], "", 0


def _classify(name: str, argument: str, options: dict, token: Token):
    """``(kind, label, title)`` of a directive."""
    label = options.get("label") or options.get("name")
    if name in ("exercise", "exercise-start"):
        kind = "exercise-unnumbered" if "nonumber" in options else "exercise"
        return kind, label, argument
    if name == "figure":
        caption = token.content.split("\n")
        return ("figure" if label else "other"), label, " ".join(caption).strip()
    if name == "table":
        return ("table" if label else "other"), label, argument
    if name == "math":
        return ("equation" if label else "other"), label, ""
    if name == "code-cell":
        figure = (options.get("mystnb") or {}).get("figure") or {}
        if isinstance(figure, dict) and figure.get("name"):
            caption = " ".join(str(figure.get("caption", "")).split())
            return "figure", str(figure["name"]), caption
        return "other", label, ""
    return "other", label, argument


_BOOKS: dict = {}  # read_book's results, by root and the state of its files


def read_book(root: str | Path = ROOT) -> Book:
    """The book at ``root`` (a folder with ``_toc.yml``), numbered as Sphinx does.

    The result is kept while ``_toc.yml`` and the pages are unchanged (same size and
    modification time), so that the tools can ask for it once per chapter."""
    root = Path(root).resolve()
    try:
        files = [root / "_toc.yml", *sorted((root / "book").glob("*.md"))]
        key = (root, tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    except OSError:
        key = None
    if key is not None and key in _BOOKS:
        return _BOOKS[key]
    book = _read_book(root)
    if key is not None:
        _BOOKS.clear()
        _BOOKS[key] = book
    return book


def _read_book(root: Path) -> Book:
    toc_path = root / "_toc.yml"
    try:
        toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NumberingError(f"expected a table of contents at {toc_path}") from None
    except yaml.YAMLError as err:
        raise NumberingError(f"{toc_path}: does not parse: {err}") from None
    pages, labels = [], {}
    counters: dict[tuple[str, tuple[int, ...]], int] = {}
    last_section: dict[str, tuple[int, ...]] = {}  # a chapter's last top number
    for doc, number, parent in _toc_pages(toc, toc_path):
        path = root / f"{doc}.md"
        if not path.is_file():
            raise NumberingError(f"{toc_path}: lists {doc!r}, but {path} is missing")
        if number == ():  # a page under a chapter: after the chapter's sections
            base = last_section[parent]
            number = base[:-1] + (base[-1] + 1,)
            last_section[parent] = number
        page = Page(doc, path, number, parent)
        pages.append(page)
        _number_page(page, counters, labels)
        top = [t.number for t in page.targets if t.kind == "section" and t.number]
        top = [n for n in top if len(n) == len(number or ()) + 1]
        if number is not None:
            last_section[doc] = top[-1] if top else number + (0,)
    return Book(pages, labels)


def read_page(path: str | Path, doc: str | None = None) -> Book:
    """A page outside any book (a chapter being tried out), numbered as a page of an
    unnumbered part: Exercise 1, Fig. 1, (1)."""
    path = Path(path)
    page = Page(doc or path.stem, path, None, None)
    labels: dict[str, Target] = {}
    _number_page(page, {}, labels)
    return Book([page], labels)


def book_of(path: str | Path) -> tuple[Book, str]:
    """The book a page belongs to (the nearest ``_toc.yml`` above it) and its docname
    there. A page the table does not list (yet) is numbered alone, as an unnumbered
    page, and sees the labels of the book's pages."""
    path = Path(path).resolve()
    for root in path.parents:
        if (root / "_toc.yml").is_file():
            doc = path.relative_to(root).with_suffix("").as_posix()
            book = read_book(root)
            if any(page.doc == doc for page in book.pages):
                return book, doc
            alone = read_page(path, doc)
            return Book(book.pages + alone.pages, {**book.labels, **alone.labels}), doc
    return read_page(path), path.stem


def _number_page(page: Page, counters: dict, labels: dict) -> None:
    """Fill in ``page.targets`` and ``labels``; ``counters`` run over the book."""
    text = page.path.read_text(encoding="utf-8")
    stack: list[int] = []  # heading levels of the open sections, the title's first
    counts: list[int] = []  # the section numbers below the page's
    where = page.path.name
    try:
        blocks = list(_blocks(text))
    except NumberingError as err:
        raise NumberingError(f"{where}: {err}") from None
    chapter = page.number[:1] if page.number else ()
    for kind, line, label, title, level in blocks:
        number = None
        if kind == "heading" and not stack:
            page.title, kind, number = title, "page", page.number
            stack = [level]
        elif kind == "heading":
            if level <= stack[0]:
                raise NumberingError(
                    f"{where}:{line}: the heading {title!r} is not below the page's "
                    "title (a page has one top heading)"
                )
            while len(stack) > 1 and stack[-1] >= level:
                stack.pop()
            stack.append(level)
            depth = len(stack) - 1
            counts = counts[:depth] + [0] * (depth - len(counts))
            counts[depth - 1] += 1
            kind = "section"
            if page.number is not None:
                number = page.number + tuple(counts)
        elif kind in ("figure", "equation", "exercise", "table"):
            key = (kind, chapter)
            counters[key] = counters.get(key, 0) + 1
            number = chapter + (counters[key],)
        elif kind == "exercise-unnumbered":
            kind = "exercise"
        target = Target(kind, page.doc, line, number, title, label)
        page.targets.append(target)
        if label:
            if label in labels:
                first = labels[label]
                raise NumberingError(
                    f"{where}:{line}: the label {label!r} is defined twice "
                    f"(first at {first.doc}:{first.line})"
                )
            labels[label] = target


def table(book: Book) -> str:
    """The intro's table of pages: a Markdown link per numbered page, "[2.9 Title]"."""
    rows = []
    for page in book.pages:
        if page.number is not None:
            number = ".".join(map(str, page.number))
            rows.append(f"[{number} {page.title}]({Path(page.doc).name}.md)")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    try:
        book = read_book(ROOT)
    except NumberingError as err:
        print(f"numbering: {err}", file=sys.stderr)
        return 1
    if argv == ["--table"]:
        print(table(book))
        return 0
    for page in book.pages:
        number = ".".join(map(str, page.number)) if page.number else "-"
        print(f"{number:6} {page.doc}  {page.title}")
        for t in page.targets:
            if t.number is not None and t.kind != "page":
                print(f"    {t.reference():16} {t.label or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
