"""How the book shows things: code listings, HTML tables and the boxes and arrows of
diagrams.

* ``show_source(obj)`` displays the source of a companion function or class under a
  title that says where it comes from, e.g. ``companion/rnn.py, lines 20–61``, so that a
  reader can find the listing in the package.
* ``html_table`` / ``show_table``: the book renders a cell's Markdown output without
  tables, so chapters display their result tables as HTML (every cell escaped).
* ``box``, ``node`` and ``arrow`` draw the parts of the block diagrams of chapters 5 and
  9 on a Matplotlib axis, in data coordinates, in one style for the whole book.
* The book's figure style. ``use_book_style()``, called in a chapter's first cell, sets
  Matplotlib's fonts (no text under ``MIN_FONT_PT`` = 9 pt) and makes the notebook show
  figures as SVG at their exact size (no tight cropping); ``book_figure(nrows, ncols)``
  returns ``(fig, axes)`` as wide as the book's text column, ``COLUMN_WIDTH_IN`` = 7.5
  in, that is 720 CSS px at 96 CSS px per inch: the page shows it at 1:1, so a 9 pt
  label reads at 12 CSS px; ``legend_outside(ax)`` puts a legend off the data, to the
  right of the axes or under the figure. ``svg_font_sizes(svg)`` lists the font sizes
  of the text of an SVG figure (the tests check that none is under 9 pt).

  A figure cell gives its figure a name, a caption (numbered "Fig. N.M") and alt text in
  its metadata::

      ---
      tags: [hide-input]
      mystnb:
        figure:
          name: fig-ch1-regions
          caption: One sentence saying what the figure shows.
        image:
          alt: A plain description of the picture for screen readers.
      ---

IPython, which renders the listings and tables, is imported only when a notebook
displays them."""

import ast
import html
import inspect
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.legend import Legend
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from companion.checks import Int, Is, OneOf, Real, checked

REPO_ROOT = Path(__file__).resolve().parents[1]

CSS_PX_PER_IN = 96  # what a browser draws for one inch of an SVG or a 1x image
COLUMN_WIDTH_IN = 7.5  # 720 CSS px: the text column is 784 px wide in a 1400 px window
ROW_HEIGHT_IN = 2.8  # the default height of one row of axes
MIN_FONT_PT = 9  # the smallest text in a figure: 12 CSS px at 1:1

# The doors of a figure's size in inches: as wide as the column at most, and not more
# than four columns high
WIDTH = Real(0, COLUMN_WIDTH_IN, low_open=True)
HEIGHT = Real(0, 4 * COLUMN_WIDTH_IN, low_open=True, optional=True)

# Relative sizes are fractions of font.size: "small" is 0.833 x 11 = 9.2 pt, so a label
# asked to be "small" still reads; tick labels and legends are "small".
BOOK_RC = {
    "font.size": 11,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "xtick.labelsize": "small",
    "ytick.labelsize": "small",
    "legend.fontsize": "small",
    "legend.title_fontsize": "small",
    "figure.titlesize": "large",
    "figure.labelsize": "medium",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.figsize": (COLUMN_WIDTH_IN, ROW_HEIGHT_IN),
    "figure.constrained_layout.use": True,  # labels and outside legends fit the figure
    "figure.dpi": CSS_PX_PER_IN,
    "savefig.dpi": 2 * CSS_PX_PER_IN,  # images inside an SVG (imshow) at 2x
    "savefig.format": "svg",
    "svg.hashsalt": "book",  # the same SVG at every build
    "svg.fonttype": "path",  # text as outlines: no font needed, sizes readable back
}
# What the notebook's inline backend passes to savefig: the figure at its own size (no
# "tight" crop, which would change its width), images inside at 2x, no date stamp.
INLINE_SAVEFIG = {
    "bbox_inches": None,
    "dpi": 2 * CSS_PX_PER_IN,
    "metadata": {"Date": None},
}


