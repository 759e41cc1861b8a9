import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from student import (  # noqa: E402 (tools/ is a folder of scripts, not a package)
    MANIFEST,
    YOUR_TURN,
    SolutionLeak,
    main,
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

# Every way a solution can be written, or hidden, that the tool must handle, as a
# teacher might write it, with the line of the snippet where the tool must stop (None:
# it must strip it, keeping the text after it). Either way, never a leak.
CASES = {
    # sphinx-exercise's directive, in all its spellings and places
    "backticks": (
        "```{solution} demo-ex1\n:class: dropdown\n\nSECRET two.\n```\n",
        None,
    ),
    "four backticks, nested code": (
        '````{solution} demo-ex1\n```python\nprint("SECRET")\n```\nSECRET\n````\n',
        None,
    ),
    "colons": (":::{solution} demo-ex1\nSECRET\n:::\n", None),
    "four colons, nested div": (
        "::::{solution} demo-ex1\n:::{note}\nSECRET\n:::\n::::\n",
        None,
    ),
    "tildes": ("~~~{solution} demo-ex1\nSECRET\n~~~\n", None),
    "capitalised": ("```{Solution} demo-ex1\nSECRET\n```\n", None),
    "indented in a list item": (
        "1. First item.\n\n   ```{solution} demo-ex1\n   SECRET\n   ```\n",
        None,
    ),
    "in a block quote": ("> ```{solution} demo-ex1\n> SECRET\n> ```\n", None),
    "nested in an exercise": (
        "````{exercise}\n:label: demo-ex2\n\nWhy?\n\n"
        "```{solution} demo-ex2\nSECRET\n```\n````\n",
        None,
    ),
    "nested in a colon exercise's list": (
        ":::{exercise}\n:label: demo-ex2\n\n- Why?\n\n"
        "  ```{solution} demo-ex2\n  SECRET\n  ```\n:::\n",
        None,
    ),
    "gated, with a code cell inside": (
        "```{solution-start} demo-ex1\n:class: dropdown\n```\n\nSECRET\n\n"
        "```{code-cell} ipython3\nprint('SECRET')\n```\n\n```{solution-end}\n```\n",
        None,
    ),
    "gated, capitalised": (
        "```{Solution-Start} demo-ex1\n```\nSECRET\n\n```{Solution-End}\n```\n",
        None,
    ),
    # cells tagged as solutions
    "code cell tagged solution": (
        "```{code-cell} ipython3\n:tags: [solution]\nprint('SECRET')\n```\n",
        None,
    ),
    "tag with a trailing space": (
        "```{code-cell} ipython3\n:tags: ['solution ']\nprint('SECRET')\n```\n",
        None,
    ),
    "tag in the plural": (
        "```{code-cell} ipython3\n:tags: [hide-input, solutions]\nSECRET = 1\n```\n",
        None,
    ),
    "tag with a Cyrillic letter": (
        "```{code-cell} ipython3\n:tags: [\u0455olution]\nSECRET = 1\n```\n",
        None,
    ),
    "tags in a YAML block": (
        "```{code-cell} ipython3\n---\ntags: [solution]\n---\nSECRET = 1\n```\n",
        None,
    ),
    "raw cell tagged solution": (
        "```{raw-cell}\n:tags: [solution]\nSECRET\n```\n",
        None,
    ),
    "markdown cell tagged solution": (
        '+++ {"tags": ["solution"]}\n\nSECRET\n\n+++\n',
        None,
    ),
    "tags not a list": (
        "```{code-cell} ipython3\n:tags: solution\nprint('SECRET')\n```\n",
        2,
    ),
    # fences that close too early, or never
    "unclosed fence": ("```{solution} demo-ex1\nSECRET\n", 1),
    "four backticks closed by three": ("````{solution} demo-ex1\nSECRET\n```\n", 1),
    "nested fence in a three-backtick block": (
        "```{solution} demo-ex1\n```python\nSECRET = 1\n```\nSECRET\n```\n",
        2,
    ),
    "nested div in a three-colon block": (
        ":::{solution} demo-ex1\n:::{note}\nSECRET\n:::\nSECRET\n:::\n",
        2,
    ),
    "bare fence closing a solution early": (
        "```{solution} demo-ex1\nRun:\n```\nprint('SECRET')\n```\nSECRET\n```\n",
        5,
    ),
    "bare fence right after the opening": (
        "```{solution} demo-ex1\n```\nSECRET\n```\n",
        4,
    ),
    "gated without its end": ("```{solution-start} demo-ex1\n```\nSECRET\n", 1),
    "an end without its start": ("SECRET\n```{solution-end}\n```\n", 2),
    # look-alike names: the book would show them, the tool must not pass them
    "Cyrillic letter in the name": ("```{\u0455olution} demo-ex1\nSECRET\n```\n", 1),
    "zero-width space in the name": (
        "```{sol\u200bution} demo-ex1\nSECRET\n```\n",
        1,
    ),
    "fullwidth braces": ("```\uff5bsolution\uff5d demo-ex1\nSECRET\n```\n", 1),
    "misspelt name": ("```{soluton} demo-ex1\nSECRET\n```\n", 1),
    "marker with a space": ("``` {solution } demo-ex1\nSECRET\n```\n", 1),
    "code block in the language solution": ("```solution\nSECRET\n```\n", 1),
    "div of class solution": (":::solution\nSECRET\n:::\n", 1),
    # solutions in another container
    "dropdown titled Solution": ("```{dropdown} Solution\nSECRET\n```\n", 1),
    "admonition titled Answer": (
        "```{admonition} Answer\n:class: dropdown\nSECRET\n```\n",
        1,
    ),
    "note of class solution": ("```{note}\n:class: solution\nSECRET\n```\n", 1),
    "HTML details": (
        "<details><summary>Solution</summary>\n\nSECRET\n\n</details>\n",
        1,
    ),
    "heading Solutions": ("## Solutions\n\nSECRET\n", 1),
    "unknown directive": ("```{hidden}\nSECRET\n```\n", 1),
    "reStructuredText": (
        "```{eval-rst}\n.. solution:: demo-ex1\n\n   SECRET\n```\n",
        1,
    ),
    "indented code block": ("    ```{solution} demo-ex1\n    SECRET\n    ```\n", 1),
    # markers outside any directive
    "marker in a code cell": ("```{code-cell} ipython3\n# {solution} SECRET\n```\n", 2),
    "marker with a Cyrillic letter in prose": (
        "SECRET in {\u0455olution}`x`.\n",
        1,
    ),
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


def run_tool(book, out):
    """Run ``tools/student.py BOOK OUT`` as ``make student`` does."""
    command = [sys.executable, str(ROOT / "tools" / "student.py"), str(book), str(out)]
    return subprocess.run(command, capture_output=True, text=True)


def test_the_command_fails_closed_naming_the_file_and_line(tmp_path):
    book, out = tmp_path / "book", tmp_path / "out"
    book.mkdir()
    (book / "01_good.md").write_text(HEADER + CASES["backticks"][0])
    (book / "02_bad.md").write_text(HEADER + CASES["unclosed fence"][0])
    (book / "notes.md").write_text("# Not a notebook: {solution} in prose is fine\n")
    run = run_tool(book, out)
    assert run.returncode == 1
    assert f"02_bad.md:{HEADER.count(chr(10)) + 1}:" in run.stderr
    assert not out.exists()  # nothing is handed out when one chapter fails

    (book / "02_bad.md").write_text(HEADER + CASES["tildes"][0])
    run = run_tool(book, out)
    assert run.returncode == 0, run.stderr
    notebooks = sorted(p.name for p in out.glob("*.ipynb"))
    assert notebooks == ["01_good.ipynb", "02_bad.ipynb"]
    assert all("SECRET" not in p.read_text() for p in out.iterdir())


def write_book(tmp_path, **chapters):
    """A book folder holding ``chapters`` (name: MyST text after the header)."""
    book = tmp_path / "book"
    book.mkdir(exist_ok=True)
    for name, text in chapters.items():
        (book / f"{name}.md").write_text(HEADER + text)
    return book


def test_a_file_the_tool_did_not_write_is_never_overwritten(tmp_path, capsys):
    book = write_book(tmp_path, ch01="", ch02="")
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "ch02.ipynb"
    mine.write_text("a student's own notebook")
    with pytest.raises(FileExistsError, match=r"ch02.ipynb: refusing to overwrite"):
        write_student_notebooks(book, out)
    assert mine.read_text() == "a student's own notebook"
    assert sorted(p.name for p in out.iterdir()) == ["ch02.ipynb"]  # nothing else

    mine.unlink()
    write_student_notebooks(book, out)
    write_student_notebooks(book, out)  # its own files, unchanged: it may replace them
    (out / "ch01.ipynb").write_text("edited by a student since")
    assert main([str(book), str(out)]) == 1
    assert "ch01.ipynb: refusing to overwrite" in capsys.readouterr().err
    assert (out / "ch01.ipynb").read_text() == "edited by a student since"


def test_a_foreign_manifest_is_refused(tmp_path):
    book = write_book(tmp_path, ch01="")
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("{}")
    with pytest.raises(FileExistsError, match=r"expected the manifest"):
        write_student_notebooks(book, out)


def test_nothing_is_written_when_one_chapter_is_bad(tmp_path):
    book = write_book(tmp_path, ch01=CASES["colons"][0], ch02="")
    out = tmp_path / "out"
    write_student_notebooks(book, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (book / "ch01.md").write_text(HEADER + CASES["colons"][0] + "New text.\n")
    (book / "ch02.md").write_text(HEADER + CASES["dropdown titled Solution"][0])
    with pytest.raises(SolutionLeak, match=r"ch02.md:\d+:"):
        write_student_notebooks(book, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_bad_yaml_header_names_the_chapter_and_line(tmp_path, capsys):
    book = tmp_path / "book"
    book.mkdir()
    (book / "ch01.md").write_text("---\nkernelspec:\n  name: [python3\n---\n\n# A\n")
    with pytest.raises(ValueError, match=r"ch01.md:3: the YAML header does not parse"):
        student_notebook(book / "ch01.md")
    assert main([str(book), str(tmp_path / "out")]) == 1
    assert "ch01.md:3: the YAML header" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", ["{\u0455olution}", "{sol\u200bution}", "\uff5bsolution\uff5d"]
)
def test_a_look_alike_in_a_real_chapter_stops_the_tool(tmp_path, name):
    source = (BOOK / "04_sentences.md").read_text(encoding="utf-8")
    opening = "```{solution} sent-ex4"
    line = source[: source.index(opening)].count("\n") + 1
    chapter = tmp_path / "04_sentences.md"
    chapter.write_text(source.replace(opening, f"```{name} sent-ex4"))
    with pytest.raises(SolutionLeak, match=rf"04_sentences.md:{line}:"):
        student_notebook(chapter)


def test_a_notebook_loses_its_tagged_cells_and_solutions(tmp_path):
    new = nbformat.v4
    cells = [
        new.new_markdown_cell("What is x?"),
        new.new_code_cell("x = 'SECRET'", metadata={"tags": ["solution"]}),
        new.new_markdown_cell("SECRET", metadata={"tags": ["Solutions"]}),
        new.new_markdown_cell("Why?\n\n```{solution} ex2\nSECRET\n```\n\nNext."),
        new.new_code_cell("y = 2"),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(new.new_notebook(cells=cells), path)
    student = student_notebook(path)
    sources = [c.source for c in student.cells]
    assert not any("SECRET" in s for s in sources)
    assert [c.cell_type for c in student.cells] == ["markdown"] * 4 + ["code"]
    assert sources[1] == sources[2] == YOUR_TURN.format(label="above")
    assert sources[3].startswith("Why?") and sources[3].endswith("Next.")
    assert [c.id for c in student.cells] == [c.id for c in cells]

    cells[3].source = "```{\u0455olution} ex2\nSECRET\n```"
    nbformat.write(new.new_notebook(cells=cells[2:]), path)
    with pytest.raises(SolutionLeak, match=r"nb.ipynb\[cell 1\]:1: \{.olution\}"):
        student_notebook(path)
    notebook = new.new_notebook()
    notebook.cells = [cells[1]]
    cells[1].metadata.tags = "solution"  # invalid: nbformat.write would refuse it
    path.write_text(json.dumps(notebook))
    with pytest.raises(SolutionLeak, match=r"nb.ipynb\[cell 0\]: expected the cell's"):
        student_notebook(path)


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


def test_the_workbook_answer_cells_are_kept():
    """A cell tagged ``answer`` is the stub the student fills in, not a solution."""
    stub = "def f(x):\n    raise NotImplementedError"
    cell = f"```{{code-cell}} ipython3\n---\ntags: [answer]\n---\n{stub}\n```\n"
    text, count = strip_solutions(HEADER + cell)
    assert count == 0 and text == HEADER + cell


SOLUTION_DIRECTIVE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\{solution\}", re.MULTILINE)
SOLUTION_TAG = re.compile(r"^:?tags:.*\bsolutions?\b", re.MULTILINE)


@pytest.mark.parametrize(
    "chapter", sorted(BOOK.glob("[0-9][0-9]*_*.md")), ids=lambda p: p.name
)
def test_every_real_chapter_converts_without_its_solutions(chapter):
    source = chapter.read_text(encoding="utf-8")
    stripped, count = strip_solutions(source, str(chapter))
    directives = len(SOLUTION_DIRECTIVE.findall(source))
    assert count == directives + len(SOLUTION_TAG.findall(source)) and directives
    student = "\n".join(c.source for c in student_notebook(chapter).cells)
    assert "{solution" not in student
    kept = set(stripped.split("\n"))
    removed = [line for line in source.split("\n") if line not in kept]
    for line in removed:
        if len(line.strip()) > 25:
            assert line not in student, f"solution text survived: {line!r}"


def test_reference_listings_go_and_the_exercises_are_recorded(tmp_path):
    """A cell tagged ``reference`` shows a graded exercise's solution: it goes. The
    answer cells' labels go to the notebook's metadata, for the grader."""
    listing = "```{code-cell} ipython3\n:tags: [reference]\n\nshow_source(f)\n```\n"
    answer = (
        "```{code-cell} ipython3\n---\ntags: [answer]\nexercise: demo-f\n---\n"
        "def f(x):\n    raise NotImplementedError\n```\n"
    )
    chapter = tmp_path / "ch.md"
    chapter.write_text(HEADER + listing + answer, encoding="utf-8")
    notebook = student_notebook(chapter)
    sources = [c.source for c in notebook.cells]
    assert not any("show_source(f)" in s for s in sources)
    assert any("Not shown in this edition" in s for s in sources)
    assert notebook.metadata["workbook"] == {"chapter": "ch", "exercises": ["demo-f"]}
    chapter.write_text(HEADER + answer.replace("exercise: demo-f\n", ""), "utf-8")
    with pytest.raises(SolutionLeak, match=r"ch.md\[cell \d+\]: expected an answer"):
        student_notebook(chapter)


def test_no_student_notebook_shows_a_graded_reference():
    from companion.workbook import exercises

    names = {
        e.reference.rsplit(".", 1)[-1] for e in exercises().values() if e.reference
    }
    for chapter in sorted(BOOK.glob("[0-9][0-9]*_*.md")):
        for cell in student_notebook(chapter).cells:
            if cell.cell_type != "code":
                continue
            for call in re.findall(r"show_source\(([^)]*)\)", cell.source):
                shown = set(re.findall(r"\w+", call))
                assert not shown & names, f"{chapter.name} shows {shown & names}"


# Plain Jupyter Markdown (tools/plain.py): what JupyterLab without extensions, VS Code
# and Colab render, with the book's numbers (tools/numbering.py).

TOC = """format: jb-book
root: book/intro
parts:
  - caption: Chapters
    numbered: true
    chapters:
      - file: book/01_a
      - file: book/02_b
"""
CHAPTER_A = """(ch-a)=
# Chapter A

## First

See {ref}`the next chapter <ch-b>`, {numref}`b-ex1`, {eq}`eq-b` and {cite}`elman1990`;
{cite:t}`cho2014,elman1990` too. `{ref}` in code stays, as does {ref}`ch-a`.

$$
a = b \\\\
c = d
$$ (eq-a)

```{note}
**Careful.** With $x$ and {eq}`eq-a`.
```

```{code-cell} ipython3
---
mystnb:
  figure:
    name: fig-a
    caption: A curve
      on two lines.
---
print("plot")
```

## Exercises

```{exercise} Think
:label: a-ex1

Why, in (see {numref}`fig-a`)?
```

```{solution} a-ex1
SECRET
```

```{exercise}
:label: a-ex2

An exercise without a solution.
```

```{exercise}
:label: a-graded
```

```{code-cell} ipython3
---
tags: [answer]
exercise: a-graded
---
f = ...
```
"""
CHAPTER_B = """(ch-b)=
# Chapter B

$$
y = 1
$$ (eq-b)

```{exercise}
:label: b-ex1
```
"""
BIB = """@article{elman1990, author = {Elman, Jeffrey L.}, title = {Finding structure in
time}, journal = {Cognitive Science}, year = {1990}}
@article{cho2014, author = {Cho, K. and van Merri{\\"e}nboer, B. and Gulcehre, C.},
title = {Learning phrase representations}, journal = {EMNLP}, year = {2014}}
"""


def small_book(tmp_path, a=CHAPTER_A):
    (tmp_path / "_toc.yml").write_text(TOC)
    book = tmp_path / "book"
    book.mkdir(exist_ok=True)
    (book / "intro.md").write_text("# Intro\n")
    (book / "01_a.md").write_text(HEADER.split("# A chapter")[0] + a)
    (book / "02_b.md").write_text(HEADER.split("# A chapter")[0] + CHAPTER_B)
    (book / "references.bib").write_text(BIB)
    return book


def test_myst_becomes_plain_markdown_with_the_books_numbers(tmp_path):
    book = small_book(tmp_path)
    cells = student_notebook(book / "01_a.md").cells
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert "SECRET" not in text
    assert "See [the next chapter](02_b.ipynb), [Exercise 2.1](02_b.ipynb)," in text
    assert "[(2.1)](02_b.ipynb) and (Elman, 1990);" in text
    assert "Cho et al. (2014); Elman (1990) too. `{ref}` in code stays" in text
    assert "as does Chapter A." in text  # its own title, no link to itself
    assert (
        "$$\n\\begin{aligned}\na = b \\\\\nc = d\n\\end{aligned}\n\\tag{1.1}\n$$"
        in (text.replace("gathered", "aligned"))
    )
    assert "> **Note.**\n>\n> **Careful.** With $x$ and (1.1)." in text
    assert "**Fig. 1.1.** A curve on two lines." in text
    assert text.startswith("# 1 Chapter A\n\n## 1.1 First\n")
    assert "\n## 1.2 Exercises\n" in text
    assert "### Exercise 1.1: Think\n\nWhy, in (see Fig. 1.1)?" in text
    assert (
        "> **Your turn.** Write your answer to Exercise 1.1 in the cell below." in text
    )
    left = text.replace("`{ref}`", "")
    assert not re.search(r"\{(ref|numref|eq|cite|note|exercise|solution)\}|\)=", left)
    # one place to answer each exercise: an empty cell, or the graded answer cell
    kinds = [(c.cell_type, c.source.split("\n")[0][:24]) for c in cells]
    empty = [i for i, c in enumerate(cells) if c.cell_type == "code" and not c.source]
    assert len(empty) == 2
    assert "Your turn" in cells[empty[0] - 1].source, kinds
    assert cells[empty[1] - 1].source.startswith("### Exercise 1.2"), kinds
    assert cells[empty[1] + 1].source.startswith("### Exercise 1.3"), kinds
    assert [c for c in cells if c.cell_type == "code"][0].source.startswith("# Setup")


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("Use {abbr}`RNN (recurrent network)`.\n", "a {abbr} role"),
        ("```{figure} x.png\n:name: f\n\nCaption.\n```\n", "a {figure} directive"),
        ("- item\n\n  ```{note}\n  Inside.\n  ```\n", "inside a list or a quote"),
        ("Term\n: its definition\n", "cannot write a dl_open block"),
        ("See {ref}`nowhere`.\n", "expected the label 'nowhere'"),
        ("As {cite}`nobody2020` says.\n", "'nobody2020' is not in references.bib"),
        (":::\nA div.\n:::\n", "':::' block is not plain Markdown"),
        ("```{exercise}\nNo label.\n```\n", "an exercise without a :label:"),
    ],
)
def test_what_cannot_be_plain_markdown_stops_the_tool_at_its_line(
    tmp_path, snippet, message
):
    text = CHAPTER_A.replace("## Exercises", snippet + "\n## Exercises")
    book = small_book(tmp_path, text)
    line = HEADER.split("# A chapter")[0].count("\n") + text[
        : text.index(snippet)
    ].count("\n")
    line += 2 if "inside a list" in message else 0  # the fence, in the list item
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        student_notebook(book / "01_a.md")
    assert f"01_a.md:{line + 1}:" in str(error.value)


def test_the_setup_cell_installs_the_wheel_beside_the_notebook_or_from_the_site():
    from IPython.core.inputtransformer2 import TransformerManager
    from student import setup_source

    wheel = "companion-0.1.0-py3-none-any.whl"
    for fallback in (None, "https://example.org/book/class-pack/" + wheel):
        source = setup_source(wheel, fallback)
        python = TransformerManager().transform_cell(source)
        compile(python, "setup", "exec")  # valid once IPython reads %pip
        assert "run_line_magic('pip', 'install --quiet \"{source}\"')" in python
        assert f'WHEEL = "{wheel}"' in source
        assert (fallback or "put {WHEEL}") in source


def test_every_student_notebook_says_the_numbers_the_book_shows():
    """Item by item against tools/numbering.py: headings, exercises, figure captions,
    equation tags; each exercise has one place to answer; no label in the prose."""
    from numbering import read_book

    book = read_book(ROOT)
    for page in [p for p in book.pages if p.number is not None]:
        cells = student_notebook(page.path).cells
        text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
        shown = {
            "exercise": re.findall(r"^### Exercise ([\d.]+)", text, re.MULTILINE),
            "figure": re.findall(r"^\*\*Fig\. ([\d.]+)\.\*\*", text, re.MULTILINE),
            "equation": re.findall(r"\\tag\{([\d.]+)\}", text),
        }
        for kind, numbers in shown.items():
            ours = [t.numbered.strip("()") for t in page.targets if t.kind == kind]
            assert numbers == ours, (page.doc, kind)
        headings = re.findall(r"^#+ (\d[\d.]*) ", text, re.MULTILINE)
        sections = [t.numbered for t in page.targets if t.kind in ("page", "section")]
        assert headings == sections, page.doc
        assert not re.search(r"exercise `[\w-]+`", text), page.doc
        answer_cells = [c for c in cells if "answer" in c.metadata.get("tags", [])]
        empty = [c for c in cells if c.cell_type == "code" and not c.source.strip()]
        assert len(answer_cells) + len(empty) == len(shown["exercise"]), page.doc
