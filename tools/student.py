"""Student notebooks: the chapters as ``.ipynb`` files with the exercise solutions taken
out.

    .venv/bin/python tools/student.py BOOK_DIR OUT_DIR      (``make student`` runs it)

The tool reads each chapter with the parser the book uses: markdown-it with
myst-parser's plugins and the ``myst_enable_extensions`` of ``_config.yml``; jupytext
then cuts the text into cells. What is a solution is decided from the parsed tokens,
never from the look of a line:

* a sphinx-exercise ``{solution}`` directive, fenced by backticks, tildes or colons,
  at any depth (in a list item, a block quote, the body of another directive);
* the gated pair ``{solution-start}`` … ``{solution-end}``, which may enclose anything,
  code cells included;
* a code cell, or a markdown cell opened by ``+++ {"tags": [...]}``, tagged
  ``solution`` or anything close to it (``'solution '``, ``solutions``, ``Ѕolution``).

Each is replaced by a "your turn" note, cut by the line numbers of its token;
everything else is kept byte for byte, so the notebook still runs from top to bottom.

The tool **fails closed**. It stops with ``file:line:`` and a non-zero exit status,
before any notebook is written, on what it cannot classify: an unknown directive; a
name that only looks like ``solution`` (a Cyrillic letter, a zero-width space,
fullwidth braces, a typo); a dropdown, admonition, heading or HTML block titled
"Solution" or "Answer"; a solution fence that is never closed, or that a fence inside it
closes early; a ``{solution}`` marker that no form above accounts for; tags that are not
a list of strings; a YAML header that does not parse.

Graded exercises (the workbook): a cell tagged ``reference`` (a listing of the
companion's code that a student writes in an exercise) is replaced by a note; answer
cells (tagged ``answer``, with the metadata ``exercise``) stay, stubs and all, and their
labels are recorded in the notebook's metadata (``workbook.exercises``) for the
grader.

The notebook a student gets is plain Jupyter Markdown (tools/plain.py): roles become
text or links with the book's numbers (tools/numbering.py, the numbers of the HTML),
directives become headed blocks, labelled equations ``$$`` maths with a ``\\tag``, and
every exercise gets an empty code cell to answer in unless the chapter gives it an
answer cell. What the conversion cannot classify stops the tool too. The first code
cell installs the companion when ``import companion`` fails: from the wheel lying
beside the notebook (the class pack, tools/class_pack.py), else from the book's site
or repository when ``_config.yml`` names one.

It writes only into files it wrote before: ``OUT_DIR/.student-notebooks.json`` records
the SHA-256 of each notebook it writes, and it refuses to replace any other file (a
student's own notebook, or one of its notebooks edited since)."""

import hashlib
import json
import re
import sys
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from textwrap import dedent
from typing import NoReturn

import jupytext
import nbformat
import yaml
from jupytext.myst import MystMetadataParsingError
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from myst_parser.config.main import MdParserConfig
from myst_parser.parsers.mdit import create_md_parser
from myst_parser.parsers.options import TokenizeError, options_to_items

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numbering  # noqa: E402 (tools/ is a folder of scripts, not a package)
import plain  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

YOUR_TURN = "> **Your turn.** Write your answer to exercise `{label}` here."
MANIFEST = ".student-notebooks.json"
# ``myst_enable_extensions`` in _config.yml: the book reads its chapters with these.
EXTENSIONS = {"amsmath", "colon_fence", "deflist", "dollarmath", "substitution"}
# The directives the tool knows, by what their body holds: MyST (scanned again, since a
# solution can hide in it) or code, maths and nothing at all. Any other stops the tool.
MYST_BODY = set(
    "admonition attention caution danger epigraph error exercise exercise-start "
    "exercise-end figure hint important margin note seealso sidebar table tip topic "
    "warning".split()
)
OPAQUE_BODY = set(
    "bibliography code code-block code-cell image math nb-exec-table raw-cell".split()
)
NOT_TITLES = {"exercise", "exercise-start"}  # their title is shown to students anyway
FENCES = ("fence", "colon_fence")
CELLS = ("{code-cell}", "{raw-cell}")  # what jupytext makes a cell of

