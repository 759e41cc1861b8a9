import io
import re

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from companion import display
from companion.display import (
    COLUMN_WIDTH_IN,
    CSS_PX_PER_IN,
    INLINE_SAVEFIG,
    MIN_FONT_PT,
    ROW_HEIGHT_IN,
    arrow,
    book_figure,
    box,
    html_table,
    legend_outside,
    node,
    show_source,
    show_table,
    svg_font_sizes,
    use_book_style,
)
from companion.rnn import RNN


@pytest.fixture
def book_style():
    with mpl.rc_context():
        use_book_style()
        yield
    plt.close("all")


def as_svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", **INLINE_SAVEFIG)
    return buffer.getvalue()


def test_book_figure_is_as_wide_as_the_column(book_style):
    fig, axes = book_figure(2, 3, sharex=True)
    assert axes.shape == (2, 3)
    assert tuple(fig.get_size_inches()) == (COLUMN_WIDTH_IN, 2 * ROW_HEIGHT_IN)
    assert COLUMN_WIDTH_IN * CSS_PX_PER_IN == 720  # 1:1 in a 784 px column
    svg = as_svg(fig)  # the SVG's own size: 72 pt per inch, whatever the tight bbox
    assert f'width="{72 * COLUMN_WIDTH_IN:g}pt"' in svg
    assert f'height="{72 * 2 * ROW_HEIGHT_IN:g}pt"' in svg
    fig, ax = book_figure(height=2.0, width=3.5)
    assert isinstance(ax, plt.Axes) and tuple(fig.get_size_inches()) == (3.5, 2.0)


def test_no_text_of_a_styled_figure_is_under_the_minimum(book_style):
    fig, (left, right) = book_figure(1, 2)
    for ax in (left, right):
        ax.plot(np.arange(5), np.arange(5) ** 2, label="squares")
        ax.set(xlabel="step $t$", ylabel="$h_t$", title="a title")
        ax.text(1, 3, "a note", rotation=30, fontsize="small")
    legend_outside(right, title="curves")
    fig.suptitle("both")
    sizes = svg_font_sizes(as_svg(fig))
    # 6 + 6 ticks a side, 3 labels and a note a side, the legend, its title, suptitle
    assert len(sizes) >= 2 * (6 + 4) + 3
    assert min(sizes) >= MIN_FONT_PT


def test_svg_font_sizes_reads_each_text_size():
    fig = plt.figure(figsize=(2, 1))
    fig.text(0.1, 0.5, "seven", fontsize=7)
    fig.text(0.5, 0.5, "turned", fontsize=12.5, rotation=90)
    assert sorted(svg_font_sizes(as_svg(fig))) == [7.0, 12.5]
    plt.close(fig)


def test_legend_outside_sits_right_of_the_data_inside_the_figure(book_style):
    fig, ax = book_figure()
    ax.scatter([0, 1, 1], [0, 1, 0.5], label="points")
    legend = legend_outside(ax, title="kind")
    fig.canvas.draw()
    box_ = legend.get_window_extent()
    axes_box = ax.get_window_extent()
    assert box_.x0 > axes_box.x1  # right of the axes: it hides no data
    assert box_.x1 <= fig.bbox.x1 and box_.y1 <= fig.bbox.y1  # not cut off
    assert legend.get_title().get_text() == "kind"


def test_a_legend_below_takes_the_entries_of_its_axes(book_style):
    fig, (left, right) = book_figure(1, 2)
    left.plot([0, 1], label="left only")
    right.plot([1, 0], label="right 1")
    right.plot([1, 1], label="right 2")
    legend = legend_outside(right, side="below")
    fig.canvas.draw()
    assert [t.get_text() for t in legend.get_texts()] == ["right 1", "right 2"]
    box_ = legend.get_window_extent()
    assert box_.y1 < min(ax.get_window_extent().y0 for ax in (left, right))
    assert box_.y0 >= fig.bbox.y0


def test_use_book_style_sets_the_fonts_and_the_size():
    with mpl.rc_context():
        use_book_style()
        assert tuple(mpl.rcParams["figure.figsize"]) == (COLUMN_WIDTH_IN, ROW_HEIGHT_IN)
        smallest = min(
            mpl.font_manager.FontProperties(size=mpl.rcParams[key]).get_size_in_points()
            for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize")
        )
        assert smallest >= MIN_FONT_PT
        assert mpl.rcParams["savefig.format"] == "svg"


def test_html_table_escapes_and_orders_cells():
    markup = html_table(["a", "b<c"], [[1, "x&y"], [2.5, None]])
    assert markup == (
        "<table><thead><tr><th>a</th><th>b&lt;c</th></tr></thead><tbody>"
        "<tr><td>1</td><td>x&amp;y</td></tr><tr><td>2.5</td><td>None</td></tr>"
        "</tbody></table>"
    )
    assert html_table(["only"], []).endswith("<tbody></tbody></table>")


def test_show_table_displays_html(capsys):
    show_table(["k"], [[3]])  # outside a notebook, IPython prints the object's repr
    assert "HTML" in capsys.readouterr().out


def test_show_source_names_the_file_and_the_lines():
    listing = show_source(RNN.one_step)
    ((title, source),) = listing.parts
    path = display.REPO_ROOT / "companion" / "rnn.py"
    lines = path.read_text().splitlines()
    first, last = (int(n) for n in title.split("lines ")[1].split("–"))
    assert title.startswith("companion/rnn.py, lines ")
    assert lines[first - 1].strip().startswith("def one_step")
    assert source.splitlines() == [
        line[4:] for line in lines[first - 1 : last]
    ]  # dedented
    assert source.startswith("def one_step")
    html = listing._repr_html_()
    assert html.index("companion/rnn.py, lines") < html.index("one_step")
    assert repr(listing).startswith("# companion/rnn.py, lines ")


