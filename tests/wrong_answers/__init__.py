"""Wrong answers to the workbook's exercises, which their checks must catch:
``WRONG[label][description]`` is the source of an answer cell, gathered from one module
per chapter. The seeds' own bugs are among them (``shared/seeds``: 001's BPTT that
forgets the carried gradient, 001's mask that never applies, 002's loss broadcast to
the wrong shape)."""

import importlib
import pkgutil

WRONG: dict[str, dict[str, str]] = {}
for _info in pkgutil.iter_modules(__path__):
    WRONG.update(importlib.import_module(f"{__name__}.{_info.name}").WRONG)
