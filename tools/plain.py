"""MyST to plain Jupyter Markdown, for the student notebooks (tools/student.py).

A student notebook must read well in JupyterLab without extensions, in VS Code and in
Colab, which know CommonMark, ``$ … $`` and ``$$ … $$`` maths and nothing of MyST. The
chapter's text, solutions already cut, is read with myst-parser's markdown-it (the
book's parser) and each block is written again:

* roles become text or links, with the numbers of tools/numbering.py (those of the
  HTML): ``{numref}`` "Exercise 5.3", ``{eq}`` "(2.3)", ``{ref}`` its text (a link to
  the sibling notebook when it names another chapter), ``{cite}`` "(Cho et al.,
  2014)" and ``{cite:t}`` "Cho et al. (2014)", ``{doc}`` its text;
* ``(label)=`` targets and ``%`` comments go; ``$$ … $$ (label)`` becomes ``$$ … $$``
  with ``\\tag{2.3}``, the LaTeX kept (several lines wrapped in ``aligned``);
* headings get the numbers of the HTML, "## 2.1 The recurrence";
* an ``{exercise}`` becomes a heading "### Exercise 2.6: title" and its text; a note or
  another admonition, a block quote headed by its title; a ``{math}`` block, ``$$``;
  a ``{code}`` block, a fenced code block;
* a figure drawn by a code cell gets its caption below it, "**Fig. 2.3.** …";
* links to another chapter's ``.md`` point to its notebook; other local links become
  their text;
* every exercise gets an empty code cell to answer in, after its "Your turn" note (or
  after the exercise when it has none), unless the chapter gives it an answer cell.

Anything else (another directive or role, a directive inside a list, a definition
list, a substitution) stops the conversion with ``file:line:``: the tool fails closed,
and a last check parses every markdown cell it wrote and stops on any MyST left."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it.token import Token
from numbering import (
    NESTED,
    Book,
    NumberingError,
    Target,
    _directive,
    _options,
    _parser,
)

ANSWER_CELL = ["", "```{code-cell} ipython3", "```", ""]
ADMONITIONS = NESTED  # the admonitions, whose body is MyST
# A role, or an inline code span (left alone): the code span wins where it starts first.
ROLE_OR_CODE = re.compile(
    r"\{(?P<name>[A-Za-z][\w:+-]*)\}(?P<tick>`+)(?P<body>.+?)(?P=tick)"
    r"|(?P<code>`+).+?(?P=code)",
    re.DOTALL,
)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<label>[^<>]+)>$", re.DOTALL)
YOUR_TURN = re.compile(
    r"\*\*Your turn\.\*\* Write your answer to exercise `(?P<label>[^`]*)` here\."
)
# Block tokens whose lines are CommonMark with roles inside.
INLINE_BLOCKS = {
    "heading_open",
    "paragraph_open",
    "bullet_list_open",
    "ordered_list_open",
    "blockquote_open",
    "table_open",
}
KEPT = {"front_matter", "myst_block_break", "hr", "code_block", "html_block"}


class NotPlain(ValueError):
    """MyST the conversion cannot write as plain Markdown; the message starts with
    ``file:line:``."""


@dataclass
class Context:
    """What the conversion of one chapter needs."""

    book: Book
    doc: str  # the chapter's docname in ``book``
    where: str  # the file, for errors
    notebooks: set[str] = field(default_factory=set)  # stems with a notebook
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)  # labels with an answer cell
    headings: list[str] = field(default_factory=list)  # their numbers, in order

    def __post_init__(self):
        page = next((p for p in self.book.pages if p.doc == self.doc), None)
        kinds = ("page", "section")
        targets = [t for t in page.targets if t.kind in kinds] if page else []
        self.headings = [t.numbered for t in targets]

    def fail(self, line: int, message: str):
        raise NotPlain(f"{self.where}:{line}: {message}")


def citations(bib: Path) -> dict[str, tuple[str, str]]:
    """``{key: (names, year)}`` for the entries of the BibTeX file ``bib``, named as
    the book's bibliography names them (book/_ext/author_year.py)."""
    if not bib.is_file():
        return {}
    import sys

    from pybtex.database import parse_file

    extensions = str(Path(__file__).resolve().parents[1] / "book" / "_ext")
    sys.path.insert(0, extensions)
    try:
        from author_year import author_year_label
    finally:
        sys.path.remove(extensions)
    out = {}
    for key, entry in parse_file(str(bib)).entries.items():
        names, _, year = author_year_label(entry).rpartition(" ")
        out[key] = (names, year)
    return out