def test_show_source_of_several_objects_keeps_them_in_order():
    listing = show_source(RNN, html_table)
    assert [title.split(",")[0] for title, _ in listing.parts] == [
        "companion/rnn.py",
        "companion/display.py",
    ]
    assert listing.parts[1][1].startswith("def html_table(")


def test_diagram_helpers_draw_on_the_axis():
    fig, ax = plt.subplots()
    box(ax, (1.0, 2.0), "gate", "#9ecae1", width=1.2, height=0.5, fontsize=9)
    node(ax, (3.0, 2.0), "×")
    arrow(ax, (1.6, 2.0), (2.72, 2.0), color="tab:red", linestyle="--")
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 1 and (boxes[0].get_x(), boxes[0].get_y()) == (0.4, 1.75)
    assert (boxes[0].get_width(), boxes[0].get_height()) == (1.2, 0.5)
    assert [c.center for c in ax.patches if isinstance(c, Circle)] == [(3.0, 2.0)]
    (head,) = [
        p
        for p in ax.patches
        if isinstance(p, FancyArrowPatch) and not isinstance(p, FancyBboxPatch)
    ]
    assert head.get_linestyle() == "--"
    assert [t.get_text() for t in ax.texts] == ["gate", "×"]
    plt.close(fig)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: html_table("ab", []), TypeError, "header"),
        (lambda: html_table([], []), TypeError, "header"),
        (lambda: html_table(["a"], "rows"), TypeError, "rows"),
        (lambda: html_table(["a", "b"], [[1]]), ValueError, "row 0"),
        (lambda: html_table(["a"], ["x"]), ValueError, "row 0"),
        (lambda: show_source(), TypeError, "at least one"),
        (lambda: show_source(3), TypeError, "int"),
        (lambda: book_figure(0), ValueError, "nrows"),
        (lambda: book_figure(1, 2.0), TypeError, "ncols"),
        (lambda: book_figure(height=0), ValueError, "height"),
        (lambda: book_figure(height="3"), TypeError, "height"),
        (lambda: book_figure(width=COLUMN_WIDTH_IN + 0.5), ValueError, "width"),
        (lambda: book_figure(figsize=(9, 3)), TypeError, "figsize"),
        (lambda: book_figure(layout="tight"), TypeError, "layout"),
        (lambda: svg_font_sizes(b"<svg/>"), TypeError, "svg"),
        (lambda: legend_outside(plt.gca(), side="left"), ValueError, "side"),
    ],
)
def test_bad_input_gets_a_clear_error(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_a_decorated_function_is_titled_with_its_own_file():
    import torch

    from companion.display import source_title

    @torch.no_grad()  # a wrapper defined in torch's own files
    def shown(x):
        return x

    assert source_title(shown).startswith("tests/test_display.py, lines ")


def test_a_notebook_shows_styled_figures_as_svg_at_their_size():
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\n"
            "from companion.display import book_figure, legend_outside, "
            "use_book_style\n"
            "use_book_style()\n"
            "fig, ax = book_figure(height=2.5)\n"
            "ax.plot([0, 1], label='a long legend entry, outside the axes')\n"
            "legend_outside(ax)\n"
            "plt.show()"
        )
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    (image,) = [o for o in nb.cells[0].outputs if "data" in o]
    assert "image/png" not in image["data"]
    svg = image["data"]["image/svg+xml"]
    # not cropped to a "tight" box: exactly the column's width, legend included
    assert re.search(r'<svg [^>]*width="540pt" height="180pt"', svg)
    assert "<dc:date>" not in svg  # the same file at every build
    assert min(svg_font_sizes(svg)) >= MIN_FONT_PT


def _shown_objects():
    """Every companion object a chapter shows with ``show_source``: each dotted name
    in the calls, resolved in every companion module that defines it."""
    import importlib
    import pkgutil
    import re
    from pathlib import Path

    import companion

    modules = [
        importlib.import_module(m.name)
        for m in pkgutil.walk_packages(companion.__path__, "companion.")
    ]
    book = Path(__file__).resolve().parents[1] / "book"
    calls = re.findall(
        r"show_source\(([^)]*)\)",
        "".join(p.read_text(encoding="utf-8") for p in book.glob("[0-9]*.md")),
    )
    found = {}
    for call in calls:
        for dotted in re.findall(r"[A-Za-z_][\w.]*", call):
            *head, tail = dotted.split(".")
            for module in modules:
                owner = getattr(module, head[-1], None) if head else module
                obj = getattr(owner, tail, None) if owner is not None else None
                if obj is not None and getattr(obj, "__module__", "").startswith(
                    "companion"
                ):
                    found[f"{module.__name__}:{dotted}"] = obj
    return found


def test_every_listing_a_chapter_shows_is_bare_maths():
    """No argument check in a listing: the doors stay out (issue 26's target: 0)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    from validation_share import validation_lines

    shown = _shown_objects()
    assert len(shown) > 40
    for where, obj in shown.items():
        source = display.listing_source(obj)
        assert not validation_lines(source), f"{where}: {validation_lines(source)}"
        parts = where.split(":")[1].split(".")
        private = [p for p in parts if p.startswith("_") and not p.startswith("__")]
        assert not private, f"a chapter shows the private name {where}"
