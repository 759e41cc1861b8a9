"""The machinery of the workbook's checks: properties, failures and the report.

An exercise is checked property by property (``Property``): shapes, values against torch
or a brute force, gradients, masking, edge cases. A property's test takes the student's
candidate (a function or a class) and returns nothing, or raises ``Failure`` naming the
first failing case, small: its sizes, what was expected and what came, and a hint.

``run(exercise, candidate)`` runs every property and never raises: a stub that raises
``NotImplementedError`` is *not done yet*, any other exception raised by the student's
code is reported as "your code raised X at line N", and the rest of the notebook keeps
running. ``report(...)`` turns the results into one line per property."""

import math
import sys
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

PACKAGE = Path(__file__).resolve().parents[1]
LIBRARIES = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
WIDTH = 88


class Failure(Exception):
    """A property that does not hold: ``case`` (the first failing input, with its
    sizes), ``expected`` and ``got`` (summarised), and a ``hint``."""

    def __init__(self, case: str, expected: str, got: str, hint: str = ""):
        super().__init__(f"{case}: expected {expected}, got {got}")
        self.case, self.expected, self.got, self.hint = case, expected, got, hint


@dataclass
class Property:
    """One property of an exercise: ``test(candidate)`` raises ``Failure`` or
    returns."""

    name: str
    test: object
    hint: str = ""


@dataclass
class Exercise:
    """A graded exercise: its ``label`` (the book's), the ``name`` the student's answer
    defines, the dotted path of the companion's ``reference``, the course question it
    answers, its points and its public properties."""

    label: str
    name: str
    reference: str
    question: str
    points: float
    properties: list = field(default_factory=list)
    kind: str = "code"  # or "answer": a number or a choice
    solution: object = None  # an answer's right value (the tests prove the check)


@dataclass
class Result:
    """What happened to one property: ``status`` is ``"pass"``, ``"fail"``,
    ``"not done"`` or ``"error"``; ``message`` says why."""

    name: str
    status: str
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def _is_student_frame(filename: str) -> bool:
    """Whether a traceback frame comes from the student's code (a notebook cell, an
    answer run by the grader) rather than from this package, torch or Python."""
    if filename.startswith("<") and not filename.startswith("<frozen"):
        return True
    path = Path(filename).resolve()
    if path.is_relative_to(PACKAGE):
        return False
    return not any(path.is_relative_to(lib) for lib in LIBRARIES)


def where(error: BaseException) -> str:
    """``"at line N (in f)"`` for the deepest frame of the student's code in the
    traceback of ``error``, or ``""`` when none is."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if _is_student_frame(frame.filename):
            return f" at line {frame.lineno} (in {frame.name})"
    return ""


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else ""


def run_property(prop: Property, candidate) -> Result:
    """Run one property; never raises."""
    try:
        prop.test(candidate)
    except NotImplementedError as error:
        return Result(prop.name, "not done", f"not done yet{where(error)}")
    except Failure as failure:
        hint = failure.hint or prop.hint
        message = f"{failure.case}: expected {failure.expected}, got {failure.got}"
        return Result(prop.name, "fail", message + (f". Hint: {hint}" if hint else ""))
    except Exception as error:  # the student's code raised: say where, briefly
        kind = type(error).__name__
        return Result(
            prop.name,
            "error",
            f"your code raised {kind}{where(error)}: {_first_line(error)}",
        )
    return Result(prop.name, "pass")


def run(exercise: Exercise, candidate, extra: list | None = None) -> list[Result]:
    """Every public property of ``exercise`` (then ``extra`` ones), in order."""
    properties = [*exercise.properties, *(extra or [])]
    if candidate is None:
        return [Result("answer", "not done", f"define {exercise.name} first")]
    if candidate is Ellipsis:  # an answer cell's placeholder
        return [Result(p.name, "not done") for p in properties]
    return [run_property(p, candidate) for p in properties]


def score(exercise: Exercise, results: list[Result]) -> float:
    """The points earned: the share of properties that pass, times the points."""
    if not results:
        return 0.0
    passed = sum(r.passed for r in results)
    return round(exercise.points * passed / len(results), 2)


MARKS = {"pass": "✓", "fail": "✗", "not done": "…", "error": "✗"}


def report(exercise: Exercise, results: list[Result]) -> str:
    """One line per property, wrapped to the page: a mark, the property and, when it
    does not pass, why."""
    done = sum(r.passed for r in results)
    head = (
        f"{exercise.label} ({exercise.question}): {done}/{len(results)} properties hold"
    )
    if all(r.status == "not done" for r in results):
        head = (
            f"{exercise.label}: not done yet — write {exercise.name} in the answer cell"
        )
    lines = [head]
    if all(r.status == "not done" for r in results):
        return head
    for r in results:
        text = f"{MARKS[r.status]} {r.name}" + (f": {r.message}" if r.message else "")
        lines += textwrap.wrap(text, WIDTH, subsequent_indent="    ")
    return "\n".join(lines)


# ---- helpers for the properties ------------------------------------------------------


def sizes(**named) -> str:
    """``"L=3, B=2, D=4"``: the sizes of a case, for a failure's message."""
    return ", ".join(f"{k}={v}" for k, v in named.items())


