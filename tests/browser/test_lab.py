"""`make lab` for a class: JupyterLab opens the chapters as notebooks (jupytext's viewer).

Starts the JupyterLab server the way ``make lab`` does (after the target wrote its settings
into ``.venv``), asks its settings API for the default viewers, and opens a chapter through the
contents API the way the notebook viewer does.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Path(sys.prefix) / "etc" / "jupyter" / "labconfig" / "default_setting_overrides.json"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab():
    if not SETTINGS.is_file():
        pytest.fail(f"expected {SETTINGS}: `make lab` (or `make {SETTINGS.relative_to(ROOT)}`)"
                    " writes it")
    port, token = free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.allow_root=True",
         f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={ROOT / 'book'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start within a minute")
    yield lambda path, query="": json.load(
        urllib.request.urlopen(f"{base}{path}?token={token}{query}", timeout=60))
    server.terminate()
    server.wait(timeout=30)


def test_markdown_chapters_open_as_notebooks(lab):
    plugin = lab("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    # labconfig overrides become the schema's defaults; the user's own settings stay empty
    viewers = {**plugin["schema"]["properties"]["defaultViewers"]["default"],
               **plugin["settings"].get("defaultViewers", {})}
    assert viewers["markdown"] == "Jupytext Notebook"
    assert viewers["myst"] == "Jupytext Notebook"


def test_a_chapter_is_served_as_a_notebook(lab):
    chapter = lab("/api/contents/01_backprop_xor.md", "&type=notebook&content=1")
    assert chapter["type"] == "notebook"
    cells = chapter["content"]["cells"]
    assert any(c["cell_type"] == "code" and "set_seed" in c["source"] for c in cells)
