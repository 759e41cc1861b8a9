"""The teachers page's table of graded exercises, from the workbook itself.

    .venv/bin/python tools/workbook_table.py     # prints the Markdown table

``tests/test_workbook.py`` checks that ``book/teachers.md`` holds this table, so the
page and the exercises cannot drift apart."""

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.workbook import exercises  # noqa: E402


def chapters_of_labels() -> dict[str, str]:
    """``{label: chapter file}`` for every answer cell of the book."""
    found = {}
    for path in sorted((ROOT / "book").glob("[0-9]*.md")):
        for cell in jupytext.read(path).cells:
            label = cell.metadata.get("exercise")
            if label and "answer" in cell.metadata.get("tags", []):
                found[label] = path.name
    return found


def table() -> str:
    """One row per graded exercise: chapter by chapter, then by label."""
    where = chapters_of_labels()
    known = exercises()
    rows = [
        "| Exercise | Course question | What the student writes | Points |",
        "|---|---|---|---|",
    ]
    for label in sorted(known, key=lambda k: (where.get(k, ""), k)):
        e = known[label]
        what = f"`{e.name}`" if e.kind == "code" else "a written answer"
        link = f"{{numref}}`{label}` (`{label}`)"  # "Exercise 1.4 (xor-ex3)"
        rows.append(f"| {link} | {e.question} | {what} | {e.points:g} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