def use_book_style() -> None:
    """Set the book's figure style: Matplotlib's ``rcParams`` from ``BOOK_RC`` and, in a
    notebook, figures shown as SVG at exactly their size (``INLINE_SAVEFIG``).

    Call it once, in a chapter's first cell, after importing ``matplotlib.pyplot``."""
    mpl.rcParams.update(BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook tools
        return
    if get_ipython() is not None and "inline" in mpl.get_backend():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", **INLINE_SAVEFIG)


@checked(nrows=Int(), ncols=Int(), width=WIDTH, height=HEIGHT)
def book_figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    height: float | None = None,
    width: float = COLUMN_WIDTH_IN,
    **subplots_kw,
):
    """A figure ``width`` inches wide (the text column's width by default) and
    ``height`` inches high (``ROW_HEIGHT_IN`` per row by default) holding
    ``nrows x ncols`` axes.

    Returns ``(fig, axes)`` as ``plt.subplots`` does (``axes`` is one ``Axes`` for a
    single plot, else an array of shape ``(nrows, ncols)``, squeezed); ``subplots_kw``
    go to ``plt.subplots`` (``sharex``, ``subplot_kw``, ``width_ratios`` ...). The
    layout is constrained, so labels and a legend placed with ``legend_outside`` fit
    inside the figure without changing its size. ``figsize`` and ``layout`` are
    book_figure's own: passing either is a ``TypeError``."""
    height = ROW_HEIGHT_IN * nrows if height is None else height
    return plt.subplots(
        nrows, ncols, figsize=(width, height), layout="constrained", **subplots_kw
    )


@checked(side=OneOf("right", "below"))
def legend_outside(ax: plt.Axes, side: str = "right", **legend_kw) -> Legend:
    """A legend off the data: to the right of ``ax``, top-aligned with it
    (``side="right"``), or under the whole figure, centred, in two columns
    (``side="below"``, a figure legend of ``ax``'s entries, for long labels or for a
    legend that several panels share).

    ``legend_kw`` go to ``ax.legend`` or ``fig.legend`` (``title``, ``ncols``,
    ``handles`` ...). In a ``book_figure`` the layout makes room for the legend."""
    if side == "right":
        place = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
        return ax.legend(**{**place, "borderaxespad": 0.0, **legend_kw})
    if "handles" not in legend_kw:  # side == "below"
        legend_kw["handles"], legend_kw["labels"] = ax.get_legend_handles_labels()
    place = {"loc": "outside lower center", "ncols": 2}
    return ax.figure.legend(**{**place, **legend_kw})


_TEXT_SCALE = re.compile(r'<g transform="[^"]*?scale\(([0-9.eE+-]+)[ ,]')


@checked(svg=Is(str, label="the text of an SVG file"))
def svg_font_sizes(svg: str) -> list[float]:
    """The font size, in points, of every piece of text in an SVG saved by Matplotlib.

    Matplotlib draws text as glyph outlines 100 units high (``svg.fonttype`` "path")
    scaled by ``fontsize / 100``: this reads those scales back."""
    return [round(100 * float(s), 3) for s in _TEXT_SCALE.findall(svg)]


class Listing:
    """Source code under a title naming its file and lines (the object ``show_source``
    returns).

    ``parts`` is a list of ``(title, source)``; the notebook shows each part as its
    title followed by the highlighted code (HTML), a terminal as plain text."""

    def __init__(self, parts: list[tuple[str, str]]):
        self.parts = parts

    def _repr_html_(self) -> str:
        from IPython.display import Code

        return "".join(
            f'<p class="listing-title"><code>{html.escape(title)}</code></p>'
            + Code(source, language="python")._repr_html_()
            for title, source in self.parts
        )

    def __repr__(self) -> str:
        return "\n".join(f"# {title}\n{source}" for title, source in self.parts)


def source_title(obj) -> str:
    """Where ``obj`` is defined:
    ``"<file relative to the repository>, lines <first>–<last>"``, without the
    ``@checked`` door of a function (``show_source`` leaves it out)."""
    obj = inspect.unwrap(obj)  # a decorated function: the source of the function itself
    file = Path(inspect.getsourcefile(obj)).resolve()
    lines, first = inspect.getsourcelines(obj)
    first = max(first, 1)  # a module starts at line 1 (inspect says 0)
    name = (
        file.relative_to(REPO_ROOT).as_posix()
        if file.is_relative_to(REPO_ROOT)
        else file.name
    )
    return f"{name}, lines {first + _leading_door(lines)}–{first + len(lines) - 1}"


