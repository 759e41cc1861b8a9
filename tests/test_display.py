import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from companion import display
from companion.display import arrow, box, html_table, node, show_source, show_table
from companion.rnn import RNN


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
