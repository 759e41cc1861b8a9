"""Launch and repository buttons stay configurable (README, "Hosting and launch
buttons").

The book is built once more, without executing the chapters, from a temporary copy of
``_config.yml`` that names a repository, a BinderHub and a JupyterHub. Each chapter page
must then carry a repository button to that repository and launch links that open the
chapter's own source in JupyterLab on that branch."""

import html
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "https://github.com/example-org/rnn-book"


def page_text(path: Path) -> str:
    """The text of a built page, as a reader sees it: tags dropped, entities decoded
    (code blocks are split into highlighting spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def test_configured_launch_buttons_lead_to_the_chapter(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == "", "the committed book names no repository"
    config["repository"]["url"] = REPOSITORY
    config["html"]["use_repository_button"] = True
    config["launch_buttons"]["binderhub_url"] = "https://mybinder.org"
    config["launch_buttons"]["jupyterhub_url"] = "https://hub.example.edu"
    config["execute"]["execute_notebooks"] = "off"
    extensions = config["sphinx"][
        "local_extensions"
    ]  # paths relative to the config file
    config["sphinx"]["local_extensions"] = {
        name: str(ROOT / path) for name, path in extensions.items()
    }
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    build = subprocess.run(
        [
            str(Path(sys.executable).with_name("jupyter-book")),
            "build",
            str(ROOT),
            "--all",
            "--config",
            str(tmp_path / "_config.yml"),
            "--path-output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]

    page = (tmp_path / "_build" / "html" / "book" / "01_backprop_xor.html").read_text()
    assert f'href="{REPOSITORY}"' in page
    binder = "https://mybinder.org/v2/gh/example-org/rnn-book/main"
    assert f'href="{binder}?urlpath=lab/tree/book/01_backprop_xor.md"' in page
    hub = (
        "https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A//github.com/"
        "example-org/rnn-book&urlpath=lab/tree/rnn-book/book/01_backprop_xor.md&branch=main"
    )
    assert f'href="{hub}"' in page

    # the introduction's "How to get the code" uses the same repository
    intro = page_text(tmp_path / "_build" / "html" / "book" / "intro.html")
    assert f"git clone {REPOSITORY} rnn-book" in intro
    assert f'pip install "companion @ git+{REPOSITORY}"' in intro


def test_unconfigured_book_shows_a_placeholder_repository():
    intro = page_text(ROOT / "_build" / "html" / "book" / "intro.html")
    assert "git clone https://github.com/OWNER/REPOSITORY rnn-book" in intro
    assert "has not filled it in" in " ".join(intro.split())
