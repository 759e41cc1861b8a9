"""How much of the companion is argument checking, and how much of it the chapters show.

    .venv/bin/python tools/validation_share.py          # the companion's share
    .venv/bin/python tools/validation_share.py --list   # ... and the lines, module by
                                                        # module

A *code line* is a line of a module holding code: blank lines, comments and docstrings
are not counted. A code line is *validation* when it belongs to

* ``companion/checks.py``, the door's machinery;
* a ``@checked(...)`` decorator, or a function named ``check_*`` or ``_check*``;
* a function or class that a door uses (a name passed to ``checked`` or to a spec, such
  as ``Rule(_mass)``), and a class deriving from ``Arg``;
* a ``raise`` of ``TypeError`` or ``ValueError``, with the ``if`` that guards it when
  that ``if`` does nothing else;
* a statement that calls a ``check_*`` function;
* an assignment of a door's spec (``STEP = Float("B", "self.input_dim")``): a call to
  one of the spec classes of ``companion.checks``.

``validation_lines(source)`` is what ``tests/test_package.py`` uses to prove that the
listings a chapter shows (``companion.display.listing_source``) hold none."""

import ast
import io
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_ERRORS = {"TypeError", "ValueError"}
SPECS = {"Arg", "Tensor", "Float", "Ids", "Seq", "Int", "Real", "OneOf", "Is", "Rule"}
SPECS |= {"Either", "Array", "Call", "That", "Has", "Pair", "Mask", "All"}


def _is_check_call(node) -> bool:
    if isinstance(node, ast.Tuple):  # a, b = Float(...), Ids(...)
        return any(_is_check_call(e) for e in node.elts)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "dict":
        return any(_is_check_call(v) for v in [*node.args, *node.keywords])
    if isinstance(node, ast.keyword):
        return _is_check_call(node.value)
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if getattr(func, "attr", "") == "check":  # a spec's check: Int().check(...)
        return _is_check_call(func.value) or isinstance(func.value, ast.Name)
    name = getattr(func, "id", getattr(func, "attr", ""))
    return name.startswith(("check_", "_check")) or name in SPECS


def _is_check_raise(node) -> bool:
    if not isinstance(node, ast.Raise) or node.exc is None:
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return getattr(exc, "id", getattr(exc, "attr", None)) in CHECK_ERRORS


def _span(node) -> range:
    return range(node.lineno, node.end_lineno + 1)


def _door_names(tree) -> set[str]:
    """Names used inside ``@checked(...)`` decorators and spec calls: the rules."""
    names = set()
    for node in ast.walk(tree):
        calls = [d for d in getattr(node, "decorator_list", ()) if _is_door(d)]
        if isinstance(node, ast.Assign | ast.Expr) and _is_check_call(node.value):
            calls.append(node.value)
        for call in calls:
            names |= {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
    rules = {n for n in names if n.startswith("_")}  # the module's own rules
    defs = {
        n.name: n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name.startswith("_")
    }
    rules |= {n for n in defs if n.startswith("_check")}
    grown = True
    while grown:  # and the private helpers those rules call
        used = {
            n.id
            for rule in rules & set(defs)
            for n in ast.walk(defs[rule])
            if isinstance(n, ast.Name)
        }
        grown = bool((used & set(defs)) - rules)
        rules |= used & set(defs)
    return rules


def _is_door(dec) -> bool:
    target = dec.func if isinstance(dec, ast.Call) else dec
    return getattr(target, "id", getattr(target, "attr", None)) == "checked"


def validation_lines(source: str, exercises: bool = False) -> set[int]:
    """The 1-based numbers of the lines of ``source`` that check arguments. In the
    workbook's modules (``exercises``), whose properties check a student's answer and
    not an argument, only doors and raises count."""
    found: set[int] = set()
    tree = ast.parse(source)
    rules = set() if exercises else _door_names(tree)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name in rules:
            found.update(_span(node))
        elif isinstance(node, ast.ClassDef) and any(
            getattr(b, "id", None) == "Arg" for b in node.bases
        ):
            found.update(_span(node))
        elif (
            isinstance(node, ast.Assign)
            and {t.id for t in node.targets if isinstance(t, ast.Name)} & rules
        ):
            found.update(_span(node))
    for node in ast.walk(tree):
        for dec in getattr(node, "decorator_list", ()):
            if _is_door(dec):
                found.update(_span(dec))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.name.startswith(("check_", "_check")) and not exercises
        ):
            found.update(_span(node))
        elif _is_check_raise(node):
            found.update(_span(node))
        elif (
            isinstance(node, ast.If)
            and all(_is_check_raise(s) for s in node.body)
            and not node.orelse
        ):
            found.update(_span(node))
        elif isinstance(node, ast.Expr | ast.Assign) and _is_check_call(node.value):
            found.update(_span(node))
    return found


def code_lines(source: str) -> set[int]:
    """The 1-based numbers of the lines of ``source`` holding code (no blank line,
    comment or docstring)."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            docstrings.update(_span(body[0]))
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT}
    skip |= {tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skip:
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


def share(root: Path = ROOT / "companion") -> tuple[int, int, dict]:
    """``(validation, code, per_module)`` line counts over the package at ``root``."""
    total_checks = total_code = 0
    per_module = {}
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        code = code_lines(source)
        exercises = "workbook" in path.parts
        checks = (
            code
            if path.name == "checks.py"
            else validation_lines(source, exercises) & code
        )
        per_module[path.relative_to(root.parent).as_posix()] = (len(checks), len(code))
        total_checks += len(checks)
        total_code += len(code)
    return total_checks, total_code, per_module


def main(argv: list[str]) -> int:
    checks, code, per_module = share()
    if "--list" in argv:
        for name, (c, n) in per_module.items():
            print(f"{name:40s} {c:5d} / {n:5d}  {c / max(n, 1):6.1%}")
    print(f"validation: {checks} of {code} code lines ({checks / code:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