def convert(text: str, ctx: Context, first: int = 0, top: bool = True) -> str:
    """The MyST ``text`` (a chapter, or a directive's body whose line 0 is the
    chapter's line ``first``) in plain Markdown."""
    lines = text.split("\n")
    tokens = _parser().parse(text)
    edits: list[tuple[int, int, list[str]]] = []
    notes: dict[str, int] = {}  # the line after each top-level "your turn" note
    exercises: list[tuple[str, int]] = []  # label, the line after
    seen_headings = 0
    for i, token in enumerate(tokens):
        if token.map is None or token.level != 0:
            continue
        start, end = token.map
        at = first + start + 1
        kind = token.type
        if kind in KEPT:
            continue
        if kind in ("myst_target", "myst_line_comment"):
            edits.append((start, end, []))
        elif kind == "math_block_label":
            number = _target(ctx, token.info.strip(), at, "equation").numbered
            edits.append((start, end, _math(token.content, number[1:-1])))
        elif kind == "math_block":
            edits.append((start, end, _math(token.content, None)))
        elif kind in ("fence", "colon_fence"):
            new, exercise = _fence(token, ctx, at, first + start)
            if new is None:  # a code cell, kept as it is, and its figure's caption
                new = lines[start:end] + _caption(token, ctx, at)
            edits.append((start, end, new))
            if exercise is not None:
                exercises.append((exercise, end))
        elif kind == "heading_open" and top:
            inner = _inner(tokens, i)
            number = _heading_number(ctx, seen_headings, at)
            seen_headings += 1
            block = _inline("\n".join(lines[start:end]), inner, ctx, at)
            if number:
                if not block.startswith("#"):
                    ctx.fail(at, "expected a heading written with #, got an underline")
                hashes = block.split(" ", 1)[0]
                block = f"{hashes} {number} {block[len(hashes) :].lstrip()}"
            edits.append((start, end, block.split("\n")))
        elif kind in INLINE_BLOCKS:
            inner = _inner(tokens, i)
            for nested in inner:
                _refuse_nested(nested, ctx, first)
            block = "\n".join(lines[start:end])
            new = _inline(block, inner, ctx, at)
            edits.append((start, end, new.split("\n")))
            for match in YOUR_TURN.finditer(block):
                notes.setdefault(match["label"], end)
        else:
            ctx.fail(at, f"cannot write a {kind} block as plain Markdown")
    if top and seen_headings != len(ctx.headings):
        ctx.fail(
            first + 1,
            f"read {seen_headings} headings, but the book numbers "
            f"{len(ctx.headings)} in this page",
        )
    slots = _answer_slots(notes, exercises, ctx) if top else []
    out, n = [], 0
    for start, end, new in sorted(edits):
        out += lines[n:start] + new
        n = end
        out += ANSWER_CELL * slots.count(end)
    out += lines[n:]
    return "\n".join(out)


def _heading_number(ctx: Context, index: int, at: int) -> str:
    """The number of the page's ``index``-th heading, as the HTML shows it."""
    if index >= len(ctx.headings):
        ctx.fail(at, "a heading the book's numbering does not know")
    return ctx.headings[index]


def _answer_slots(notes: dict, exercises: list, ctx: Context) -> list[int]:
    """The lines after which an empty answer cell goes: after each note, and after
    each exercise without a note, unless its label has an answer cell."""
    slots = [end for label, end in notes.items() if label not in ctx.answered]
    for label, end in exercises:
        if label in ctx.answered or label in notes:
            continue
        slots.append(end)
    return slots


def _inner(tokens: list[Token], i: int) -> list[Token]:
    """The tokens nested in the block opened by ``tokens[i]``."""
    inner = []
    for token in tokens[i + 1 :]:
        if token.level == 0 and token.nesting != -1:
            break
        inner.append(token)
    return inner


def _refuse_nested(token: Token, ctx: Context, first: int) -> None:
    """Stop on MyST blocks inside a list or a quote, which the conversion does not
    reach."""
    line = first + (token.map[0] if token.map else 0) + 1
    if token.type in ("fence", "colon_fence"):
        name, _ = _directive(token)
        if name is not None or token.type == "colon_fence":
            ctx.fail(
                line,
                f"a {token.info.strip()!r} block inside a list or a quote: the "
                "student edition cannot write it as plain Markdown; move it out",
            )
    if token.type in ("math_block_label", "myst_target", "amsmath", "dl_open"):
        ctx.fail(line, f"a {token.type} inside a list or a quote: move it out")


def _target(ctx: Context, label: str, at: int, kind: str | None = None) -> Target:
    try:
        target = ctx.book.target(label)
    except NumberingError as err:
        ctx.fail(at, str(err))
    if kind is not None and target.kind != kind:
        ctx.fail(at, f"expected {label!r} to name an {kind}, it names a {target.kind}")
    if target.number is None and kind is not None:
        ctx.fail(at, f"{label!r} has no number in this book")
    return target


