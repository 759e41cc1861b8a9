"""One notation across the chapters: the one the introduction's table defines.

How it works. The test reads every chapter (``book/*.md`` with a jupytext header) and
collects the maths a reader sees: the ``$...$`` and ``$$...$$`` of the markdown cells
and of the figure captions, and the matplotlib labels written as ``"$...$"`` in code
cells. On that maths it applies the rules below; each rule is a regular expression that
matches a use of a symbol the introduction reserves (book/intro.md, "Notation") for
something else, or a vector written without the bold the table asks for.

* ``bold vectors``: the input and hidden vectors are bold, $\\mathbf{x}_t$,
  $\\mathbf{h}_t$, and so are the other vectors indexed by time: the LSTM's cell state
  $\\mathbf{C}_t$ (and $\\mathbf{c}_t$), its gates, biases $\\mathbf{b}$. An italic
  ``h``, ``x``, ``c`` or ``C`` followed by an index is flagged; scalars stay italic.
* ``loss``: a loss is $\\mathcal{L}$; the italic $L$ is the length of a sequence, so
  ``\\partial L`` or ``\\nabla L`` is flagged.
* ``W_i``: $W_i$ is the RNN's input-to-hidden matrix, not a gate's weights: ``W_i``
  applied to a concatenation ``[...]`` or inside ``\\sigma(...)`` is flagged (the LSTM's
  input gate has $W_{in}$).
* ``temperature``: the sampling temperature is $\\tau$ (chapters 2 and 6), never $T$.
* ``length``: the length of a sequence is $L$: "length $T$" or "length $N$" is flagged.

Allowed exceptions. ``ALLOWED`` lists, per chapter and rule, the exact pieces of maths
that match a rule but mean what the notation says (a symbol of a sequence, an integer
rather than a vector, say): the rule's name and the text its pattern matched, for
``bold vectors`` the letter with its index (``c_t``, ``x_{L-t}``). An exception
that no longer matches anything fails the test too, so the list cannot go stale. To add
a rule, add a name and a pattern to ``RULES``; to allow a use, add
``(chapter stem, rule name, matched text)`` to ``ALLOWED`` with a comment saying why.
"""

import re
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(p for p in BOOK.glob("*.md") if p.read_text().startswith("---\n"))

# maths to leave out before the rules look: bold symbols, words, operator names
CLEAN = re.compile(
    r"\\(?:mathbf|boldsymbol|bm|text|textrm|mathrm|operatorname|mathcal|texttt)"
    r"\s*(?:\{[^{}]*\}|[A-Za-z])"
)
RULES = {
    "bold vectors": re.compile(
        r"(?<![\\A-Za-z_^])[hxcC]\}?\s*(?:\^\{[^{}]*\}|\^\S)?\s*_(?:\{[^{}]*\}|\w)"
    ),
    "loss": re.compile(r"\\(?:partial|nabla)(?:_\{?[^ {}]*\}?)?\s*L\b"),
    "W_i": re.compile(r"W_i\s*(?:\[|\\left\[|\\big\[)|\\sigma\s*\(\s*W_i\b"),
    "temperature": re.compile(
        r"[Tt]emperature\W+T\b|\bp_T\b|\\exp\([^$]*/\s*T\s*\)|T\s*\\to"
    ),
    "length": re.compile(r"length\W+[TN]\b"),
}
# (chapter, rule, matched text): uses that match a rule but mean what the intro says
ALLOWED = {
    # the copy-memory task's inputs are symbols (integers), not vectors
    ("03_vanishing_gradients", "bold vectors", "x_t"),
    # the characters of the text, one integer each, in a stream or a chunk
    ("04b_truncated_bptt", "bold vectors", "x_{bS}"),
    ("04b_truncated_bptt", "bold vectors", "x_{(b+1)S-1}"),
    ("04b_truncated_bptt", "bold vectors", "x_{bS + kK}"),
    ("04b_truncated_bptt", "bold vectors", "x_{bS + kK + K - 1}"),
    # characters c_t, and the n-gram history h_k: a string of k characters
    ("05b_language_models", "bold vectors", "c_t"),
    ("05b_language_models", "bold vectors", "c_{<t}"),
    ("05b_language_models", "bold vectors", "h_k"),
    ("05b_language_models", "bold vectors", "h_{k-1}"),
    # the source symbols of the seq2seq tasks
    ("07_seq2seq", "bold vectors", "x_1"),
    ("07_seq2seq", "bold vectors", "x_S"),
    ("07_seq2seq", "bold vectors", "x_j"),
    ("07_seq2seq", "bold vectors", "x_{L-1-t}"),
    ("07_seq2seq", "bold vectors", "x_{L-t}"),
    # a state space model's readout, C in the S4 and Mamba papers' notation
    ("09_linear_recurrences", "bold vectors", "C_t"),
    ("09_linear_recurrences", "bold vectors", "C_n"),
}

