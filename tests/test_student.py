import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from student import (  # noqa: E402 (tools/ is a folder of scripts, not a package)
    SolutionLeak,
    strip_solutions,
    student_notebook,
    write_student_notebooks,
)

BOOK = ROOT / "book"
HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
x = 1 + 1
```

```{exercise}
:label: demo-ex1

What is x?
```

"""
AFTER = "\nThe text after the exercise.\n"

# Each malformed or unusual solution, as a teacher might write it, with the line of the
# snippet where the tool must stop (None: it must strip it, keeping the text after it).
# Either way, never a leak.
CASES = {
    "backticks": (
        "```{solution} demo-ex1\n:class: dropdown\n\nSECRET two.\n```\n",
        None,
    ),
    "four backticks, nested code": (
        '````{solution} demo-ex1\n```python\nprint("SECRET")\n```\nSECRET\n````\n',
        None,
    ),
    "colons": (":::{solution} demo-ex1\nSECRET\n:::\n", None),
    "tildes": ("~~~{solution} demo-ex1\nSECRET\n~~~\n", None),
    "capitalised": ("```{Solution} demo-ex1\nSECRET\n```\n", None),
    "indented in a list item": (
        "1. First item.\n\n   ```{solution} demo-ex1\n   SECRET\n   ```\n",
        None,
    ),
    "nested fence in a three-backtick block": (
        "```{solution} demo-ex1\n```python\nSECRET = 1\n```\nSECRET\n```\n",
        None,
    ),
    "gated, with a code cell inside": (
        "```{solution-start} demo-ex1\n:class: dropdown\n```\n\nSECRET\n\n"
        "```{code-cell} ipython3\nprint('SECRET')\n```\n\n```{solution-end}\n```\n",
        None,
    ),
    "code cell tagged solution": (
        "```{code-cell} ipython3\n:tags: [solution]\nprint('SECRET')\n```\n",
        None,
    ),
    "unclosed fence": ("```{solution} demo-ex1\nSECRET\n", 1),
    "four backticks closed by three": ("````{solution} demo-ex1\nSECRET\n```\n", 1),
    "gated without its end": ("```{solution-start} demo-ex1\n```\nSECRET\n", 1),
    "an end without its start": ("SECRET\n```{solution-end}\n```\n", 2),
    "marker in a code cell": ("```{code-cell} ipython3\n# {solution} SECRET\n```\n", 2),
    "marker with a space": ("``` {solution } demo-ex1\nSECRET\n```\n", 1),
}


@pytest.mark.parametrize(("solution", "fail_line"), CASES.values(), ids=CASES.keys())
def test_solutions_are_stripped_or_the_tool_fails_at_their_line(
    tmp_path, solution, fail_line
):
    chapter = tmp_path / "01_demo.md"
    chapter.write_text(HEADER + solution + AFTER)
    if fail_line is not None:
        line = HEADER.count("\n") + fail_line
        with pytest.raises(SolutionLeak, match=rf"01_demo.md:{line}:"):
            student_notebook(chapter)
        return
    cells = student_notebook(chapter).cells
    everything = "\n".join(cell.source for cell in cells)
    assert "SECRET" not in everything
    assert "Your turn" in everything and "What is x?" in everything
    assert "The text after the exercise." in everything
    assert any(c.cell_type == "code" and c.source == "x = 1 + 1" for c in cells)


def test_the_note_keeps_the_label_and_the_indentation():
    text, count = strip_solutions(
        "1. Item.\n\n   ```{solution} ex-7\n   SECRET\n   ```\n"
    )
    assert count == 1
    assert "   > **Your turn.** Write your answer to exercise `ex-7` here." in text


def test_the_command_fails_closed_naming_the_file_and_line(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "01_good.md").write_text(HEADER + CASES["backticks"][0])
    (book / "02_bad.md").write_text(HEADER + CASES["unclosed fence"][0])
    (book / "notes.md").write_text(
        "# Not a notebook: {solution} in prose is fine here\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "student.py"),
            str(book),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert f"02_bad.md:{HEADER.count(chr(10)) + 1}:" in run.stderr
    assert not (
        tmp_path / "out"
    ).exists()  # nothing is handed out when one chapter fails

    (book / "02_bad.md").write_text(HEADER + CASES["tildes"][0])
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "student.py"),
            str(book),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "01_good.ipynb",
        "02_bad.ipynb",
    ]
    assert all("SECRET" not in p.read_text() for p in (tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (None, FileNotFoundError, "missing.md"),
        (
            b"---\nkernelspec: x\n---\n\xff\xfe not utf-8",
            ValueError,
            r"bad.md: cannot read",
        ),
    ],
)
def test_unreadable_chapters_are_named(tmp_path, content, error, message):
    path = tmp_path / ("missing.md" if content is None else "bad.md")
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=message):
        student_notebook(path)
    if content is not None:
        with pytest.raises(error, match=message):
            write_student_notebooks(tmp_path, tmp_path / "out")


def test_a_book_without_chapters_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected MyST notebook chapters"):
        write_student_notebooks(tmp_path, tmp_path / "out")


@pytest.mark.parametrize(
    "chapter", sorted(BOOK.glob("[0-9][0-9]_*.md")), ids=lambda p: p.name
)
def test_no_solution_text_survives_in_the_real_chapters(chapter):
    source = chapter.read_text(encoding="utf-8")
    stripped, count = strip_solutions(source, str(chapter))
    assert count, f"{chapter.name} has exercises with solutions"
    kept = set(stripped.split("\n"))
    removed = [line for line in source.split("\n") if line not in kept]
    student = "\n".join(c.source for c in student_notebook(chapter).cells)
    for line in removed:
        if len(line.strip()) > 25:
            assert line not in student, (
                f"solution text survived in {chapter.name}: {line!r}"
            )