# Latin look-alikes that NFKD leaves alone (Cyrillic, Greek, Armenian) and dashes.
CONFUSABLES = str.maketrans(
    "аеорсхуіјѕԁһӏԛԝтпαοινυτκρεηıɩոսօ‐‑‒–—−",
    "aeopcxyijsdhlqwtnaoivutkpeniinuo------",
)
SOLUTION_NAMES = ("solution", "solutions")
# Names and titles only: a cell tagged ``answer`` is where the student writes (the
# workbook's graded exercises), not a solution.
ANSWER_NAMES = SOLUTION_NAMES + ("answer", "answers")
SHORT_NAMES = {"sol", "sols", "soln"}
MARKER = re.compile(r"\{\s*([\w-]+)")  # ``{name``, in a line already normalised


class SolutionLeak(ValueError):
    """A solution the tool cannot strip safely; the message starts with
    ``file:line:``."""


def normalise(text: str) -> str:
    """``text`` as it reads: compatibility forms unfolded (fullwidth ``｛`` is ``{``),
    format characters and accents dropped, case folded, look-alikes made Latin."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        c for c in decomposed if unicodedata.category(c) not in ("Cf", "Mn", "Me")
    )
    return kept.casefold().translate(CONFUSABLES)


def _distance(a: str, b: str) -> int:
    """The Levenshtein edit distance between ``a`` and ``b``."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            )
        previous = current
    return previous[-1]


def looks_like_solution(
    name: str, within: int = 2, targets: tuple[str, ...] = ANSWER_NAMES
) -> bool:
    """Whether ``name``, normalised and without a ``-start``/``-end`` suffix, is at
    most ``within`` edits from one of ``targets`` (or a short form such as ``soln``)."""
    key = re.sub(r"[-_\s]*(start|end)$", "", normalise(name).strip())
    if key in SHORT_NAMES:
        return True
    return any(
        abs(len(key) - len(t)) <= within and _distance(key, t) <= within
        for t in targets
    )


def _is_solution_tag(tag: str) -> bool:
    """Whether a cell tag marks a solution (``answer`` marks the student's cell)."""
    return looks_like_solution(tag, 2, SOLUTION_NAMES)


def _says_solution(title: str) -> bool:
    """Whether a word of ``title`` is "solution" or "answer", give or take a letter."""
    return any(looks_like_solution(w, 1) for w in re.findall(r"\w+", normalise(title)))


def _odd_characters(name: str) -> str:
    """The characters of ``name`` outside ASCII, named, for error messages."""
    odd = [f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in name if ord(c) > 126]
    return f"it holds {', '.join(odd)}" if odd else "a misspelling?"


@cache
def _parser() -> MarkdownIt:
    """The book's MyST parser (myst-parser's markdown-it, the book's extensions)."""
    return create_md_parser(MdParserConfig(enable_extensions=EXTENSIONS), RendererHTML)


def _directive(token: Token) -> tuple[str | None, str]:
    """A fence's directive name and argument, split as myst-parser splits them; for a
    plain block (code, ``:::`` div), ``None`` and the whole info string."""
    parts = token.info.strip().split(maxsplit=1)
    name = parts[0] if parts else ""
    argument = parts[1] if len(parts) > 1 else ""
    if name.startswith("{") and name.endswith("}"):
        return name[1:-1], argument
    return None, token.info.strip()


def _is_closing(line: str, markup: str) -> bool:
    """Whether ``line`` closes a fence opened by ``markup`` (in a list item or a block
    quote too)."""
    text = line.lstrip(" \t>").rstrip()
    run = len(text) - len(text.lstrip(markup[0]))
    return run >= len(markup) and run == len(text)


