"""The class pack: the companion as a wheel, and the student notebooks with it in a zip.

    .venv/bin/python tools/class_pack.py OUT_DIR        (``make book`` runs it)

It writes into ``OUT_DIR`` (``_build/html/class-pack`` after ``make book``, so that the
intro and the teachers page link to them):

* ``companion-<version>-py3-none-any.whl``, built by pip from ``pyproject.toml`` and
  ``companion/`` alone (no network, no build isolation);
* ``class-pack.zip``, whose folder ``class-pack/`` holds the student notebooks
  (tools/student.py: no solutions, plain Jupyter Markdown, an empty cell per
  exercise), the wheel and a README. The first code cell of each notebook installs the
  wheel lying beside it when ``import companion`` fails, so the folder runs in any
  Jupyter, VS Code or Colab (upload the wheel with the notebook).

The zip's entries carry a fixed date, so the same sources give the same bytes."""

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from student import ROOT, wheel_name, write_student_notebooks  # noqa: E402

FOLDER = "class-pack"
README = """\
Recurrent networks, from XOR to TRM: the class pack
===================================================

One notebook per chapter, without the solutions of the exercises, and the book's
`companion` package as a wheel ({wheel}).

* JupyterLab, Jupyter Notebook or VS Code: open a notebook from this folder and run it
  from the top. Its first code cell installs the wheel beside it (with %pip, into the
  kernel's environment) when `import companion` fails; nothing to fill in.
* Colab: upload the notebook and {wheel} (Files panel, next to the notebook), then run.
* By hand: pip install {wheel}  (Python >= 3.11; it pulls numpy, torch, matplotlib,
  tqdm and tensorboard).

Each exercise has a cell to answer in. The graded ones have an answer cell with a stub
and a check cell below it: run the check after your answer.
"""
DATE = (2026, 1, 1, 0, 0, 0)


def build_wheel(out_dir: Path, root: Path = ROOT) -> Path:
    """The companion's wheel, built from a copy of ``pyproject.toml`` and
    ``companion/`` (nothing is written in the repository)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        shutil.copy2(root / "pyproject.toml", source)
        shutil.copytree(
            root / "companion",
            source / "companion",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        command += ["--no-build-isolation", "--no-index", "-w", str(out_dir)]
        run = subprocess.run([*command, str(source)], capture_output=True, text=True)
    wheel = out_dir / wheel_name(root)
    if run.returncode != 0 or not wheel.is_file():
        raise RuntimeError(
            f"expected pip to build {wheel.name} into {out_dir}, got exit status "
            f"{run.returncode}: {run.stderr.strip()[-600:]}"
        )
    return wheel


def build_pack(out_dir: str | Path, book_dir: Path = ROOT / "book") -> Path:
    """Write the wheel and ``class-pack.zip`` into ``out_dir``; return the zip."""
    out_dir = Path(out_dir)
    wheel = build_wheel(out_dir)
    pack = out_dir / "class-pack.zip"
    with tempfile.TemporaryDirectory() as tmp:
        notebooks = write_student_notebooks(book_dir, Path(tmp) / "notebooks")
        files = {f"{FOLDER}/{p.name}": p.read_bytes() for p in notebooks}
    files[f"{FOLDER}/{wheel.name}"] = wheel.read_bytes()
    files[f"{FOLDER}/README.txt"] = README.format(wheel=wheel.name).encode()
    partial = pack.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    partial.replace(pack)
    return pack


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/class_pack.py OUT_DIR", file=sys.stderr)
        return 2
    try:
        pack = build_pack(argv[0])
    except (OSError, ValueError, RuntimeError) as err:
        print(f"class_pack: {err}", file=sys.stderr)
        return 1
    print(pack)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
