"""Student notebooks: the chapters as ``.ipynb`` files with the exercise solutions taken
out.

    .venv/bin/python tools/student.py BOOK_DIR OUT_DIR      (``make student`` runs it)

A solution is a sphinx-exercise directive in a chapter's MyST Markdown, in any of its
forms:

* ``{solution} label`` fenced by backticks, tildes or colons (```` ``` ````,
  ``~~~``, ``:::``, three or more), at any indentation (inside a list item, say), in
  any case (``{Solution}``); the block ends at a bare fence of the same character, at
  least as long (a nested fence with an info string, such as ```` ```python ````, is
  skipped over);
* the gated pair ``{solution-start} label`` … ``{solution-end}``, which may enclose
  anything, code cells included;
* a code cell tagged ``solution``.

Each is replaced by a "your turn" note; everything else is kept, so the notebook still
runs from top to bottom. The tool **fails closed**: a solution fence that is never
closed, a ``solution-start`` without its ``solution-end``, or any ``{solution`` marker
left after stripping stops it with the chapter file and line
(``book/04_sentences.md:695: ...``) and a non-zero exit status, before any notebook is
written. A chapter that cannot be read is reported with its file name the same way."""

import re
import sys
from pathlib import Path

import jupytext
import nbformat

YOUR_TURN = "> **Your turn.** Write your answer to exercise `{label}` here."
# The opening line of a solution directive: indentation, fence, name, argument (the
# label).
OPENING = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*"
    r"\{(?P<name>solution(?:-start|-end)?)\}[ \t]*(?P<label>.*)$",
    re.IGNORECASE,
)
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
MARKER = re.compile(r"\{\s*solution", re.IGNORECASE)


class SolutionLeak(ValueError):
    """A solution the tool cannot strip safely; the message starts with
    ``file:line:``."""


def _block_end(lines: list[str], start: int, fence: str, where: str) -> int:
    """Index of the line closing the fenced directive opened at ``lines[start]``.

    A bare fence of the same character, at least as long as ``fence``, closes it; a
    fence with an info string opens a nested block, closed by its own bare fence first.
    """
    stack = [fence]
    for i in range(start + 1, len(lines)):
        match = FENCE.match(lines[i])
        if match is None:
            continue
        found, info = match["fence"], match["info"].strip()
        top = stack[-1]
        if not info and found[0] == top[0] and len(found) >= len(top):
            stack.pop()
            if not stack:
                return i
        elif info:
            stack.append(found)
    raise SolutionLeak(
        f"{where}:{start + 1}: the {{solution}} block opened here is never "
        f"closed (expected a line holding only {fence[0] * len(fence)!r}); "
        "close it before handing out the notebook"
    )


def strip_solutions(markdown: str, where: str = "<text>") -> tuple[str, int]:
    """Replace every solution directive of ``markdown``; return the text and how many.

    ``where`` names the source in errors (``file:line:``). Raises ``SolutionLeak`` for
    an unclosed block, an unmatched ``solution-start``/``solution-end`` or a
    ``{solution`` marker that no form above accounts for."""
    if not isinstance(markdown, str):
        raise TypeError(f"expected markdown to be a str, got {type(markdown).__name__}")
    lines = markdown.split("\n")
    out, count, i = [], 0, 0
    while i < len(lines):
        match = OPENING.match(lines[i])
        if match is None:
            if MARKER.search(lines[i]):
                raise SolutionLeak(
                    f"{where}:{i + 1}: a {{solution}} marker outside any "
                    f"directive this tool strips: {lines[i].strip()!r}"
                )
            out.append(lines[i])
            i += 1
            continue
        name, label = match["name"].lower(), match["label"].strip()
        if name == "solution-end":
            raise SolutionLeak(
                f"{where}:{i + 1}: a {{solution-end}} without a "
                "{solution-start} before it"
            )
        end = _block_end(lines, i, match["fence"], where)
        if name == "solution-start":
            end = _gated_end(lines, end + 1, where, i)
        out.append(match["indent"] + YOUR_TURN.format(label=label or "above"))
        count += 1
        i = end + 1
    return "\n".join(out), count


def _gated_end(lines: list[str], start: int, where: str, opened: int) -> int:
    """Index of the last line of the ``{solution-end}`` directive at or after
    ``start``."""
    for i in range(start, len(lines)):
        match = OPENING.match(lines[i])
        if match is None:
            continue
        if match["name"].lower() != "solution-end":
            break
        return _block_end(lines, i, match["fence"], where)
    raise SolutionLeak(
        f"{where}:{opened + 1}: this {{solution-start}} has no "
        "{solution-end} after it"
    )


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


def student_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a MyST Markdown chapter and return it as a notebook without its
    solutions."""
    text, _ = strip_solutions(read_chapter(path), where=str(path))
    notebook = jupytext.reads(text, fmt="md:myst")
    cells = []
    for index, cell in enumerate(notebook.cells):
        tags = [str(t).lower() for t in cell.metadata.get("tags", [])]
        if cell.cell_type == "code" and "solution" in tags:
            cell = nbformat.v4.new_markdown_cell(YOUR_TURN.format(label="above"))
        elif MARKER.search(
            cell.source
        ):  # strip_solutions should have caught it: belt and braces
            raise SolutionLeak(
                f"{path}: cell {index}: a {{solution}} marker survived stripping"
            )
        cells.append(cell)
    notebook.cells = cells
    return notebook


def is_chapter(path: Path) -> bool:
    """Whether ``path`` is a notebook chapter: MyST Markdown with a ``kernelspec``
    header."""
    head = read_chapter(path)[:2000]
    return head.startswith("---") and "kernelspec:" in head


def write_student_notebooks(book_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/<chapter>.ipynb`` for every notebook chapter of ``book_dir``.

    Every chapter is stripped first; nothing is written unless all of them strip
    cleanly."""
    book_dir, out_dir = Path(book_dir), Path(out_dir)
    chapters = sorted(p for p in book_dir.glob("*.md") if is_chapter(p))
    if not chapters:
        raise FileNotFoundError(
            f"expected MyST notebook chapters (*.md) in {book_dir}, found none"
        )
    notebooks = {chapter: student_notebook(chapter) for chapter in chapters}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter, notebook in notebooks.items():
        target = out_dir / f"{chapter.stem}.ipynb"
        nbformat.write(notebook, target)
        written.append(target)
    return written


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
