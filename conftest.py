"""Run the book's chapters under nbval straight from their MyST Markdown sources.

nbval only collects ``.ipynb`` files. Here every ``book/**/*.md`` file with a jupytext
header (a ``kernelspec``) is read with ``jupytext.read`` and handed to nbval's
collector, so a failing cell is reported as ``book/<chapter>.md::Cell N`` and the kernel
runs in ``book/``, as it does when the book is built.

Every kernel nbval starts here (chapters, and the student notebooks in
``_build/student``) talks to pytest over Unix sockets rather than TCP ports, and is
started again if it dies before it replies: with two xdist workers starting kernels at
once, TCP ports picked by one were sometimes taken by the other
(``tools/kernel_start.py``). Under pytest-xdist, a notebook's cells stay on one worker
(``--dist loadfile``) even when ``-n`` is given alone: they share one kernel."""

import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbval.plugin import IPyNbFile

sys.path.append(str(Path(__file__).resolve().parent / "tools"))
import kernel_start  # noqa: E402 (tools/ is a folder of scripts, not a package)


def _is_notebook_source(path) -> bool:
    if path.suffix != ".md" or "book" not in path.parts:
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head


class MarkdownNotebook(IPyNbFile):
    """nbval's notebook collector, reading a jupytext Markdown file instead of JSON."""

    def collect(self):
        original = nbformat.read
        nbformat.read = lambda path, as_version: jupytext.read(
            path, as_version=as_version
        )
        try:
            return list(super().collect())
        finally:
            nbformat.read = original


def pytest_collect_file(file_path, parent):
    option = parent.config.option
    if (option.nbval or option.nbval_lax) and _is_notebook_source(file_path):
        return MarkdownNotebook.from_parent(parent, path=file_path)
    return None


def pytest_configure(config):
    """Start nbval's kernels over IPC; name the marker of the kernel stress test."""
    kernel_start.install()
    config.addinivalue_line(
        "markers", "stress: starts many kernels at once to show none of them dies"
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` in place of xdist's default ``load`` when nbval runs:
    ``load`` hands a notebook's cells to both workers, and a cell then misses the names
    that the cells before it defined in the other worker's kernel."""
    nbval = config.option.nbval or config.option.nbval_lax
    if nbval and config.getvalue("dist") == "load":
        from xdist.scheduler import LoadFileScheduling

        return LoadFileScheduling(config, log)
    return None
