"""Hidden checks: more cases for each graded exercise, run by the grader only.

``HIDDEN[label]`` lists properties added to the exercise's public ones, gathered from
one module per chapter (``grading/hidden/ch04.py`` …). They use the public checks'
helpers on other sizes, ids and edge cases, so an answer tuned to the public cases alone
loses points here."""

import importlib
import pkgutil

HIDDEN: dict[str, list] = {}
for _info in pkgutil.iter_modules(__path__):
    HIDDEN.update(importlib.import_module(f"{__name__}.{_info.name}").HIDDEN)