MATH = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)


def seen_maths(path):
    """The pieces of maths a reader sees in a chapter, each with its words around."""
    pieces = []
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "markdown":
            text = re.sub(r"`[^`\n]*`", "", cell.source)  # inline code is not maths
            pieces.append(text)
        else:
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            pieces.append(str(figure.get("caption", "")))
            pieces.extend(m.group(0) for m in re.finditer(r"\$[^$\n]+\$", cell.source))
    return pieces


def violations(path):
    """``{(rule, matched text)}`` for a chapter: the rules run on the maths, and on the
    words around it for the rules that read them ("temperature $T$", "length $T$")."""
    found = set()
    for piece in seen_maths(path):
        words = MATH.sub(lambda m: " " + (m.group(1) or m.group(2)) + " ", piece)
        for match in MATH.finditer(piece):
            maths = CLEAN.sub("\u25a0", match.group(1) or match.group(2))
            for name in ("bold vectors", "loss", "W_i"):
                for hit in RULES[name].finditer(maths):
                    found.add((name, re.sub(r"\s+", " ", hit.group(0))))
        for name in ("temperature", "length"):
            for hit in RULES[name].finditer(words):
                found.add((name, hit.group(0)))
    return found


def test_the_rules_catch_the_old_clashes(tmp_path):
    old = tmp_path / "old.md"
    old.write_text(
        "---\njupytext: {}\n---\n\n"
        "The state $h_t$ and $\\mathbf{h}_t$; $\\|\\partial L / \\partial h_t\\|$;\n"
        "$i_t = \\sigma(W_i [h_{t-1}, x_t])$; temperature $T$: $p_T(y)$; length $T$.\n"
    )
    rules = {name for name, _ in violations(old)}
    assert rules == set(RULES)
    fine = tmp_path / "fine.md"
    fine.write_text(
        "---\njupytext: {}\n---\n\n$\\mathbf{h}_t = \\tanh(W_i\\,\\mathbf{x}_t)$, "
        "$\\partial \\mathcal{L}$, $\\tau = 0.7$, length $L$, $W_{in}$, $h = 3$.\n"
    )
    assert violations(fine) == set()


def test_the_intro_defines_what_the_rules_enforce():
    table = (BOOK / "intro.md").read_text().split("## Notation", 1)[1]
    for symbol in (
        r"\mathbf{x}_t",
        r"\mathbf{h}_t",
        "W_i",
        r"\mathcal{L}",
        r"\tau",
        "length $L$",
    ):
        assert symbol in table, f"the intro's notation table should define {symbol}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_symbols_mean_what_the_intro_says(path):
    found = violations(path)
    allowed = {(rule, text) for stem, rule, text in ALLOWED if stem == path.stem}
    clashes = sorted(found - allowed)
    assert not clashes, f"{path.name}: notation the intro reserves:\n" + "\n".join(
        f"  {rule}: ...{text}..." for rule, text in clashes
    )
    stale = sorted(allowed - found)
    assert not stale, f"{path.name}: allowed exceptions that no longer occur: {stale}"