def _split_options(content: str) -> tuple[str | None, bool, int]:
    """A directive's option block, whether it is YAML (``---``) rather than
    ``:key: value`` lines, and the index of the body's first line (as myst-parser and
    jupytext split them)."""
    lines = content.split("\n")
    if lines[0].startswith("---"):
        for k in range(1, len(lines)):
            if re.match(r"-{3,}", lines[k]):
                return dedent("\n".join(lines[1:k])), True, k + 1
        return dedent("\n".join(lines[1:])), True, len(lines)
    k = 0
    while k < len(lines) and lines[k].lstrip().startswith(":"):
        k += 1
    block = "\n".join(line.lstrip()[1:] for line in lines[:k])
    return (block if k else None), False, k


@dataclass
class _Cut:
    """Lines ``start`` to ``end`` (0-based, end excluded) of the chapter, replaced by
    ``note``."""

    start: int
    end: int
    note: str


class _Chapter:
    """The cuts that take the solutions out of one MyST text; ``fail`` names the
    line."""

    def __init__(self, markdown: str, where: str):
        self.lines = markdown.split("\n")
        self.where = where
        self.cuts: list[_Cut] = []

    def fail(self, line: int, message: str) -> NoReturn:
        """Stop at the 0-based ``line`` of the chapter."""
        raise SolutionLeak(f"{self.where}:{line + 1}: {message}")

    def scan(self, text: str, first: int = 0, nested: bool = False) -> None:
        """Classify every block of ``text``, whose line 0 is the chapter's ``first``."""
        tokens = _parser().parse(text)
        lines = text.split("\n")
        resume = 0  # the tokens of lines before this one were cut
        for i, token in enumerate(tokens):
            if token.map is None or token.map[0] < resume:
                continue
            at = first + token.map[0]
            if token.type in FENCES:
                resume = self.fence(tokens, i, lines, first) or resume
            elif token.type == "myst_block_break" and not nested and token.level == 0:
                resume = self.markdown_cell(tokens, i, lines) or resume
            elif token.type == "front_matter" and not nested:
                self.header(token)
            elif token.type == "heading_open":
                heading = tokens[i + 1].content.split()
                if heading and looks_like_solution(heading[0], 1):
                    self.fail(
                        at,
                        f"a heading {tokens[i + 1].content!r}: put each "
                        "solution in a {solution} directive instead",
                    )
            elif token.type == "html_block" and _says_solution(token.content):
                self.fail(
                    at,
                    f"an HTML block that mentions a solution or an answer "
                    f"({token.content.strip()[:60]!r}): the tool cannot tell what "
                    "it hides; use a {solution} directive",
                )

    def fence(
        self, tokens: list[Token], i: int, lines: list[str], first: int
    ) -> int | None:
        """Classify the fence ``tokens[i]``; return the local line after a cut."""
        token = tokens[i]
        at = first + token.map[0]
        name, argument = _directive(token)
        if name is None:
            self.plain_fence(token, argument, at)
            return None
        key = name.lower()
        if key == "solution":
            self.check_solution(tokens, i, lines, first)
            return self.cut(token, first, argument or "above")
        if key == "solution-start":
            end = self.gated_end(tokens, i, at)
            self.check_solution(tokens, end, lines, first)
            self.cuts.append(
                _Cut(at, first + tokens[end].map[1], self.note(at, token, argument))
            )
            return tokens[end].map[1]
        if key == "solution-end":
            self.fail(at, "a {solution-end} without a {solution-start} before it")
        if looks_like_solution(name):
            self.fail(
                at,
                f"{{{name}}} looks like {{solution}} but is not it "
                f"({_odd_characters(name)}): the book would not hide it as a "
                "solution and the tool cannot strip it; write {solution}",
            )
        if key not in NOT_TITLES and _says_solution(argument):
            self.fail(
                at,
                f"a {{{name}}} titled {argument!r} is not a {{solution}} "
                "directive: the tool cannot strip it; use {solution}",
            )
        if key not in MYST_BODY | OPAQUE_BODY:
            self.fail(
                at,
                f"an unknown directive {{{name}}}: expected one of "
                f"{', '.join(sorted(MYST_BODY | OPAQUE_BODY | {'solution'}))} "
                "(the tool cannot tell whether it hides a solution)",
            )
        options, body = self.options(token, at, key)
        classes = str(options.get("class", "")).split()
        if any(looks_like_solution(c) for c in classes):
            self.fail(
                at,
                f"a {{{name}}} of class {options['class']!r}: use a "
                "{solution} directive for solutions",
            )
        if key in ("code-cell", "raw-cell") and self.tagged(options, token, at):
            return self.cut(token, first, "above")
        if key in MYST_BODY:
            content = token.content.split("\n")
            self.scan("\n".join(content[body:]), at + 1 + body, nested=True)
        return None

    def plain_fence(self, token: Token, info: str, at: int) -> None:
        """A code block or a ``:::`` div: stop if it reads like a solution; scan a
        div's body, which is MyST."""
        words = normalise(info).split()
        if words and ("{" in words[0] or "}" in words[0]):
            self.fail(
                at,
                "expected a directive written {name}, in ASCII braces with "
                f"no space inside, got {token.info.strip()!r}",
            )
        if words and looks_like_solution(words[0]) or _says_solution(info):
            self.fail(
                at,
                f"a {token.markup}{token.info.strip()} block reads like a "
                "solution but is not a {solution} directive",
            )
        if token.type == "colon_fence":
            self.scan(token.content, at + 1, nested=True)

    def check_solution(
        self, tokens: list[Token], i: int, lines: list[str], first: int
    ) -> None:
        """Stop unless the solution fence ``tokens[i]`` closes where its author meant:
        closed at all, by its own fence, with no stray fence after it."""
        token = tokens[i]
        at, markup = first + token.map[0], token.markup
        if not _is_closing(lines[token.map[1] - 1], markup):
            self.fail(
                at,
                "the solution opened here is never closed (expected a line "
                f"holding only {markup!r}); close it",
            )
        for k, line in enumerate(token.content.split("\n")):
            inner = line.lstrip(" ")
            if len(line) - len(inner) < 4 and inner.startswith(markup):
                self.fail(
                    at + 1 + k,
                    f"a {inner.strip()!r} fence inside the solution "
                    f"opened at line {at + 1}: its closing fence would end the "
                    "solution early; open the solution with a longer fence, "
                    f"{markup[0] * (len(inner) - len(inner.lstrip(markup[0])) + 1)}",
                )
        stray = _stray_fence_after(tokens, i)
        if stray is not None:
            self.fail(
                first + stray.map[0],
                f"a bare {stray.markup!r} fence after the "
                f"solution opened at line {at + 1}: a fence inside the solution "
                "probably closed it early, and what follows would reach students;"
                " give the inner block a language or the solution a longer "
                "fence",
            )

    def gated_end(self, tokens: list[Token], i: int, at: int) -> int:
        """The index of the ``{solution-end}`` closing the ``{solution-start}`` at
        ``tokens[i]``, in the same container."""
        level = tokens[i].level
        for j in range(i + 1, len(tokens)):
            token = tokens[j]
            if token.level < level:
                break
            if token.type in FENCES and token.level == level:
                name, _ = _directive(token)
                if name and name.lower() == "solution-end":
                    return j
                if name and name.lower() == "solution-start":
                    break
        self.fail(
            at,
            "this {solution-start} has no {solution-end} after it, in the "
            "same container",
        )

    def markdown_cell(
        self, tokens: list[Token], i: int, lines: list[str]
    ) -> int | None:
        """A ``+++ {...}`` cell break: cut the markdown cell it opens if it is tagged
        as a solution."""
        token = tokens[i]
        try:
            metadata = json.loads(token.content.strip() or "{}")
        except json.JSONDecodeError as err:
            self.fail(
                token.map[0],
                f"expected the cell's metadata as JSON, got "
                f"{token.content.strip()!r} ({err})",
            )
        if not isinstance(metadata, dict):
            self.fail(
                token.map[0],
                f"expected the cell's metadata as a JSON object, got {metadata!r}",
            )
        if not self.tagged(metadata, token, token.map[0]):
            return None
        end = len(lines) - (lines[-1] == "")
        for later in tokens[i + 1 :]:
            if (
                later.level == 0
                and later.map
                and (later.type == "myst_block_break" or later.info.startswith(CELLS))
            ):
                end = later.map[0]
                break
        self.cuts.append(_Cut(token.map[0], end, YOUR_TURN.format(label="above")))
        return end

    def header(self, token: Token) -> None:
        """Stop unless the chapter's YAML header parses into a mapping."""
        try:
            header = yaml.safe_load(token.content)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = 1 + (mark.line if mark else 0)
            problem = getattr(err, "problem", None) or err
            self.fail(line, f"the YAML header does not parse: {problem}")
        if header is not None and not isinstance(header, dict):
            self.fail(0, f"expected the YAML header to be a mapping, got {header!r}")

    def options(self, token: Token, at: int, key: str) -> tuple[dict, int]:
        """A directive's options and the index of its body's first content line.

        Cells' options are YAML, as jupytext reads them; other directives' ``:key:``
        lines are read by myst-parser's own option parser."""
        block, as_yaml, body = _split_options(token.content)
        if block is None:
            return {}, body
        try:
            if as_yaml or key in ("code-cell", "raw-cell"):
                options = yaml.safe_load(block) or {}
            else:
                options = dict(options_to_items(block)[0])
        except (yaml.YAMLError, TokenizeError) as err:
            self.fail(at, f"the options of this {{{key}}} do not parse: {err}")
        if not isinstance(options, dict):
            self.fail(
                at,
                f"expected the options of this {{{key}}} as `:key: value` "
                f"lines, got {block!r}",
            )
        return options, body

    def tagged(self, metadata: dict, token: Token, at: int) -> bool:
        """Whether a cell's ``tags`` mark it as a solution; stop unless they are a
        list of strings."""
        tags = metadata.get("tags")
        if tags is None:
            return False
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            lines = token.content.split("\n")
            k = next((k for k, line in enumerate(lines) if "tags" in line), -1)
            self.fail(
                at + 1 + k,
                "expected the cell's tags as a list of strings, such "
                f"as [solution], got {tags!r} (a {type(tags).__name__})",
            )
        return any(_is_solution_tag(tag) for tag in tags)

    def cut(self, token: Token, first: int, label: str) -> int:
        """Cut the lines of ``token``; return the local line after them."""
        at = first + token.map[0]
        self.cuts.append(_Cut(at, first + token.map[1], self.note(at, token, label)))
        return token.map[1]

    def note(self, at: int, token: Token, label: str) -> str:
        """The "your turn" line, indented as the fence it replaces."""
        line = self.lines[at]
        prefix = line[: line.find(token.markup)] if token.markup in line else ""
        return prefix + YOUR_TURN.format(label=label.strip() or "above")

    def check_markers(self) -> None:
        """Stop on a ``{solution`` marker (after normalisation) left on a kept line."""
        cut = {n for c in self.cuts for n in range(c.start, c.end)}
        for n, line in enumerate(self.lines):
            if n in cut or "{" not in (text := normalise(line)):
                continue
            for name in MARKER.findall(text):
                if looks_like_solution(name, 1, SOLUTION_NAMES):
                    self.fail(
                        n,
                        "a {solution} marker outside any directive this tool "
                        f"strips: {line.strip()!r}",
                    )

    def stripped(self) -> str:
        """The chapter with every cut replaced by its note."""
        out, n = [], 0
        for c in sorted(self.cuts, key=lambda c: c.start):
            out += self.lines[n : c.start] + [c.note]
            n = c.end
        return "\n".join(out + self.lines[n:])


