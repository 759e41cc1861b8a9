"""A local Sphinx extension for the book's pages.

* Keep every page's scripts unique. Jupyter Book 1 loads sphinx-thebe, which registers its
  inline configuration script once per read of the environment; a page that declares
  ``const THEBE_JS_URL`` twice throws a ``SyntaxError`` in the browser console.
* Offer each chapter as an executed ``.ipynb`` in the download menu: sphinx-book-theme shows
  that button when ``ipynb_source`` is in the page context, which nothing else sets for MyST
  Markdown notebooks. The notebook myst-nb executed is copied next to the ``.md`` source.
* Show a progress bar as its final state. tqdm redraws a bar by writing ``\r`` + the new
  bar, one stream message per redraw; myst-nb's ``coalesce_streams`` ends each message with a
  newline before it cancels carriage returns, so every redraw becomes a line of the page.
  Joining the messages first lets the carriage returns cancel as they do in a terminal.
"""

import shutil
from pathlib import Path

from myst_nb.core import render


def join_stream_messages(outputs):
    """Concatenate the stream messages of each name, as a terminal would receive them."""
    joined, streams = [], {}
    for output in outputs or []:
        if output.get("output_type") == "stream" and output["name"] in streams:
            streams[output["name"]]["text"] += output["text"]
        else:
            joined.append(output)
            if output.get("output_type") == "stream":
                streams[output["name"]] = output
    return joined


def _coalesce_streams_like_a_terminal(outputs, _original=render.coalesce_streams):
    return _original(join_stream_messages(outputs))


def dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        filename = getattr(script, "filename", script) or ""  # None and "" both mean inline
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
    shutil.copyfile(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    render.coalesce_streams = _coalesce_streams_like_a_terminal
    app.connect("html-page-context", offer_notebook, priority=400)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

