"""The map of ``companion/__init__.py`` (which module serves which chapter) matches the
chapters' imports and the package's files."""

import re
from pathlib import Path

import companion

ROOT = Path(__file__).resolve().parents[1]
DOC = companion.__doc__
SHARED_PARAGRAPH = DOC[DOC.index("Shared modules") :].split("\n\n")[0]
SHARED = set(re.findall(r"``(\w+)`` \(", SHARED_PARAGRAPH))
_AT = DOC.find("imported by no chapter yet")  # a paragraph that may be absent
UNUSED_PARAGRAPH = DOC[_AT:].split("\n\n")[0] if _AT >= 0 else ""
UNUSED = set(re.findall(r"``(\w+)`` \(", UNUSED_PARAGRAPH))


def chapter_rows() -> dict[str, set[str]]:
    """``{page number: modules named in its bullet}``: ``"5"`` for chapter 5, ``"5b"``
    for the section page ``05b_*.md`` that follows it."""
    rows = re.findall(
        r"^\* (?:Chapter|Page) (\d+[a-z]?), (.*?)(?=^\* |^\S|\Z)", DOC, re.M | re.S
    )
    return {n: set(re.findall(r"``([\w.]+)``", text)) for n, text in rows}


def chapter_imports(path: Path) -> set[str]:
    """The companion modules a chapter imports, ``set_seed`` of the package root
    aside."""
    text = path.read_text()
    modules = set(re.findall(r"^\s*from companion\.([\w.]+) import", text, re.M))
    for names in re.findall(r"^\s*from companion import (.+)$", text, re.M):
        modules |= {n.strip().split(" as ")[0] for n in names.split(",")} - {"set_seed"}
    return modules


def test_every_named_module_exists_and_every_module_is_named():
    files = {
        p.relative_to(ROOT / "companion").with_suffix("").as_posix().replace("/", ".")
        for p in (ROOT / "companion").rglob("*.py")
        if p.stem != "__init__"
    }
    packages = {  # a folder with an __init__.py (data, workbook) is a module too
        p.parent.relative_to(ROOT / "companion").as_posix().replace("/", ".")
        for p in (ROOT / "companion").rglob("*/__init__.py")
    }
    assert SHARED | UNUSED <= files | packages
    modules_in_rows = set().union(*chapter_rows().values())
    assert modules_in_rows <= files, modules_in_rows - files
    mapped = modules_in_rows | SHARED | UNUSED
    mapped |= {f for f in files if f.split(".")[0] in SHARED}  # parts of a package
    assert files <= mapped, f"not in the map: {files - mapped}"
    assert not UNUSED & modules_in_rows, "a module said unused is imported by a chapter"


def test_each_chapter_imports_exactly_what_the_map_says():
    chapters = {
        p.name.split("_")[0].lstrip("0"): p
        for p in sorted((ROOT / "book").glob("[0-9][0-9]*_*.md"))
    }
    rows = chapter_rows()
    assert set(rows) == set(chapters)
    for number, path in chapters.items():
        assert chapter_imports(path) - SHARED == rows[number], path.name
