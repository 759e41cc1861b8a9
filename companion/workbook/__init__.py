"""The workbook: exercises students write and check themselves.

In a student notebook, each graded exercise is a statement, an answer cell (tagged
``answer``, with the cell metadata ``exercise`` and ``reference``) holding a stub with
the name and signature of the companion's reference, and a check cell::

    from companion.workbook import check
    check("sent-pad-collate", pad_collate_fn)

``check`` prints one line per property (✓ or ✗, the first failing case, a hint) and
never raises, so an unfinished notebook still runs from top to bottom. ``answer(label,
value)`` checks a number or a choice the same way.

The exercises live in one module per chapter (``companion.workbook.ch02`` …) and are
gathered in ``EXERCISES``. The teacher's grader (``tools/grade.py``) runs the same
properties plus hidden ones that are not in this package."""

import importlib
import pkgutil

from companion.workbook.runner import Exercise, report, run

# the modules that define exercises, one per chapter: ch01, ch02, ...
CHAPTERS = tuple(i.name for i in pkgutil.iter_modules(__path__) if i.name[:2] == "ch")


def exercises() -> dict[str, Exercise]:
    """Every exercise of the book, by label."""
    found = {}
    for chapter in CHAPTERS:
        module = importlib.import_module(f"companion.workbook.{chapter}")
        for exercise in module.EXERCISES:
            found[exercise.label] = exercise
    return found


def _exercise(label: str) -> Exercise:
    known = exercises()
    if label not in known:
        raise ValueError(
            f"expected label to be one of the book's exercises "
            f"({', '.join(sorted(known))}), got {label!r}"
        )
    return known[label]


def check(label: str, candidate) -> None:
    """Check the answer ``candidate`` (the function or class the answer cell defines)
    to exercise ``label``; print one line per property."""
    exercise = _exercise(label)
    print(report(exercise, run(exercise, candidate)))


def answer(label: str, value) -> None:
    """Check a written answer (a number or a choice) to exercise ``label``."""
    check(label, value)
