"""Grade a folder of submitted student notebooks.

    .venv/bin/python tools/grade.py SUBMISSIONS [--timeout SECONDS]   (make grade)

Each notebook's answer cells (tagged ``answer``, with the metadata ``exercise``) run in
a fresh Python process per exercise (``grading/harness.py``), with a timeout, against
the exercise's public checks plus hidden ones (``grading/hidden/``). The grader
writes

* ``SUBMISSIONS/grades.csv``: a ``notebook`` column (the file's name), one column per
  exercise label holding the points earned, and a ``total``;
* ``SUBMISSIONS/feedback/<notebook>.txt``: one line per property and exercise.

A notebook that cannot be read, crashes, loops, redefines the checker or defines nothing
still gets its row, with 0 for what could not be graded and the reason in its
feedback."""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from companion.workbook import exercises  # noqa: E402
from companion.workbook.runner import MARKS  # noqa: E402

TIMEOUT = 60


def answer_cells(notebook) -> dict[str, str]:
    """``{label: source}`` of the notebook's answer cells (the last one wins)."""
    return {label: cells[-1] for label, cells in all_answer_cells(notebook).items()}


def all_answer_cells(notebook) -> dict[str, list[str]]:
    """``{label: [source, ...]}``: every answer cell of each exercise, in order."""
    found: dict[str, list[str]] = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        label = meta.get("exercise")
        if cell.get("cell_type") == "code" and "answer" in tags and label:
            found.setdefault(str(label), []).append(cell.get("source", ""))
    return found


def expected_names(label: str) -> list[str]:
    """The properties the harness must report for ``label``, public then hidden."""
    from grading.hidden import HIDDEN

    exercise = exercises()[label]
    return [p.name for p in [*exercise.properties, *HIDDEN.get(label, [])]]


def expected_labels(notebook) -> list[str]:
    """The exercises the notebook was handed out with (its ``workbook`` metadata)."""
    return list(notebook.metadata.get("workbook", {}).get("exercises", []))


def grade_answer(label: str, source: str, timeout: float) -> dict:
    """Run one answer in a fresh process, in a temporary folder; the harness's
    verdict, or why none came. A verdict that does not list exactly the exercise's
    properties is refused."""
    request = json.dumps({"label": label, "source": source})
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    ended = {"crash": "the answer ended the process before its verdict"}
    with tempfile.TemporaryDirectory() as folder:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "grading.harness"],
                input=request,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=folder,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return {"crash": f"stopped after {timeout:g} s (an endless loop?)"}
    lines = done.stdout.strip().splitlines()
    try:
        verdict = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return ended
    if not isinstance(verdict, dict) or not (
        "results" in verdict or "crash" in verdict
    ):
        return ended
    if "results" in verdict:
        names = [r[0] for r in verdict["results"] if isinstance(r, list) and r]
        if names != expected_names(label):
            return ended
    return verdict


def points(label: str, verdict: dict) -> tuple[float, list[str]]:
    """The points for one exercise and its feedback lines."""
    exercise = exercises()[label]
    if "results" not in verdict:
        return 0.0, [f"{label}: 0/{exercise.points:g} — {verdict['crash']}"]
    results = verdict["results"]
    if not results:
        return 0.0, [f"{label}: 0 — no property was run"]
    passed = sum(status == "pass" for _, status, _ in results)
    earned = round(exercise.points * passed / len(results), 2)
    lines = [f"{label}: {earned:g}/{exercise.points:g} ({passed}/{len(results)} hold)"]
    for name, status, message in results:
        lines.append(f"  {MARKS[status]} {name}" + (f": {message}" if message else ""))
    return earned, lines


def grade_notebook(path: Path, labels: list[str], timeout: float):
    """``({label: points}, feedback lines)`` for the notebook at ``path``."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 (any unreadable file still gets its row)
        reason = f"cannot read this notebook: {type(error).__name__}: {error}"
        return dict.fromkeys(labels, 0.0), [reason]
    copies = all_answer_cells(notebook)
    answers = {label: cells[-1] for label, cells in copies.items()}
    scores, feedback = {}, []
    for label in labels:
        if label not in answers:
            scores[label] = 0.0
            feedback.append(f"{label}: 0 — no answer cell for this exercise")
            continue
        scores[label], lines = points(
            label, grade_answer(label, answers[label], timeout)
        )
        feedback += lines
        if len(copies[label]) > 1:
            feedback.append(
                f"  note: {len(copies[label])} answer cells for {label}; the last one "
                "was graded"
            )
    return scores, feedback


def grade(folder: str | Path, timeout: float = TIMEOUT) -> Path:
    """Grade every ``*.ipynb`` of ``folder``; return the path of ``grades.csv``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"expected a folder of submissions, got {folder}")
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"expected student notebooks (*.ipynb) in {folder}")
    known = exercises()
    found = set()
    for path in paths:
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 (graded as unreadable below)
            continue
        found |= {*expected_labels(notebook), *answer_cells(notebook)}
    labels = [label for label in known if label in found]  # the book's order
    (folder / "feedback").mkdir(exist_ok=True)
    rows = []
    for path in paths:
        scores, feedback = grade_notebook(path, labels, timeout)
        total = round(sum(scores.values()), 2)
        rows.append({"notebook": path.name, **scores, "total": total})
        text = "\n".join([f"{path.name}: {total:g} points", *feedback]) + "\n"
        (folder / "feedback" / f"{path.stem}.txt").write_text(text, encoding="utf-8")
    target = folder / "grades.csv"
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["notebook", *labels, "total"])
        writer.writeheader()
        writer.writerows(rows)
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", help="a folder of student notebooks (.ipynb)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help="seconds per exercise and notebook (default 60)",
    )
    args = parser.parse_args(argv)
    try:
        target = grade(args.submissions, args.timeout)
    except FileNotFoundError as error:
        print(f"grade: {error}", file=sys.stderr)
        return 1
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
