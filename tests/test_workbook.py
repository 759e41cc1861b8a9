"""The workbook's checks can fail: for every graded exercise, the companion's reference
passes every property (public and hidden), the chapter's stub reports "not done", and
at least three wrong answers (the seeds' own bugs among them) each fail a property that
the report names. The chapters' answer cells name their exercise and its reference."""

import inspect
import sys
from importlib import import_module
from pathlib import Path

import jupytext
import pytest

from companion.workbook import exercises
from companion.workbook.runner import report, run

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from grade import answer_cells  # noqa: E402
from wrong_answers import WRONG  # noqa: E402

from grading.hidden import HIDDEN  # noqa: E402

EXERCISES = exercises()


def _chapter_answers() -> dict[str, tuple[str, str, dict]]:
    found = {}
    for path in sorted((ROOT / "book").glob("[0-9]*.md")):
        notebook = jupytext.read(path)
        for cell in notebook.cells:
            label = cell.metadata.get("exercise")
            if "answer" in cell.metadata.get("tags", []) and label:
                assert label not in found, f"two answer cells for {label}"
                found[label] = (path.name, cell.source, dict(cell.metadata))
    assert answer_cells(notebook) is not None
    return found


ANSWERS = _chapter_answers()


def reference(exercise):
    if exercise.kind == "answer":
        return exercise.solution
    module, _, name = exercise.reference.rpartition(".")
    try:
        return getattr(import_module(module), name)
    except ModuleNotFoundError:  # a method: companion.rnn.RNN.one_step
        module, _, owner = module.rpartition(".")
        return getattr(getattr(import_module(module), owner), name)


def candidate_from(source: str, name: str):
    namespace = {"__name__": "__answer__"}
    exec(compile(source, "<answer>", "exec"), namespace)
    return namespace[name]


def test_every_exercise_has_one_answer_cell_and_three_wrong_answers():
    assert len(EXERCISES) >= 2
    assert set(ANSWERS) == set(EXERCISES)
    assert set(WRONG) == set(EXERCISES)
    for label, variants in WRONG.items():
        assert len(variants) >= 3, label


@pytest.mark.parametrize("label", sorted(EXERCISES))
def test_the_answer_cell_names_its_reference_and_matches_its_signature(label):
    exercise = EXERCISES[label]
    _, source, metadata = ANSWERS[label]
    if exercise.kind == "answer":
        assert candidate_from(source, exercise.name) is Ellipsis
        return
    assert metadata["reference"] == exercise.reference
    stub, ref = candidate_from(source, exercise.name), reference(exercise)
    assert stub.__name__ == ref.__name__ == exercise.name
    if inspect.isclass(ref):
        methods = [n for n, v in vars(stub).items() if inspect.isfunction(v)]
        for name in methods:
            assert inspect.signature(getattr(stub, name)).parameters.keys() == (
                inspect.signature(getattr(ref, name)).parameters.keys()
            ), f"{label}: {name}"
    else:
        assert inspect.signature(stub).parameters.keys() == (
            inspect.signature(ref).parameters.keys()
        )


@pytest.mark.parametrize("label", sorted(EXERCISES))
def test_the_reference_passes_every_property(label):
    exercise = EXERCISES[label]
    results = run(exercise, reference(exercise), HIDDEN.get(label, []))
    assert all(r.passed for r in results), report(exercise, results)


@pytest.mark.parametrize("label", sorted(EXERCISES))
def test_the_stub_is_not_done(label):
    exercise = EXERCISES[label]
    stub = candidate_from(ANSWERS[label][1], exercise.name)
    results = run(exercise, stub)
    assert {r.status for r in results} == {"not done"}
    assert "not done yet" in report(exercise, results)


CASES = [(label, name) for label in sorted(WRONG) for name in sorted(WRONG[label])]


@pytest.mark.parametrize(("label", "variant"), CASES)
def test_a_wrong_answer_fails_a_named_property(label, variant):
    exercise = EXERCISES[label]
    wrong = candidate_from(WRONG[label][variant], exercise.name)
    results = run(exercise, wrong)
    failed = [r for r in results if r.status in ("fail", "error")]
    assert failed, f"{label}: the wrong answer '{variant}' passes every check"
    text = report(exercise, results)
    for r in failed:
        assert f"✗ {r.name}: " in text


def test_the_teachers_page_lists_every_graded_exercise():
    from workbook_table import table

    page = (ROOT / "book" / "teachers.md").read_text(encoding="utf-8")
    assert table() in page, "run tools/workbook_table.py and paste its table"
