"""JupyterLab leaves the chapters as they are, and opens them as notebooks.

Opening a chapter in JupyterLab and saving it must not rewrite the ``.md`` file (no git
noise in a student's clone). The test does on a copy of ``book/`` what the Lab server
does, without a browser: jupytext's server extension wraps the server's default contents
manager (``AsyncLargeFileManager``) in jupytext's, as ``jupyterlab_jupytext`` does; the
notebook viewer GETs the chapter as a notebook; once a kernel starts, Lab writes the
kernel's ``kernelspec`` (name, display name, language, in that order) and
``language_info`` into the notebook's metadata; autosave PUTs the notebook back. The
file on disk must come back byte for byte.

What makes it hold: ``book/jupytext.toml`` keeps the jupytext version out of the header;
each chapter's header carries the kernelspec Lab writes (``Python 3 (ipykernel)``); and
cell options are written the way jupytext writes them (``:tags: [...]`` for flat
options, a ``---`` YAML block wrapped by PyYAML for nested ones, figure captions).
When this test fails after an edit, write the chapter as Lab would::

    .venv/bin/jupytext --to md:myst book/NN_chapter.md

and check that ``git diff`` shows only the lines you meant to change.

``jupyter lab`` started anywhere in the repository opens the chapters as notebooks:
``jupyter-config/labconfig/default_setting_overrides.json`` makes jupytext's notebook
the default viewer of Markdown and MyST files; the Makefile installs it into ``.venv``
when it creates the environment (``make lab`` again when it changes), and any other
environment reads it with ``JUPYTER_CONFIG_PATH=jupyter-config``. The test checks that
Lab's settings loader reads it from there.

In Lab (jupyterlab-myst) cross-references to other chapters and citations do not
resolve; they show their text. So every ``{ref}`` names its target in words
(``{ref}`chapter 4 <ch-sentences>```), and every citation key reads as author and year
(``hochreiter1997``) and is in ``book/references.bib``.
"""

import asyncio
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext import build_async_jupytext_contents_manager_class

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = sorted(p for p in BOOK.glob("*.md") if p.read_text().startswith("---\n"))
LAB_KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}


async def open_and_save(root, name):
    """The text of ``root/name`` after Lab opened it, started a kernel and saved."""
    manager = build_async_jupytext_contents_manager_class(AsyncLargeFileManager)(
        root_dir=str(root)
    )
    model = await manager.get(name, type="notebook", content=True)
    assert model["type"] == "notebook" and model["content"]["cells"]
    model = json.loads(json.dumps(model, default=str))  # over HTTP, as JSON
    metadata = model["content"]["metadata"]
    metadata["kernelspec"] = dict(LAB_KERNELSPEC)
    metadata["language_info"] = {"name": "python", "version": "3.11.2"}
    saved = {"type": "notebook", "format": "json", "content": model["content"]}
    await manager.save(saved, name)
    return (root / name).read_text()


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    for path in [*CHAPTERS, BOOK / "jupytext.toml"]:
        shutil.copy(path, root)
    return root


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_lab_saves_a_chapter_unchanged(lab_root, path):
    before = path.read_text()
    after = asyncio.run(open_and_save(lab_root, path.name))
    if after != before:
        import difflib

        diff = difflib.unified_diff(
            before.splitlines(), after.splitlines(), "in git", "saved by Lab", n=0
        )
        pytest.fail(
            f"JupyterLab rewrites {path.name} when it saves it; run "
            f"`.venv/bin/jupytext --to md:myst book/{path.name}` (the header: as in"
            " the other chapters):\n" + "\n".join(list(diff)[:40])
        )


def test_the_round_trip_sees_a_change(lab_root):
    # the check above can fail: a header without the kernelspec Lab writes is rewritten
    text = CHAPTERS[0].read_text().replace("Python 3 (ipykernel)", "Python 3", 1)
    (lab_root / "changed.md").write_text(text)
    assert asyncio.run(open_and_save(lab_root, "changed.md")) != text


def test_lab_reads_the_repository_default_viewers(monkeypatch, tmp_path):
    from jupyterlab_server.settings_utils import _get_overrides

    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(ROOT / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")
    overrides, error = _get_overrides(str(tmp_path / "app-settings"))
    assert not error
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == viewers["myst"] == "Jupytext Notebook"


def test_the_makefile_installs_the_default_viewers():
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^\$\(LAB_SETTINGS\):(.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert rule, "expected a $(LAB_SETTINGS) rule in the Makefile"
    source = "jupyter-config/labconfig/default_setting_overrides.json"
    assert source in rule.group(1) and re.search(r"install .*\$<", rule.group(2))
    venv = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M)
    assert venv and source in venv.group(1), (
        "the environment's recipe should install it"
    )
    assert os.path.isfile(ROOT / source)


def bib_keys():
    return set(re.findall(r"@\w+\{([^,\s]+),", (BOOK / "references.bib").read_text()))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_references_read_as_text_in_lab(path):
    text = path.read_text()
    bare = re.findall(r"\{ref\}`([^`<]*)`", text)
    assert not bare, (
        f"{path.name}: {{ref}} without words, shown as a label in Lab: {bare}"
    )
    keys = {
        key.strip()
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]*)`", text)
        for key in group.split(",")
    }
    assert keys <= bib_keys(), (
        f"{path.name}: not in references.bib: {keys - bib_keys()}"
    )
    odd = sorted(k for k in keys if not re.fullmatch(r"[a-z]+\d{4}[a-z0-9]*", k))
    assert not odd, f"{path.name}: citation keys that do not read as author+year: {odd}"
