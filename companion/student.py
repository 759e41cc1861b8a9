"""Student notebooks: the chapters as ``.ipynb`` files with the exercise solutions taken out.

A solution is a sphinx-exercise ``{solution}`` directive in a Markdown cell, fenced with
backticks or colons (```` ```{solution} ex-label ```` … ```` ``` ````), or a code cell tagged
``solution``. Each is replaced by a "your turn" note; everything else is kept as it is, so the
notebook still runs from top to bottom.

Run ``python -m companion.student BOOK_DIR OUT_DIR`` (``make student`` does it).
"""

import re
import sys
from pathlib import Path

import jupytext
import nbformat

SOLUTION = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{solution\}[ \t]*(?P<label>[^\n]*)\n.*?^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
YOUR_TURN = "> **Your turn.** Write your answer to exercise `{label}` here."


def strip_solutions(markdown: str) -> tuple[str, int]:
    """Replace each ``{solution}`` block of ``markdown``; return the text and how many."""
    if not isinstance(markdown, str):
        raise TypeError(f"expected markdown text as a str, got {type(markdown).__name__}")
    return SOLUTION.subn(lambda m: YOUR_TURN.format(label=m["label"].strip()), markdown)


def student_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a chapter (MyST Markdown or ``.ipynb``) and return it without its solutions."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"expected a chapter file at {path}, found nothing there")
    notebook = jupytext.read(path)
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            cell = nbformat.v4.new_markdown_cell(YOUR_TURN.format(label="above"))
        elif cell.cell_type == "markdown":
            cell.source, _ = strip_solutions(cell.source)
        cells.append(cell)
    notebook.cells = cells
    return notebook


def write_student_notebooks(book_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/<chapter>.ipynb`` for every notebook chapter of ``book_dir``."""
    book_dir, out_dir = Path(book_dir), Path(out_dir)
    chapters = sorted(p for p in book_dir.glob("*.md") if "kernelspec:" in p.read_text()[:2000])
    if not chapters:
        raise FileNotFoundError(f"expected MyST notebook chapters (*.md) in {book_dir}, found none")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        target = out_dir / f"{chapter.stem}.ipynb"
        nbformat.write(student_notebook(chapter), target)
        written.append(target)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m companion.student BOOK_DIR OUT_DIR")
    for written_path in write_student_notebooks(sys.argv[1], sys.argv[2]):
        print(written_path)
