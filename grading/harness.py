"""Grade one answer in a fresh Python process: ``tools/grade.py`` starts it, one process
per exercise and notebook, with a timeout.

    python -m grading.harness < request.json     (request: {"label", "source"})

The exercise's properties, public and hidden, are looked up *before* the student's
answer cell runs, and every name the answer rebinds in the checker's modules (and
torch's) is put back before they run, so an answer that redefines ``check`` or patches
the workbook before a property runs changes nothing. It is no sandbox: the answer
runs with the grader's rights, in a temporary folder. Whatever the answer prints is
thrown away; the one line of JSON that the grader reads goes to a copy of the original
standard output."""

import json
import os
import sys
import traceback


def _crash(error: BaseException, label: str) -> str:
    line = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename == f"<answer {label}>":
            line = f" at line {frame.lineno}"
            break
    text = str(error).strip().splitlines()
    return f"your answer cell raised {type(error).__name__}{line}: " + (
        text[0][:200] if text else ""
    )


GUARDED = ("companion", "grading", "torch", "torch.nn.functional", "builtins")


def snapshot() -> dict:
    """The names of the checker's modules (and torch's), to undo an answer's patches."""
    return {
        name: dict(module.__dict__)
        for name, module in list(sys.modules.items())
        if name in GUARDED or name.startswith(("companion.", "grading."))
    }


def restore(saved: dict) -> None:
    """Put back every name an answer rebound in the modules of ``saved``."""
    for name, names in saved.items():
        module = sys.modules[name].__dict__
        for key, value in names.items():
            if module.get(key) is not value:
                module[key] = value


def main() -> int:
    out = os.fdopen(os.dup(1), "w")  # the grader's channel, before the answer runs
    sink = os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    request = json.loads(sys.stdin.read())
    label, source = request["label"], request["source"]

    from companion.workbook import exercises
    from companion.workbook.runner import run_property
    from grading.hidden import HIDDEN

    exercise = exercises()[label]
    properties = [*exercise.properties, *HIDDEN.get(label, [])]
    names = [p.name for p in properties]
    namespace = {"__name__": "__answer__"}
    saved = snapshot()
    try:
        exec(compile(source, f"<answer {label}>", "exec"), namespace)
    except BaseException as error:  # noqa: BLE001 (a crash is a result, not a failure)
        result = {"names": names, "crash": _crash(error, label)}
    else:
        candidate = namespace.get(exercise.name)
        if candidate is None:
            result = {
                "names": names,
                "crash": f"the answer cell defines no {exercise.name}",
            }
        elif candidate is Ellipsis:  # a written answer left as it was handed out
            result = {"names": names, "results": [[n, "not done", ""] for n in names]}
        else:
            results = []
            for prop in properties:  # undo whatever the answer patched, each time
                restore(saved)
                results.append(run_property(prop, candidate))
            result = {
                "names": names,
                "results": [[r.name, r.status, r.message] for r in results],
            }
    out.write(json.dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