def _number(x: float, other: float | None = None) -> str:
    """``x`` with 4 significant digits, or more when ``other`` would print the same."""
    for digits in (4, 7, 10, 17):
        if other is None or f"{x:.{digits}g}" != f"{other:.{digits}g}":
            break
    return f"{x:.{digits}g}"


def compare(
    case: str,
    got,
    expected,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    what: str = "output",
    hint: str = "",
) -> None:
    """Raise ``Failure`` unless ``got`` equals ``expected`` (tensors, arrays or numbers)
    to ``atol + rtol |expected|``; the message gives the shapes, or the largest
    difference with its index and both values there."""
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got)
        except (TypeError, ValueError, RuntimeError):
            kind = type(got).__name__
            raise Failure(case, f"a tensor for the {what}", kind, hint) from None
    expected = torch.as_tensor(expected)
    if tuple(got.shape) != tuple(expected.shape):
        raise Failure(
            case,
            f"{what} of shape {tuple(expected.shape)}",
            f"{tuple(got.shape)}",
            hint,
        )
    got, expected = got.detach().double(), expected.detach().double()
    if got.numel() == 0:
        return
    diff = (got - expected).abs()
    bad = diff > atol + rtol * expected.abs()
    bad |= got.isnan() != expected.isnan()
    if bool(bad.any()):
        flat = int(torch.where(bad.flatten())[0][0])
        index = tuple(
            int(i) for i in torch.unravel_index(torch.tensor(flat), got.shape)
        )
        at = f"[{', '.join(map(str, index))}]" if index else ""
        want_at, got_at = float(expected.flatten()[flat]), float(got.flatten()[flat])
        raise Failure(
            case,
            f"{what}{at} = {_number(want_at, got_at)}",
            _number(got_at, want_at)
            + (
                f" ({int(bad.sum())} of {bad.numel()} entries differ, largest "
                f"difference {_number(float(diff.nan_to_num(math.inf).max()))})"
                if bad.numel() > 1
                else ""
            ),
            hint,
        )


# ---- written answers: a number, a shape, a choice ----------------------------------


def _number_test(expected: float, tolerance: float, hint: str):
    def test(value):
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                got = repr(value)[:60]
                raise Failure("your answer", "a number", got, hint) from None
        if not abs(value - expected) <= tolerance:
            raise Failure("your answer", "another value", f"{value:.4g}", hint)

    return test


def _choice_test(expected, choices, hint: str):
    def test(value):
        if value not in choices:
            raise Failure("your answer", f"one of {choices}", repr(value)[:60], hint)
        if value != expected:
            raise Failure("your answer", "another choice", repr(value), hint)

    return test


def number(label, name, question, expected, tolerance, *, points=1, hint="", what=""):
    """A written answer that is a number, right within ``tolerance``. The failure
    message does not give the expected value away."""
    test = _number_test(float(expected), float(tolerance), hint)
    prop = Property(what or f"the value (within {tolerance:g})", test)
    return Exercise(label, name, "", question, points, [prop], "answer", expected)


def choice(label, name, question, expected, choices, *, points=1, hint="", what=""):
    """A written answer that is one of ``choices``."""
    prop = Property(what or "the choice", _choice_test(expected, tuple(choices), hint))
    return Exercise(label, name, "", question, points, [prop], "answer", expected)
