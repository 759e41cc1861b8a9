"""The grader on fixture submissions: complete, partial, wrong, crashing, looping, one
that redefines the checker, one that defines nothing, and one that is not a notebook.
Every one gets its row in grades.csv and its feedback file."""

import csv
import inspect
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from companion.data.sentences import pad_collate_fn
from companion.losses import masked_cross_entropy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from wrong_answers import WRONG  # noqa: E402

LABELS = ("sent-pad-collate", "sent-masked-ce")
RIGHT = {
    "sent-pad-collate": "import torch\nfrom torch.nn.utils.rnn import pad_sequence\n"
    "def pad_collate_fn(samples, pad_id=0, eos_id=1, vocab_size=97):\n"
    "    eos = torch.tensor([eos_id])\n"
    "    return pad_sequence([torch.cat([s.long(), eos]) for s in samples],\n"
    "                        padding_value=pad_id)\n",
    "sent-masked-ce": "import torch\nimport torch.nn.functional as F\n"
    "def masked_cross_entropy(logits, target, pad_id):\n"
    "    nll = F.cross_entropy(logits.flatten(0, 1), target.flatten(),\n"
    "                          reduction='none')\n"
    "    mask = (target != pad_id).flatten()\n"
    "    return torch.where(mask, nll, 0.0).sum() / mask.sum()\n",
}
STUB = "def {name}(*args, **kwargs):\n    raise NotImplementedError\n"
NAMES = {"sent-pad-collate": "pad_collate_fn", "sent-masked-ce": "masked_cross_entropy"}
CHEAT = (
    "import companion.workbook.runner as r\n"
    "from companion.workbook.runner import Result\n"
    "r.run_property = lambda p, c: Result(p.name, 'pass')\n"
    "r.compare = lambda *a, **k: None\n"
    "def check(*a, **k):\n    print('all good')\n"
    "def {name}(*args, **kwargs):\n    return 0\n"
)


def notebook(answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["workbook"] = {"exercises": list(LABELS)}
    for label, source in answers.items():
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.update(tags=["answer"], exercise=label)
        nb.cells += [cell, nbformat.v4.new_code_cell(f"check({label!r}, ...)")]
    return nb


SUBMISSIONS = {
    "complete": notebook(RIGHT),
    "partial": notebook(
        {
            "sent-pad-collate": RIGHT["sent-pad-collate"],
            "sent-masked-ce": STUB.format(name="masked_cross_entropy"),
        }
    ),
    "wrong": notebook({label: next(iter(WRONG[label].values())) for label in LABELS}),
    "crashing": notebook({label: "1 / 0\n" for label in LABELS}),
    "looping": notebook({"sent-pad-collate": "while True:\n    pass\n"}),
    "cheating": notebook({label: CHEAT.format(name=NAMES[label]) for label in LABELS}),
    "nothing": notebook({label: "x = 1\n" for label in LABELS}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    for name, nb in SUBMISSIONS.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    (folder / "broken.ipynb").write_text("{ not json", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "grade.py"),
            str(folder),
            "--timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    with (folder / "grades.csv").open(encoding="utf-8") as f:
        rows = {row["notebook"]: row for row in csv.DictReader(f)}
    return folder, rows


def test_every_submission_gets_a_row_and_feedback(graded):
    folder, rows = graded
    assert set(rows) == {f"{n}.ipynb" for n in [*SUBMISSIONS, "broken"]}
    for name in rows:
        assert (folder / "feedback" / f"{Path(name).stem}.txt").exists()
    assert list(next(iter(rows.values()))) == ["notebook", *LABELS, "total"]


def test_points_follow_the_answers(graded):
    folder, rows = graded
    full = {label: 2.0 for label in LABELS}
    assert {k: float(rows["complete.ipynb"][k]) for k in LABELS} == full
    assert float(rows["complete.ipynb"]["total"]) == 4.0
    assert float(rows["partial.ipynb"]["sent-pad-collate"]) == 2.0
    assert float(rows["partial.ipynb"]["sent-masked-ce"]) == 0.0
    assert 0 < float(rows["wrong.ipynb"]["total"]) < 4.0  # partial credit
    for name in ("crashing", "looping", "cheating", "nothing", "broken"):
        assert float(rows[f"{name}.ipynb"]["total"]) == 0.0, name


def test_feedback_says_why(graded):
    folder, _ = graded
    read = lambda n: (folder / "feedback" / f"{n}.txt").read_text(encoding="utf-8")  # noqa: E731
    assert "ZeroDivisionError at line 1" in read("crashing")
    assert "stopped after 20 s" in read("looping")
    assert "defines no pad_collate_fn" in read("nothing")
    assert "cannot read this notebook" in read("broken")
    assert "✗" in read("cheating") and "✗" in read("wrong")


def test_the_references_named_here_are_the_companions():
    assert inspect.signature(pad_collate_fn).parameters.keys() == {
        "samples",
        "pad_id",
        "eos_id",
        "vocab_size",
    }
    assert masked_cross_entropy.__name__ == "masked_cross_entropy"