def _stray_fence_after(tokens: list[Token], i: int) -> Token | None:
    """The first bare fence (no info) of the kind of ``tokens[i]`` that follows it in
    its container, before any heading or directive: the sign of a solution fence
    closed early by a fence meant to open a block inside it."""
    level, kind = tokens[i].level, tokens[i].markup[0]
    for token in tokens[i + 1 :]:
        if token.level < level or (
            token.type == "heading_open" and token.level == level
        ):
            return None
        if token.type in FENCES and token.level == level:
            bare = not token.info.strip() and token.markup[0] == kind
            return token if bare else None
    return None


def strip_solutions(markdown: str, where: str = "<text>") -> tuple[str, int]:
    """Replace every solution of the MyST text ``markdown``; return the text and how
    many.

    ``where`` names the source in errors (``file:line:``). Raises ``SolutionLeak``
    for anything the tool cannot classify (see the module's docstring)."""
    if not isinstance(markdown, str):
        raise TypeError(f"expected markdown to be a str, got {type(markdown).__name__}")
    chapter = _Chapter(markdown, where)
    chapter.scan(markdown)
    chapter.check_markers()
    return chapter.stripped(), len(chapter.cuts)


def read_chapter(path: str | Path) -> str:
    """The UTF-8 text of the chapter at ``path``; errors name the file."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"expected a chapter file at {path}, found nothing there"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path}: cannot read this chapter as UTF-8 text: {err}"
        ) from None


def _cell_tags(cell: nbformat.NotebookNode, where: str) -> list[str]:
    """A cell's tags; stop unless they are a list of strings."""
    tags = cell.metadata.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise SolutionLeak(
            f"{where}: expected the cell's tags as a list of strings, "
            f"such as [solution], got {tags!r}"
        )
    return tags


