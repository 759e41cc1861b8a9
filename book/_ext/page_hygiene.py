"""A local Sphinx extension for the book's pages.

* Keep every page's scripts unique. Jupyter Book 1 loads sphinx-thebe, which registers
  its inline configuration script once per read of the environment; a page that declares
  ``const THEBE_JS_URL`` twice throws a ``SyntaxError`` in the browser console.
* Offer each chapter as an executed ``.ipynb`` in the download menu: sphinx-book-theme
  shows that button when ``ipynb_source`` is in the page context, which nothing else
  sets for MyST Markdown notebooks. The notebook myst-nb executed is copied next to the
  ``.md`` source. Its streams are stored once: each cell keeps one output per stream, as
  a terminal shows it. Next to it, the menu offers the *student* notebook: the chapter
  without the exercises' solutions, made by ``tools/student.py`` (the same tool as
  ``make student``, which fails closed, so a malformed solution stops the build instead
  of reaching a student).
* Keep progress bars for people running a notebook, not in the built page. tqdm redraws
  a bar by writing ``\r`` + the new bar, one stream message per redraw; myst-nb's
  ``coalesce_streams`` ends each message with a newline before it cancels carriage
  returns, so every redraw would become a line of the page. Joining the messages first
  lets the carriage returns cancel as they do in a terminal; the page then drops the
  bar's final line, since every training cell prints its own summary.
* Write the run-time table's status in words ("passed", "FAILED"): myst-nb's ✅ and ❌
  need an emoji font that a reader may not have.
"""

import copy
import re
import sys
from pathlib import Path

import nbformat
from myst_nb.core import render
from myst_nb.ext import execution_tables

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import student  # noqa: E402  (tools/student.py)

# A tqdm line: "desc: 100%|█████| 300/300 [00:02<00:00, ...]" (or with a custom
# bar_format).
PROGRESS_BAR = re.compile(r"^[^\n]*\d+%\|[^\n]*$\n?", re.MULTILINE)


def join_stream_messages(outputs):
    """Concatenate the stream messages of each name, as a terminal would receive them.

    The outputs given are not modified: the joined streams are copies.
    """
    joined, streams = [], {}
    for output in outputs or []:
        if output.get("output_type") == "stream" and output["name"] in streams:
            streams[output["name"]]["text"] += output["text"]
        else:
            if output.get("output_type") == "stream":
                output = copy.deepcopy(output)
                streams[output["name"]] = output
            joined.append(output)
    return joined


def terminal_streams(outputs, _original=render.coalesce_streams):
    """One output per stream, each as a terminal would show it (carriage returns
    applied)."""
    return _original(join_stream_messages(outputs))


def _page_outputs(outputs):
    """What a page shows: ``terminal_streams`` without the progress bars' final
    lines."""
    shown = []
    for output in terminal_streams(outputs):
        if output.get("output_type") == "stream":
            output["text"] = PROGRESS_BAR.sub("", output["text"])
            if not output["text"].strip():
                continue
        shown.append(output)
    return shown


def dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        filename = (
            getattr(script, "filename", script) or ""
        )  # None and "" both mean inline
        key = (filename, tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def offer_notebook(app, pagename, templatename, context, doctree):
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if doctree is None or not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.read(executed, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = terminal_streams(cell.outputs)
    nbformat.write(notebook, target)
    context["ipynb_source"] = f"{pagename}.ipynb"
    source = Path(app.env.doc2path(pagename))
    if student.is_chapter(source):
        nbformat.write(
            student.student_notebook(source),
            target.with_name(f"{target.stem}.student.ipynb"),
        )
        context["student_ipynb"] = f"{pagename}.student.ipynb"


def offer_student_notebook(app, pagename, templatename, context, doctree):
    """Add the student notebook to the theme's download menu (after the theme built
    it)."""
    if "student_ipynb" not in context:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(
                1,
                {
                    "type": "link",
                    "text": "student .ipynb",
                    "icon": "fas fa-graduation-cap",
                    "url": f"{context['pathto']('_sources', 1)}/{context['student_ipynb']}",  # noqa: E501
                    "tooltip": "Download the notebook without the solutions",
                    "label": "download-student-notebook-button",
                },
            )


def status_in_words(succeeded) -> str:
    return "passed" if succeeded is True else "FAILED"


def setup(app):
    render.coalesce_streams = _page_outputs
    execution_tables._key2transform["succeeded"] = status_in_words
    app.connect("html-page-context", offer_notebook, priority=400)
    app.connect("html-page-context", offer_student_notebook, priority=600)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
