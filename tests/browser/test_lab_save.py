"""JupyterLab, in Chromium, saves a chapter back byte for byte.

tests/test_lab_roundtrip.py checks every chapter through jupytext's contents manager;
this test checks one the way a student meets it: JupyterLab started on a copy of the
repository's ``book/`` (with ``book/jupytext.toml``), the chapter opened from its URL as
a notebook, the kernel started, Ctrl+S pressed. The saved file must equal the chapter
in the repository. Citations and links to other chapters, which jupyterlab-myst cannot
resolve, must show as their text (the citation key, the chapter's name).
"""

import shutil
import time
from pathlib import Path

import pytest
from labserver import jupyterlab

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "05_lstm_gru.md"


@pytest.fixture(scope="module")
def lab_on_a_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    (root / "book").mkdir()
    for path in [*ROOT.glob("book/*.md"), ROOT / "book" / "jupytext.toml"]:
        shutil.copy(path, root / "book")
    state = tmp_path_factory.mktemp("lab")
    with jupyterlab(root, state) as (base, token):
        yield root, f"{base}/lab/tree/book/{CHAPTER}?token={token}"


def test_lab_opens_and_saves_a_chapter_unchanged(lab_on_a_copy, browser):
    root, url = lab_on_a_copy
    saved = root / "book" / CHAPTER
    original, before = saved.read_text(), saved.stat().st_mtime_ns
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(url, timeout=120_000)
        notebook = page.locator(".jp-Notebook").first
        notebook.wait_for(timeout=120_000)
        page.locator(".jp-Notebook .jp-MarkdownCell").first.wait_for(
            state="attached", timeout=60_000
        )
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
        cite = page.evaluate(
            "() => document.querySelector('.jp-Notebook .cite-group')?.innerText"
        )
        assert cite and "hochreiter1997" in cite, f"citation shown as {cite!r}"
        links = page.evaluate(
            "() => Array.from(document.querySelectorAll('.jp-Notebook a.hover-link'),"
            " a => a.innerText)"
        )
        assert any(text.lower().startswith("chapter ") for text in links), links
        notebook.click()
        page.keyboard.press("Control+s")
        for _ in range(60):
            if saved.stat().st_mtime_ns != before:
                break
            time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not save the chapter within 30 s of Ctrl+S")
        time.sleep(1)  # let the write finish
    finally:
        page.close()
    assert saved.read_text() == original, (
        f"JupyterLab rewrote {CHAPTER} when it saved it"
    )