def _math(content: str, number: str | None) -> list[str]:
    """A display equation as ``$$`` lines; several lines are wrapped in ``aligned``
    (Sphinx wraps them in ``split``), and a number is a ``\\tag``."""
    body = content.strip("\n")
    if "\\\\" in body and not body.lstrip().startswith("\\begin"):
        environment = "aligned" if "&" in body else "gathered"
        body = f"\\begin{{{environment}}}\n{body}\n\\end{{{environment}}}"
    tag = [f"\\tag{{{number}}}"] if number else []
    return ["$$", *body.split("\n"), *tag, "$$"]


def _fence(token: Token, ctx: Context, at: int, line0: int):
    """The lines that replace a fence (``None``: keep them), and an exercise's
    label."""
    name, argument = _directive(token)
    source = token.content.split("\n")
    if name is None:
        if token.type == "colon_fence":
            ctx.fail(at, f"a ':::{token.info.strip()}' block is not plain Markdown")
        return None, None
    try:
        options, body = _options(token.content)
    except NumberingError as err:
        ctx.fail(at, str(err))
    inner = "\n".join(source[body:]).rstrip("\n")
    if name in ("code-cell", "raw-cell"):
        return None, None
    if name in ("exercise", "exercise-start"):
        label = options.get("label")
        if label is None:
            ctx.fail(
                at, "an exercise without a :label: cannot be numbered; give it one"
            )
        number = _target(ctx, label, at, "exercise").reference()
        heading = f"### {number}" + (
            f": {_inline_text(argument, ctx, at)}" if argument else ""
        )
        converted = convert(inner, ctx, line0 + 1 + body, top=False)
        return [heading, "", *converted.strip("\n").split("\n")], label
    if name == "exercise-end":
        return [], None
    if name in ADMONITIONS:
        title = argument if name in ("admonition", "topic", "sidebar") else ""
        title = title or name.replace("seealso", "see also").capitalize()
        converted = convert(inner, ctx, line0 + 1 + body, top=False)
        quoted = [f"> {line}".rstrip() for line in converted.strip("\n").split("\n")]
        return [f"> **{_inline_text(title, ctx, at)}.**", ">", *quoted], None
    if name == "math":
        label = options.get("label")
        number = _target(ctx, label, at, "equation").numbered[1:-1] if label else None
        return _math(inner, number), None
    if name in ("code", "code-block"):
        return ["```" + argument, *inner.split("\n"), "```"], None
    ctx.fail(
        at,
        f"a {{{name}}} directive: the student edition cannot write it as plain "
        "Markdown (it knows code-cell, exercise, math, code and the admonitions)",
    )


def _caption(token: Token, ctx: Context, at: int) -> list[str]:
    """The caption of a figure a code cell draws, as a paragraph after the cell."""
    name, _ = _directive(token)
    if name != "code-cell":
        return []
    try:
        options, _ = _options(token.content)
    except NumberingError as err:
        ctx.fail(at, str(err))
    mystnb = options.get("mystnb") if isinstance(options, dict) else None
    figure = mystnb.get("figure") if isinstance(mystnb, dict) else None
    if not isinstance(figure, dict) or not figure.get("name"):
        return []
    number = _target(ctx, str(figure["name"]), at, "figure").reference()
    caption = " ".join(str(figure.get("caption", "")).split())
    return ["", f"**{number}.** {_inline_text(caption, ctx, at)}".rstrip(), ""]


def _inline_text(text: str, ctx: Context, at: int) -> str:
    """One line of MyST inline text (a title, a caption) in plain Markdown."""
    tokens = _parser().parse(text)
    inner = [t for t in tokens if t.type == "inline"]
    return _inline(text, inner, ctx, at)


def _inline(block: str, inner: list[Token], ctx: Context, at: int) -> str:
    """The lines of a block, roles and local links rewritten."""
    children = [c for t in inner if t.children for c in t.children]
    roles = [c for c in children if c.type == "myst_role"]
    for child in children:
        if child.type.startswith("substitution"):
            ctx.fail(at, "a {{ substitution }}: not plain Markdown")
        if child.type == "link_open":
            block = _link(block, child.attrs.get("href", ""), ctx)
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        if match["code"]:
            return match[0]
        count += 1
        return _role(match["name"], match["body"], ctx, at)

    out = ROLE_OR_CODE.sub(replace, block)
    if count != len(roles):
        ctx.fail(
            at,
            f"read {len(roles)} roles in this block but found {count} to rewrite: "
            "the conversion cannot tell them apart; simplify the markup",
        )
    return YOUR_TURN.sub(lambda m: _your_turn(m["label"], ctx), out)


