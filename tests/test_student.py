from pathlib import Path

import pytest

from companion.student import SOLUTION, strip_solutions, student_notebook, write_student_notebooks

BOOK = Path(__file__).resolve().parents[1] / "book"

CHAPTER = """---
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

```{solution} demo-ex1
:class: dropdown

SECRET-ANSWER-ONE: two.
```

````{solution} demo-ex2
:class: dropdown

```python
print("SECRET-ANSWER-TWO")
```
````

:::{solution} demo-ex3
SECRET-ANSWER-THREE
:::

```{code-cell} ipython3
:tags: [solution]
print("SECRET-ANSWER-FOUR")
```
"""


def test_strip_solutions_removes_every_fence_style():
    text, count = strip_solutions(CHAPTER)
    assert count == 3
    assert "SECRET" not in text.replace('print("SECRET-ANSWER-FOUR")', "")
    assert "What is x?" in text and "exercise `demo-ex1`" in text and "x = 1 + 1" in text


def test_student_notebook_drops_solution_cells(tmp_path):
    chapter = tmp_path / "01_demo.md"
    chapter.write_text(CHAPTER)
    notebook = student_notebook(chapter)
    everything = "\n".join(cell.source for cell in notebook.cells)
    assert "SECRET" not in everything
    assert any(c.cell_type == "code" and "x = 1 + 1" in c.source for c in notebook.cells)
    assert "Your turn" in everything


def test_write_student_notebooks(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "01_demo.md").write_text(CHAPTER)
    (tmp_path / "book" / "plain.md").write_text("# Not a notebook\n")
    written = write_student_notebooks(tmp_path / "book", tmp_path / "out")
    assert [p.name for p in written] == ["01_demo.ipynb"]
    assert "SECRET" not in written[0].read_text()


def test_errors_name_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected a chapter file"):
        student_notebook(tmp_path / "missing.md")
    with pytest.raises(FileNotFoundError, match="expected MyST notebook chapters"):
        write_student_notebooks(tmp_path, tmp_path / "out")
    with pytest.raises(TypeError, match="expected markdown text"):
        strip_solutions(None)


@pytest.mark.parametrize("chapter", sorted(BOOK.glob("[0-9][0-9]_*.md")), ids=lambda p: p.name)
def test_no_solution_text_survives_in_the_real_chapters(chapter):
    source = chapter.read_text()
    solutions = [m.group(0).split("\n", 1)[1] for m in SOLUTION.finditer(source)]
    assert solutions, f"{chapter.name} has exercises with solutions"
    outside = SOLUTION.sub("", source)  # a line that also stands outside a solution may stay
    student = "\n".join(c.source for c in student_notebook(chapter).cells)
    for solution in solutions:
        for line in solution.splitlines()[1:-1]:
            if len(line.strip()) > 25 and line not in outside:
                assert line not in student, f"solution text survived in {chapter.name}: {line!r}"