def _your_turn_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The markdown "your turn" cell that takes the place of ``cell`` (same id)."""
    note = nbformat.v4.new_markdown_cell(YOUR_TURN.format(label="above"))
    if "id" in cell:
        note.id = cell.id
    else:
        del note["id"]
    return note


REFERENCE_NOTE = (
    "> **Not shown in this edition.** This cell shows code that one of the book's "
    "graded exercises asks you to write (or code close enough to give it away). The "
    "rest of the notebook uses the companion's version, so it runs as it is."
)


def _workbook(notebook: nbformat.NotebookNode, name: str, where: str) -> None:
    """Hide the listings of graded references (cells tagged ``reference``) and record
    the notebook's graded exercises (answer cells) in its metadata, for the grader."""
    labels = []
    for index, cell in enumerate(notebook.cells):
        tags = _cell_tags(cell, f"{where}[cell {index}]")
        if "reference" in tags:
            note = nbformat.v4.new_markdown_cell(REFERENCE_NOTE)
            note.id = cell.get("id", note.id)
            notebook.cells[index] = note
        elif "answer" in tags:
            label = cell.metadata.get("exercise")
            if cell.cell_type != "code" or not isinstance(label, str) or not label:
                raise SolutionLeak(
                    f"{where}[cell {index}]: expected an answer cell to be a code "
                    f"cell with the metadata 'exercise: <label>', got "
                    f"{cell.cell_type} cell with exercise={label!r}"
                )
            labels.append(label)
    notebook.metadata["workbook"] = {"chapter": name, "exercises": labels}


