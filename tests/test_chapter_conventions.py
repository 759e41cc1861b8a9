"""The conventions every chapter follows (README, "Writing a chapter").

Which cells the HTML page shows. jupyter-book hides code by cell tags; the book uses
two of them, and each code cell gets exactly the ones its kind calls for:

* the first code cell, the guard that stops with instructions when ``companion`` is
  missing: ``remove-cell`` (the page is built where it is installed);
* the second, the setup cell (imports, seeds, threads, data paths): ``hide-input``,
  folded behind a "Show code" button, its output shown;
* a cell that draws a figure (``book_figure``, ``plt.subplots``, ``plt.figure`` or
  ``plt.show``) and asserts nothing: ``hide-input``; the figure and its caption are the
  content, the matplotlib calls are not;
* a cell that only reports the chapter's run time: ``hide-input``;
* every other cell: no hiding tag. A cell that asserts a claim is always shown (a
  drawing cell that also asserts, or computes what the prose discusses, is split).

Tags only hide cells on the HTML page: the executed and student notebooks keep every
cell, so no hiding tag can take away a cell a student needs (tools/student.py replaces
only solutions and cells tagged ``reference``).

Code formatting: no call or expression is spread over lines only because a trailing
comment made the line too long (``torch.set_num_threads(\\n    1\\n)  # ...``): the
comment goes on the line above.
"""

import ast
import io
import re
import tokenize
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(p for p in BOOK.glob("*.md") if p.read_text().startswith("---\n"))
HIDING = {
    "hide-input",
    "hide-output",
    "hide-cell",
    "remove-input",
    "remove-output",
    "remove-cell",
    "remove-stderr",
}
DRAWS = re.compile(r"\bbook_figure\(|\bplt\.(subplots|figure|show)\(")
ASSERTS = re.compile(r"^\s*assert\b|\bassert_close\(|\.assert_\w+\(", re.M)


def code_cells(path):
    return [c for c in jupytext.read(path).cells if c.cell_type == "code"]


def kind(index, source):
    """The kind of a chapter's code cell, which decides its hiding tags."""
    if index == 0:
        return "guard"
    if index == 1:
        return "setup"
    if ASSERTS.search(source):
        return "shown"
    if DRAWS.search(source):
        return "drawing"
    lines = source.strip().splitlines()
    if "process_time(" in source and "print(" in source and len(lines) <= 6:
        return "run time"
    return "shown"


EXPECTED = {
    "guard": {"remove-cell"},
    "setup": {"hide-input"},
    "drawing": {"hide-input"},
    "run time": {"hide-input"},
    "shown": set(),
}


def test_the_convention_sees_every_chapter():
    assert len(CHAPTERS) >= 14
    assert all(len(code_cells(p)) >= 3 for p in CHAPTERS)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_cells_are_hidden_by_kind(path):
    cells = code_cells(path)
    assert "import companion" in cells[0].source, (
        f"{path.name}: the first code cell should be the guard that imports companion"
    )
    wrong = []
    for i, cell in enumerate(cells):
        tags = set(cell.metadata.get("tags", []))
        what = kind(i, cell.source)
        if tags & HIDING != EXPECTED[what]:
            first = cell.source.strip().splitlines()[0][:60]
            wrong.append(
                f"code cell {i} ({what}, {first!r}): expected hiding tags "
                f"{sorted(EXPECTED[what])}, got {sorted(tags & HIDING)}"
            )
    assert not wrong, f"{path.name}:\n" + "\n".join(wrong)


def forced_wraps(source):
    """The brackets a trailing comment forced open: ``[(line, joined code)]``.

    A closing bracket that starts a line and carries a comment, whose statement would
    fit in 88 columns on one line without the comment, and whose last item has no
    trailing comma (which keeps a call open on purpose)."""
    lines = source.splitlines()
    code = "\n".join("" if ln.lstrip()[:1] in "%!" else ln for ln in lines) + "\n"
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    stack, found = [], []
    for k, token in enumerate(tokens):
        if token.type != tokenize.OP:
            continue
        if token.string in "([{":
            stack.append(token)
        elif token.string in ")]}":
            first, last = stack.pop().start[0], token.start[0]
            comment = next(
                (
                    t
                    for t in tokens[k + 1 :]
                    if t.start[0] == last and t.type == tokenize.COMMENT
                ),
                None,
            )
            if last == first or comment is None:
                continue
            if lines[last - 1].lstrip()[0] not in ")]}":
                continue
            inner = [lines[i].strip() for i in range(first, last - 1)]
            if inner and inner[-1].endswith(","):
                continue
            end = lines[last - 1][: comment.start[1]].strip()
            joined = lines[first - 1].rstrip() + " ".join(inner) + end
            if len(joined) <= 88:
                found.append((first, joined))
    return found


def test_forced_wraps_are_found():
    odd = "torch.set_num_threads(\n    1\n)  # a comment too long to fit on the line\n"
    assert forced_wraps(odd) == [(1, "torch.set_num_threads(1)")]
    fine = "# a comment\ntorch.set_num_threads(1)\nf(\n    a,\n)  # on purpose\n"
    assert forced_wraps(fine) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_line_is_wrapped_for_a_comment(path):
    odd = [
        f"code cell {i}, line {line}: {joined}  (put the comment on the line above)"
        for i, cell in enumerate(code_cells(path))
        for line, joined in forced_wraps(cell.source)
    ]
    assert not odd, f"{path.name}:\n" + "\n".join(odd)


def watched_test_sets(source):
    """The lines where a cell hands ``fit`` a test set to measure at every epoch.

    A chapter selects on its validation set and evaluates the test set once, at the
    end (``companion.training.evaluate``): ``fit(..., test_batches=...)`` would put the
    test loss in front of the reader at every epoch, to choose from."""
    code = "\n".join(
        "" if ln.lstrip()[:1] in "%!" else ln for ln in source.splitlines()
    )
    return [
        node.lineno
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "fit"
        and any(k.arg == "test_batches" for k in node.keywords)
    ]


def test_watched_test_sets_are_found():
    assert watched_test_sets("h = fit(m, b, f, o, 3, test_batches=t)\n") == [1]
    assert watched_test_sets("h = training.fit(\n    m, test_batches=t)\n") == [1]
    assert watched_test_sets("h = fit(m, b, f, o, 3, validation_batches=v)\n") == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_chapter_watches_its_test_set(path):
    found = [
        f"code cell {i}, line {line}: fit(..., test_batches=...); pass "
        "validation_batches= and evaluate the test set once, at the end"
        for i, cell in enumerate(code_cells(path))
        for line in watched_test_sets(cell.source)
    ]
    assert not found, f"{path.name}:\n" + "\n".join(found)
