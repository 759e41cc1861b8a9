"""Small HTML tables for notebook outputs.

The book renders a cell's Markdown output without tables, so chapters display their result
tables as HTML: ``html_table`` builds the markup (every cell escaped), ``show_table``
displays it in the notebook.
"""

import html
from collections.abc import Sequence


def html_table(header: Sequence, rows: Sequence[Sequence]) -> str:
    """``<table>`` markup with one ``<th>`` per header entry and one ``<tr>`` per row.

    Every cell is converted with ``str`` and HTML-escaped. Each row must have as many cells as
    the header.
    """
    if isinstance(header, str) or not isinstance(header, Sequence) or len(header) == 0:
        raise TypeError(f"expected header to be a non-empty sequence of cells, got {header!r}")
    if isinstance(rows, str) or not isinstance(rows, Sequence):
        raise TypeError(f"expected rows to be a sequence of rows, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if isinstance(row, str) or not isinstance(row, Sequence) or len(row) != len(header):
            raise ValueError(f"expected row {i} to have {len(header)} cells, got {row!r}")

    def cells(row, tag):
        return "".join(f"<{tag}>{html.escape(str(c))}</{tag}>" for c in row)

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table><thead><tr>{cells(header, 'th')}</tr></thead><tbody>{body}</tbody></table>"


def show_table(header: Sequence, rows: Sequence[Sequence]) -> None:
    """Display ``html_table(header, rows)`` as the output of the current notebook cell."""
    from IPython.display import HTML, display

    display(HTML(html_table(header, rows)))