def _student_ipynb(path: Path) -> nbformat.NotebookNode:
    """A notebook without its solutions: tagged cells replaced, markdown cells
    stripped as chapters are, code and raw cells checked for markers."""
    try:
        # invalid metadata (tags as a string, say) is reported below, by cell
        notebook = nbformat.read(path, as_version=4, capture_validation_error={})
    except FileNotFoundError:
        raise FileNotFoundError(
            f"expected a notebook at {path}, found nothing there"
        ) from None
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read this notebook: {err}") from None
    cells = []
    for index, cell in enumerate(notebook.cells):
        where = f"{path}[cell {index}]"
        if any(_is_solution_tag(tag) for tag in _cell_tags(cell, where)):
            cell = _your_turn_cell(cell)
        elif cell.cell_type == "markdown":
            cell.source, _ = strip_solutions(cell.source, where)
        else:
            _Chapter(cell.source, where).check_markers()
        cells.append(cell)
    notebook.cells = cells
    return notebook


def _read_myst(text: str, path: Path) -> nbformat.NotebookNode:
    try:
        return jupytext.reads(text, fmt="md:myst")
    except (MystMetadataParsingError, yaml.YAMLError, ValueError) as err:
        raise ValueError(f"{path}: jupytext cannot read this chapter: {err}") from None