def _your_turn(label: str, ctx: Context) -> str:
    """The note that takes a solution's place, with the exercise's number."""
    target = ctx.book.labels.get(label)
    if target is None or target.number is None:
        return (
            "**Your turn.** Write your answer to the exercise above in the cell below."
        )
    if label in ctx.answered:
        what = target.reference()
        return f"**Your turn.** Your answer to {what} goes in its answer cell above."
    return (
        f"**Your turn.** Write your answer to {target.reference()} in the cell below."
    )


def _link(block: str, href: str, ctx: Context) -> str:
    """``block`` with the links to ``href`` pointing where a notebook can follow."""
    if re.match(r"[a-z][a-z0-9+.-]*:", href):
        return block  # https:, mailto:
    path = href.split("#", 1)[0]
    stem = Path(path).stem
    if path.endswith(".md") and stem in ctx.notebooks:
        return block.replace(f"]({href})", f"]({stem}.ipynb)")
    pattern = re.compile(r"\[([^\]]*)\]\(" + re.escape(href) + r"\)")
    return pattern.sub(lambda m: m[1], block)


def _role(name: str, body: str, ctx: Context, at: int) -> str:
    """A role as text, or as a link to another chapter's notebook."""
    explicit = EXPLICIT.match(body)
    text, label = (explicit["text"], explicit["label"]) if explicit else (None, body)
    label = label.strip()
    if name == "ref":
        target = _target(ctx, label, at)
        return _to(target, text or _title(target), ctx)
    if name == "numref":
        target = _target(ctx, label, at, None)
        if target.number is None:
            ctx.fail(at, f"{label!r} has no number to show")
        if text:
            shown = text.replace("%s", target.numbered).replace(
                "{number}", target.numbered
            )
            shown = shown.replace("{name}", target.title)
        else:
            shown = target.reference()
        return _to(target, shown, ctx)
    if name == "eq":
        target = _target(ctx, label, at, "equation")
        return _to(target, text or target.numbered, ctx)
    if name == "doc":
        stem = Path(label).name
        try:
            title = ctx.book.page(stem).title
        except NumberingError:
            title = stem
        shown = text or title
        return f"[{shown}]({stem}.ipynb)" if stem in ctx.notebooks else shown
    if name in ("cite", "cite:p", "cite:ps", "cite:t", "cite:ts"):
        keys = [k.strip() for k in body.split(",") if k.strip()]
        found = []
        for key in keys:
            if key not in ctx.citations:
                ctx.fail(at, f"the citation key {key!r} is not in references.bib")
            found.append(ctx.citations[key])
        if name.startswith("cite:t"):
            return "; ".join(f"{names} ({year})" for names, year in found)
        return "(" + "; ".join(f"{names}, {year}" for names, year in found) + ")"
    if name == "math":
        return f"${body}$"
    ctx.fail(
        at,
        f"a {{{name}}} role: the student edition cannot write it as plain Markdown "
        "(it knows ref, numref, eq, doc, cite and math)",
    )


def _title(target: Target) -> str:
    """What a ``{ref}`` without text shows."""
    if target.kind in ("page", "section") and target.title:
        return target.title
    if target.number is not None:
        return target.reference()
    return target.title or (target.label or "")


def _to(target: Target, shown: str, ctx: Context) -> str:
    """``shown``, linked to the target's notebook when it is another chapter's."""
    stem = Path(target.doc).name
    if target.doc == ctx.doc or stem not in ctx.notebooks:
        return shown
    return f"[{shown}]({stem}.ipynb)"


LEFT_OVER = {
    "myst_role": "a role",
    "myst_target": "a (label)= target",
    "math_block_label": "a labelled equation",
    "myst_line_comment": "a % comment",
    "colon_fence": "a ::: block",
    "dl_open": "a definition list",
    "amsmath": "a bare LaTeX environment",
}


def check_plain(source: str, where: str) -> None:
    """Stop if the markdown cell ``source`` still holds MyST."""
    for token in _parser().parse(source):
        kinds = [token.type] + [c.type for c in token.children or []]
        for kind in kinds:
            if kind in LEFT_OVER or kind.startswith("substitution"):
                raise NotPlain(
                    f"{where}: {LEFT_OVER.get(kind, kind)} is left in a markdown cell"
                )
        if token.type == "fence" and _directive(token)[0] is not None:
            raise NotPlain(f"{where}: a {{{_directive(token)[0]}}} directive is left")
