"""The book's local Sphinx extension (book/_ext/page_hygiene.py)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbformat import from_dict
from sphinx.builders.html._assets import _JavaScript

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import page_hygiene  # noqa: E402


def stream(name, text):
    return from_dict({"output_type": "stream", "name": name, "text": text})


def bar_outputs():
    return [
        stream("stderr", "fit:   0%| | 0/3"),
        stream("stdout", "hello\n"),
        stream("stderr", "\rfit:  33%| | 1/3"),
        stream("stderr", "\rfit: 100%| | 3/3\n"),
        stream("stderr", "a warning\n"),
    ]


def test_progress_bar_redraws_collapse_to_the_last_one():
    outputs = bar_outputs()
    merged = page_hygiene.terminal_streams(outputs)
    assert [(o["name"], o["text"]) for o in merged] == [
        ("stdout", "hello\n"),
        ("stderr", "fit: 100%| | 3/3\na warning\n"),
    ]
    assert outputs == bar_outputs()  # the notebook's own outputs are left as they were


def test_the_page_drops_progress_bars_and_keeps_other_text():
    shown = page_hygiene._page_outputs(bar_outputs())
    assert [(o["name"], o["text"]) for o in shown] == [
        ("stdout", "hello\n"),
        ("stderr", "a warning\n"),
    ]
    only_bar = [
        stream("stderr", "x: 100%|##| 2/2 [00:01<00:00]\n"),
        stream("stderr", "race: 100%|# 6/6 s\n"),
    ]
    assert page_hygiene._page_outputs(only_bar) == []


def test_join_keeps_other_outputs_in_place():
    image = from_dict({"output_type": "display_data", "data": {}, "metadata": {}})
    joined = page_hygiene.join_stream_messages(
        [stream("stdout", "a"), image, stream("stdout", "b\n")]
    )
    assert joined[0]["text"] == "ab\n" and joined[1] is image and len(joined) == 2


def test_repeated_scripts_are_dropped():
    first = _JavaScript(None, body="const THEBE_JS_URL = 1")
    again = _JavaScript("", body="const THEBE_JS_URL = 1")
    other = _JavaScript("_static/x.js", **{"async": "async"})
    context = {"script_files": [first, other, again]}
    page_hygiene.dedupe_scripts(None, "page", "page.html", context, None)
    assert context["script_files"] == [first, other]


CHAPTER = """---
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

```{exercise}
:label: ex1
Exercise text
```

```{solution} ex1
the answer is 42
```
"""


def test_executed_and_student_notebooks_are_offered_for_download(tmp_path):
    out = tmp_path / "html"
    executed = tmp_path / "jupyter_execute" / "book" / "ch.ipynb"
    executed.parent.mkdir(parents=True)
    cell = nbformat.v4.new_code_cell("x", outputs=bar_outputs())
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), executed)
    chapter = tmp_path / "ch.md"
    chapter.write_text(CHAPTER)
    context = {}
    app = SimpleNamespace(
        outdir=str(out), env=SimpleNamespace(doc2path=lambda name: chapter)
    )
    page_hygiene.offer_notebook(app, "book/ch", "page.html", context, doctree=object())
    assert context["ipynb_source"] == "book/ch.ipynb"
    offered = nbformat.read(out / "_sources" / "book" / "ch.ipynb", as_version=4)
    assert [o["name"] for o in offered.cells[0].outputs] == [
        "stdout",
        "stderr",
    ]  # once each
    student = (out / "_sources" / "book" / "ch.student.ipynb").read_text()
    assert "Exercise text" in student and "the answer is 42" not in student

    context.update(
        pathto=lambda name, resource: "../_sources",
        header_buttons=[{"label": "download-buttons", "buttons": [{}, {}]}],
    )
    page_hygiene.offer_student_notebook(app, "book/ch", "page.html", context, None)
    button = context["header_buttons"][0]["buttons"][1]
    assert button["url"] == "../_sources/book/ch.student.ipynb"
    context = {}
    page_hygiene.offer_notebook(
        app, "book/other", "page.html", context, doctree=object()
    )
    assert "ipynb_source" not in context


def test_run_time_status_needs_no_emoji_font():
    from myst_nb.ext import execution_tables

    page_hygiene.setup(SimpleNamespace(connect=lambda *args, **kwargs: None))
    status = execution_tables._key2transform["succeeded"]
    assert (status(True), status(False), status(None)) == ("passed", "FAILED", "FAILED")