def _context(path: Path, notebook: nbformat.NotebookNode) -> plain.Context:
    """What the plain-Markdown conversion of the chapter ``path`` needs: the book's
    numbers, the chapters that have a notebook, the citations, the answered
    exercises."""
    book, doc = numbering.book_of(path)
    answered = {
        cell.metadata.get("exercise")
        for index, cell in enumerate(notebook.cells)
        if "answer" in _cell_tags(cell, f"{path}[cell {index}]")
    }
    return plain.Context(
        book=book,
        doc=doc,
        where=str(path),
        notebooks={p.stem for p in path.parent.glob("*.md") if is_chapter(p)},
        citations=plain.citations(path.parent / "references.bib"),
        answered=answered,
    )


def wheel_name(root: Path = ROOT) -> str:
    """The file name of the companion's wheel, from ``pyproject.toml``."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    name, version = project["project"]["name"], project["project"]["version"]
    return f"{name}-{version}-py3-none-any.whl"


def fallback_source(root: Path = ROOT) -> str | None:
    """Where ``%pip`` finds the companion when no wheel lies beside a notebook: the
    wheel on the book's site (``html.baseurl`` of ``_config.yml``), or the
    repository (``repository.url``); ``None`` when neither is configured."""
    try:
        config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    config = config if isinstance(config, dict) else {}
    base = str((config.get("html") or {}).get("baseurl") or "").rstrip("/")
    if base:
        return f"{base}/class-pack/{wheel_name(root)}"
    url = str((config.get("repository") or {}).get("url") or "").rstrip("/")
    return f"companion @ git+{url}" if url else None


SETUP = """\
# Setup: this notebook needs the book's `companion` package. When it is missing, this
# cell installs it from the wheel beside the notebook (the class pack holds both){also}.
import importlib
import pathlib

try:
    import companion  # noqa: F401
except ModuleNotFoundError:
    WHEEL = "{wheel}"
    here = pathlib.Path(WHEEL), pathlib.Path("..", WHEEL)
    beside = [p for p in here if p.is_file()]
    {otherwise}
    %pip install --quiet "{{source}}"
    importlib.invalidate_caches()
    import companion  # noqa: F401"""
NO_FALLBACK = """\
if not beside:
        raise ModuleNotFoundError(
            f"This notebook needs the book's `companion` package: put {WHEEL} (it is "
            "in the book's class pack, linked from its introduction) beside this "
            "notebook, then run this cell again."
        )
    source = beside[0].resolve()"""


def setup_source(wheel: str, fallback: str | None) -> str:
    """The first code cell of a student notebook."""
    if fallback is None:
        return SETUP.format(wheel=wheel, also="", otherwise=NO_FALLBACK)
    otherwise = f"source = beside[0].resolve() if beside else {fallback!r}"
    return SETUP.format(
        wheel=wheel, also=", else from the book's site", otherwise=otherwise
    )


