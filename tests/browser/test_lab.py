"""`make lab` for a class: JupyterLab opens the chapters as notebooks and renders their
MyST.

Starts the JupyterLab server the way ``make lab`` does (after the target wrote its
settings into ``.venv``), asks its settings API for the default viewers, opens a chapter
through the contents API the way the notebook viewer does, then in headless Chromium
double-clicks a chapter in the file browser as a student would: it must open as a
notebook whose exercises are rendered by jupyterlab-myst, with every solution folded.
"""

import json
import sys
import urllib.request
from pathlib import Path

import pytest
from labserver import jupyterlab

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (
    Path(sys.prefix)
    / "etc"
    / "jupyter"
    / "labconfig"
    / "default_setting_overrides.json"
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not SETTINGS.is_file():
        pytest.fail(
            f"expected {SETTINGS}: `make lab` (or `make {SETTINGS.relative_to(ROOT)}`)"
            " writes it"
        )
    state = tmp_path_factory.mktemp("lab")  # fresh workspace and user settings
    with jupyterlab(ROOT / "book", state) as (base, token):
        api = lambda path, query="": json.load(  # noqa: E731
            urllib.request.urlopen(f"{base}{path}?token={token}{query}", timeout=60)
        )
        api.url = f"{base}/lab?token={token}"
        yield api


def test_markdown_chapters_open_as_notebooks(lab):
    plugin = lab("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    # labconfig overrides become the schema's defaults; the user's own settings stay
    # empty
    viewers = {
        **plugin["schema"]["properties"]["defaultViewers"]["default"],
        **plugin["settings"].get("defaultViewers", {}),
    }
    assert viewers["markdown"] == "Jupytext Notebook"
    assert viewers["myst"] == "Jupytext Notebook"


def test_a_chapter_is_served_as_a_notebook(lab):
    chapter = lab("/api/contents/01_backprop_xor.md", "&type=notebook&content=1")
    assert chapter["type"] == "notebook"
    cells = chapter["content"]["cells"]
    assert any(c["cell_type"] == "code" and "set_seed" in c["source"] for c in cells)


def test_a_chapter_renders_exercises_with_folded_solutions(lab, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(lab.url, timeout=120_000)
        chapter = page.locator(".jp-DirListing-item", has_text="01_backprop_xor.md")
        chapter.wait_for(timeout=60_000)
        chapter.dblclick()
        exercises = page.locator(".jp-Notebook aside.myst-exercise")
        exercises.first.wait_for(state="attached", timeout=60_000)
        solutions = page.locator(".jp-Notebook details.myst-exercise")
        solutions.first.wait_for(state="attached", timeout=60_000)
        # graded exercises have no solution block: at most one per exercise
        assert exercises.count() >= 1 and 1 <= solutions.count() <= exercises.count()
        assert all(not s.evaluate("d => d.open") for s in solutions.all())
        hidden = solutions.first.locator(":scope > :not(summary)")
        assert hidden.count() >= 1 and not hidden.first.is_visible()
        shown = page.locator(".jp-Notebook .jp-RenderedMarkdown, .jp-Notebook .myst")
        source = " ".join(shown.all_text_contents())
        assert "Backpropagation by hand" in source and "Solution to" in source
        for raw in (
            ":class: dropdown",
            "{solution}",
            "{exercise}",
            "{cite}",
            ":label:",
        ):
            assert raw not in source, f"raw MyST {raw!r} shown in JupyterLab"
    finally:
        page.close()
