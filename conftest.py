"""Run the book's chapters under nbval straight from their MyST Markdown sources.

nbval only collects ``.ipynb`` files. Here every ``book/**/*.md`` file with a jupytext
header (a ``kernelspec``) is read with ``jupytext.read`` and handed to nbval's
collector, so a failing cell is reported as ``book/<chapter>.md::Cell N`` and the kernel
runs in ``book/``, as it does when the book is built."""

import jupytext
import nbformat
from nbval.plugin import IPyNbFile


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