def _setup(notebook: nbformat.NotebookNode) -> None:
    """Make the notebook's first code cell the one that installs the companion (in
    place of the chapter's check that it is installed)."""
    cell = nbformat.v4.new_code_cell(setup_source(wheel_name(), fallback_source()))
    codes = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    first = codes[0] if codes else len(notebook.cells)
    old = notebook.cells[first] if codes else None
    if (
        old is not None
        and "import companion" in old.source
        and ("ModuleNotFoundError" in old.source)
    ):
        cell.id = old.get("id", cell.id)
        notebook.cells[first] = cell
    else:
        notebook.cells.insert(first, cell)


def student_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a MyST Markdown chapter (or a notebook, ``.ipynb``) and return it as a
    notebook without its solutions, in plain Jupyter Markdown (tools/plain.py)."""
    path = Path(path)
    if path.suffix == ".ipynb":
        notebook = _student_ipynb(path)
    else:
        text, _ = strip_solutions(read_chapter(path), where=str(path))
        context = _context(path, _read_myst(text, path))
        notebook = _read_myst(plain.convert(text, context), path)
        for index, cell in enumerate(notebook.cells):
            where = f"{path}[cell {index}]"
            if any(_is_solution_tag(tag) for tag in _cell_tags(cell, where)):
                raise SolutionLeak(
                    f"{where}: a cell tagged as a solution survived stripping"
                )
            if cell.cell_type == "markdown":
                plain.check_plain(cell.source, where)
        _setup(notebook)
    _workbook(notebook, path.stem, str(path))
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as err:
        raise ValueError(
            f"{path}: the student notebook is not valid: {err.message}"
        ) from None
    return notebook


def is_chapter(path: Path) -> bool:
    """Whether ``path`` is a notebook chapter: MyST Markdown with a ``kernelspec``
    header."""
    head = read_chapter(path)[:2000]
    return head.startswith("---") and "kernelspec:" in head


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(out_dir: Path) -> dict[str, str]:
    """The notebooks this tool wrote in ``out_dir`` before, by name, with their
    SHA-256."""
    path = out_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"] if manifest["written_by"] == "tools/student.py" else 0
    except (OSError, ValueError, TypeError, KeyError):
        files = None
    if not isinstance(files, dict):
        raise FileExistsError(
            f"{path}: expected the manifest tools/student.py writes, "
            "found another file; move it away or choose another "
            "OUT_DIR"
        )
    return files


def write_student_notebooks(book_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/<chapter>.ipynb`` for every notebook chapter of ``book_dir``.

    Every chapter is stripped first; nothing is written unless all of them strip
    cleanly, and nothing is written over a file this tool did not write (or that was
    edited since): ``out_dir/.student-notebooks.json`` records what it wrote."""
    book_dir, out_dir = Path(book_dir), Path(out_dir)
    chapters = sorted(p for p in book_dir.glob("*.md") if is_chapter(p))
    if not chapters:
        raise FileNotFoundError(
            f"expected MyST notebook chapters (*.md) in {book_dir}, found none"
        )
    texts = {}
    for chapter in chapters:
        text = nbformat.writes(student_notebook(chapter))
        texts[out_dir / f"{chapter.stem}.ipynb"] = text.rstrip("\n") + "\n"
    written = _read_manifest(out_dir)
    for target in texts:
        ours = target.is_file() and not target.is_symlink()
        if target.exists() or target.is_symlink():
            if not ours or written.get(target.name) != _digest(target.read_bytes()):
                raise FileExistsError(
                    f"{target}: refusing to overwrite a file this tool did not write "
                    f"(or that was edited since; {MANIFEST} lists what it wrote); "
                    "move it away or choose another OUT_DIR"
                )
    out_dir.mkdir(parents=True, exist_ok=True)
    for target, text in texts.items():
        data = text.encode("utf-8")
        target.write_bytes(data)
        written[target.name] = _digest(data)
    manifest = {"written_by": "tools/student.py", "files": written}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return list(texts)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tools/student.py BOOK_DIR OUT_DIR", file=sys.stderr)
        return 2
    try:
        written = write_student_notebooks(*argv)
    except (OSError, ValueError) as err:
        print(f"student: {err}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