def _door_lines(source: str) -> list[int]:
    """The 0-based line numbers of every ``@checked(...)`` decorator in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for dec in getattr(node, "decorator_list", ()):
            target = dec.func if isinstance(dec, ast.Call) else dec
            if getattr(target, "id", getattr(target, "attr", None)) == "checked":
                found.extend(range(dec.lineno - 1, dec.end_lineno))
    return sorted(found)


def _leading_door(lines: list[str]) -> int:
    """How many of the first ``lines`` are the object's own ``@checked`` door."""
    door = _door_lines(textwrap.dedent("".join(lines)))
    count = 0
    while count in door:
        count += 1
    return count


def listing_source(obj) -> str:
    """The dedented source of ``obj`` without its ``@checked`` doors: the maths alone,
    as the chapters show it. The doors' rules stay in the file, and the errors they
    raise are documented in the docstrings."""
    source = textwrap.dedent(inspect.getsource(obj))
    door = set(_door_lines(source))
    return "".join(
        line for i, line in enumerate(source.splitlines(keepends=True)) if i not in door
    )


def show_source(*objects) -> Listing:
    """The source of each of ``objects`` (functions, classes, methods), titled with its
    file and line span; a method's indentation is removed, and so are the argument
    checks (``@checked`` decorators): a listing shows the maths.

    Return it as a cell's last value to display it.
    """
    if not objects:
        raise TypeError("expected at least one function, class or method to show")
    return Listing([(source_title(obj), listing_source(obj)) for obj in objects])


def html_table(header: Sequence, rows: Sequence[Sequence]) -> str:
    """``<table>`` markup with one ``<th>`` per header entry and one ``<tr>`` per row.

    Every cell is converted with ``str`` and HTML-escaped. Each row must have as many
    cells as the header."""
    if isinstance(header, str) or not isinstance(header, Sequence) or not header:
        raise TypeError(f"expected header to be a non-empty sequence, got {header!r}")
    if isinstance(rows, str) or not isinstance(rows, Sequence):
        raise TypeError(f"expected rows to be a sequence of rows, got {rows!r:.40}")
    n = len(header)
    for i, row in enumerate(rows):
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != n:
            raise ValueError(f"expected row {i} to have {n} cells, got {row!r}")

    def cells(row, tag):
        return "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row)

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    head = f"<thead><tr>{cells(header, 'th')}</tr></thead>"
    return f"<table>{head}<tbody>{body}</tbody></table>"


def show_table(header: Sequence, rows: Sequence[Sequence]) -> None:
    """Display ``html_table(header, rows)`` as the output of the current notebook
    cell."""
    from IPython.display import HTML, display

    display(HTML(html_table(header, rows)))


def box(
    ax: plt.Axes,
    center: tuple[float, float],
    text: str,
    color: str = "white",
    *,
    width: float = 0.9,
    height: float = 0.55,
    fontsize: float = 11,
) -> None:
    """A rounded box of ``width × height`` centred on ``center``, filled with ``color``,
    with ``text`` in its middle."""
    x, y = center
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.05",
            fc=color,
            ec="black",
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def node(
    ax: plt.Axes,
    center: tuple[float, float],
    text: str,
    radius: float = 0.28,
    fontsize: float = 13,
) -> None:
    """A white circle on ``center`` holding an operator such as ``×`` or ``+``."""
    ax.add_patch(plt.Circle(center, radius, fc="white", ec="black", zorder=3))
    ax.text(*center, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def arrow(
    ax: plt.Axes,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str = "black",
    lw: float = 1.4,
    linestyle: str = "-",
) -> None:
    """An arrow from ``start`` to ``end``, its head exactly on ``end``."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=14,
            color=color,
            lw=lw,
            linestyle=linestyle,
            shrinkA=0,
            shrinkB=0,
            zorder=2,
        )
    )
