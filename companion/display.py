"""How the book shows things: code listings, HTML tables and the boxes and arrows of
diagrams.

* ``show_source(obj)`` displays the source of a companion function or class under a
  title that says where it comes from, e.g. ``companion/rnn.py, lines 20–61``, so that a
  reader can find the listing in the package.
* ``html_table`` / ``show_table``: the book renders a cell's Markdown output without
  tables, so chapters display their result tables as HTML (every cell escaped).
* ``box``, ``node`` and ``arrow`` draw the parts of the block diagrams of chapters 5 and
  9 on a Matplotlib axis, in data coordinates, in one style for the whole book.

IPython, which renders the listings and tables, is imported only when a notebook
displays them."""

import html
import inspect
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

REPO_ROOT = Path(__file__).resolve().parents[1]


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
    ``"<file relative to the repository>, lines <first>–<last>"``."""
    obj = inspect.unwrap(obj)  # a decorated function: the source of the function itself
    file = Path(inspect.getsourcefile(obj)).resolve()
    lines, first = inspect.getsourcelines(obj)
    name = (
        file.relative_to(REPO_ROOT).as_posix()
        if file.is_relative_to(REPO_ROOT)
        else file.name
    )
    return f"{name}, lines {first}–{first + len(lines) - 1}"


def show_source(*objects) -> Listing:
    """The source of each of ``objects`` (functions, classes, methods), titled with its
    file and line span; a method's indentation is removed.

    Return it as a cell's last value to display it.
    """
    if not objects:
        raise TypeError("expected at least one function, class or method to show")
    parts = []
    for obj in objects:
        try:
            source = inspect.getsource(obj)
        except TypeError as error:
            raise TypeError(
                f"expected a function, class or method defined in a file, got "
                f"{type(obj).__name__}"
            ) from error
        parts.append((source_title(obj), textwrap.dedent(source)))
    return Listing(parts)


def html_table(header: Sequence, rows: Sequence[Sequence]) -> str:
    """``<table>`` markup with one ``<th>`` per header entry and one ``<tr>`` per row.

    Every cell is converted with ``str`` and HTML-escaped. Each row must have as many
    cells as the header."""
    if isinstance(header, str) or not isinstance(header, Sequence) or len(header) == 0:
        raise TypeError(
            f"expected header to be a non-empty sequence of cells, got {header!r}"
        )
    if isinstance(rows, str) or not isinstance(rows, Sequence):
        raise TypeError(
            f"expected rows to be a sequence of rows, got {type(rows).__name__}"
        )
    for i, row in enumerate(rows):
        if (
            isinstance(row, str)
            or not isinstance(row, Sequence)
            or len(row) != len(header)
        ):
            raise ValueError(
                f"expected row {i} to have {len(header)} cells, got {row!r}"
            )

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
