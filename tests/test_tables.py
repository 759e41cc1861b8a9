import pytest

from companion.tables import html_table, show_table


def test_html_table_escapes_and_orders_cells():
    markup = html_table(["a", "b<c"], [[1, "x&y"], [2.5, None]])
    assert markup == ("<table><thead><tr><th>a</th><th>b&lt;c</th></tr></thead><tbody>"
                      "<tr><td>1</td><td>x&amp;y</td></tr><tr><td>2.5</td><td>None</td></tr>"
                      "</tbody></table>")
    assert html_table(["only"], []).endswith("<tbody></tbody></table>")


def test_show_table_displays_html(capsys):
    show_table(["k"], [[3]])  # outside a notebook, IPython prints the object's repr
    assert "HTML" in capsys.readouterr().out


@pytest.mark.parametrize(("header", "rows", "error", "message"), [
    ("ab", [], TypeError, "header to be a non-empty sequence"),
    ([], [], TypeError, "header to be a non-empty sequence"),
    (["a"], "rows", TypeError, "rows to be a sequence"),
    (["a", "b"], [[1]], ValueError, "row 0 to have 2 cells"),
    (["a"], ["x"], ValueError, "row 0 to have 1 cells"),
])
def test_bad_arguments(header, rows, error, message):
    with pytest.raises(error, match=message):
        html_table(header, rows)
