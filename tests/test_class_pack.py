"""The class pack runs outside the repository: a fresh virtual environment without the
companion, the zip unpacked in a temporary folder, one student notebook executed there,
its first cell installing the wheel that lies beside it.

Offline: the fresh environment sees the heavy dependencies (torch, numpy, matplotlib,
Jupyter, pytest and nbval) through a ``.pth`` file pointing at a folder of links to
``.venv``'s packages, all but the companion."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from class_pack import FOLDER, build_pack  # noqa: E402
from student import wheel_name  # noqa: E402

NOTEBOOK = "01_backprop_xor.ipynb"  # the quickest chapter


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "class-pack"
    return build_pack(out)


def test_the_pack_holds_every_student_notebook_and_the_wheel(pack):
    names = set(zipfile.ZipFile(pack).namelist())
    chapters = [
        p for p in (ROOT / "book").glob("*.md") if "kernelspec:" in p.read_text()
    ]
    expected = {f"{FOLDER}/{p.stem}.ipynb" for p in chapters}
    expected |= {f"{FOLDER}/{wheel_name()}", f"{FOLDER}/README.txt"}
    assert names == expected
    assert (pack.parent / wheel_name()).is_file()  # the book links the wheel too
    with zipfile.ZipFile(pack.parent / wheel_name()) as wheel:
        modules = [n for n in wheel.namelist() if n.endswith(".py")]
    assert "companion/workbook/runner.py" in modules
    assert len(modules) == len(list((ROOT / "companion").rglob("*.py")))
    assert not any(n.startswith(("grading", "tests", "book")) for n in modules)


def fresh_venv(where: Path) -> Path:
    """A virtual environment without the companion; ``.venv``'s other packages are
    reachable through a ``.pth`` file. Returns its Python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(where / "venv")],
        check=True,
    )
    python = where / "venv" / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = Path(sysconfig.get_paths()["purelib"])
    links = where / "dependencies"
    links.mkdir()
    for entry in ours.iterdir():
        name = entry.name.lower()
        if name.startswith(("companion", "__editable__")) or name.endswith(".pth"):
            continue
        (links / entry.name).symlink_to(entry)
    (Path(site) / "dependencies.pth").write_text(f"{links}\n")
    return python


def test_a_student_notebook_runs_from_the_unzipped_pack_in_a_fresh_venv(pack, tmp_path):
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(tmp_path)
    folder = tmp_path / FOLDER
    python = fresh_venv(tmp_path)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "VIRTUAL_ENV", "JUPYTER"))
    }
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", OMP_NUM_THREADS="1")
    where = [python, "-c", "import companion; print(companion.__file__)"]
    before = subprocess.run(where, cwd=folder, env=env, capture_output=True, text=True)
    assert before.returncode != 0 and "No module named 'companion'" in before.stderr

    command = [python, "-m", "pytest", NOTEBOOK, "-q", "-p", "no:cacheprovider"]
    command += ["--nbval-lax", "--nbval-current-env"]
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]

    after = subprocess.run(where, cwd=folder, env=env, capture_output=True, text=True)
    installed = Path(after.stdout.strip())
    assert installed.is_relative_to(tmp_path / "venv"), installed  # the wheel's copy
    assert not installed.is_relative_to(ROOT)


@pytest.mark.parametrize("page", ["intro.md", "teachers.md"])
def test_the_intro_and_the_teachers_page_link_the_pack_and_this_wheel(page):
    text = (ROOT / "book" / page).read_text(encoding="utf-8")
    assert '<a href="../class-pack/class-pack.zip" download>' in text
    assert f'<a href="../class-pack/{wheel_name()}" download>{wheel_name()}</a>' in text
