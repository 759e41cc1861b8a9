"""The built book in a real browser: headless Chromium through every page (make
browser-test).

Serves ``_build/html`` on 127.0.0.1 and checks, on each page: it loads without console
errors, requests nothing from any other host, every image decodes, every formula is
typeset by MathJax with no raw TeX left, every download button leads to a file (chapters
offer ``.md``, the executed ``.ipynb`` and the student ``.ipynb`` without solutions),
and (for chapters) saves a screenshot to ``_build/screenshots``. Then: the search page
finds "LSTM", and a solution stays hidden until its toggle is clicked.

Figures (the book style of ``companion.display``): every image a chapter's code draws is
a numbered figure, "Fig. N.M" with N its chapter's number, with alt text that describes
it (not a file name), and its smallest text is readable. An SVG from Matplotlib says the
size of each of its texts in points; drawn ``natural`` CSS px wide by itself and shown
``shown`` px wide, a ``p`` pt text reads ``p × 4/3 × shown / natural`` CSS px. In a
1400 px window figures are shown at 1:1, their smallest text at 9 pt = 12 CSS px or
more; on a 390 px phone a figure is scaled to the column, and a tap shows it at its
natural size (book/_static/book.js), its smallest text then 9 CSS px or more."""

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from companion.display import MIN_FONT_PT, svg_font_sizes

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

PAGES = sorted(p.relative_to(HTML).as_posix() for p in (HTML / "book").glob("*.html"))
CHAPTERS = [p for p in PAGES if p.split("/")[-1][:2].isdigit()]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
PX_PER_PT = 96 / 72  # CSS px per point
# The smallest text allowed, in CSS px, at each window width.
READABLE_PX = {DESKTOP["width"]: MIN_FONT_PT * PX_PER_PT, PHONE["width"]: 9.0}
# Every image in a cell's output, with the figure around it.
FIGURES = """() => [...document.querySelectorAll("article div.cell_output img")].map(
  i => {
    const number = i.closest("figure")?.querySelector("figcaption .caption-number");
    return {src: i.currentSrc || i.src, alt: i.getAttribute("alt") || "",
            natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
            number: number ? number.innerText.trim() : null};
  })"""
# Block elements of the text that must fit the screen's width, unless they sit inside
# (or are) a block that scrolls sideways on purpose (code, wide tables and equations).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const blocks = document.querySelectorAll(
    "article p, article li, article h1, article h2, article h3, article table, " +
    "article mjx-container[display='true'], article div.highlight, article img");
  const bad = [];
  for (const e of blocks) {
    const r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    let c = e.parentElement, inside = false;
    for (; c && c.tagName !== "ARTICLE"; c = c.parentElement) {
      if (scrolls(c)) { inside = true; break; }
    }
    if (inside) continue;
    if (r.right > width + 1 || (e.scrollWidth > e.clientWidth + 1 && !scrolls(e)))
      bad.push(e.tagName + ": " + (e.innerText || e.src || "").slice(0, 60));
  }
  return bad;
}"""


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on(
        "response",
        lambda r: r.status >= 400 and page.errors.append(f"{r.status} {r.url}"),
    )
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def foreign(urls):
    return [
        u
        for u in urls
        if urlparse(u).scheme in ("http", "https", "ws", "wss")
        and urlparse(u).hostname not in LOCAL_HOSTS
    ]


def test_every_chapter_is_built():
    assert len([p for p in PAGES if p.split("/")[-1][:2].isdigit()]) >= 1, PAGES


@pytest.mark.parametrize("path", PAGES)
def test_page_is_offline_complete_and_typeset(page, base_url, path):
    page.goto(f"{base_url}/{path}", wait_until="networkidle")
    page.evaluate("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    page.wait_for_function(
        "[...document.images].every(i => i.complete)", timeout=20_000
    )
    broken = page.evaluate(
        "[...document.images].filter(i => i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == [], f"images that did not load on {path}: {broken}"

    typeset(page)
    text = page.inner_text("article")
    for raw in ("$$", "\\(", "\\["):
        assert raw not in text, f"raw TeX {raw!r} left on {path}"

    downloads = page.eval_on_selector_all(
        "a[href*='_sources/']", "els => els.map(e => e.href)"
    )
    for url in downloads:
        assert page.request.get(url).status == 200, (
            f"dead download button {url} on {path}"
        )

    assert foreign(page.requests) == [], f"{path} requested other hosts"
    assert page.errors == [], f"console errors on {path}: {page.errors}"
    if path.split("/")[-1][:2].isdigit():
        assert any(
            u.endswith(".ipynb") and not u.endswith(".student.ipynb") for u in downloads
        ), f"no executed .ipynb download on {path}"
        assert any(u.endswith(".student.ipynb") for u in downloads), (
            f"no student notebook download on {path}"
        )
        figures = page.locator("div.cell_output img").count()
        assert figures > 0, f"no figure rendered on chapter page {path}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SHOTS / path.replace("/", "_").replace(".html", ".png"))
        )


def typeset(page):
    formulas = page.locator(".math").count()
    if formulas:
        page.wait_for_function(
            f"document.querySelectorAll('mjx-container').length >= {formulas}",
            timeout=30_000,
        )


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_output_holds_no_warning(page, base_url, path):
    page.goto(f"{base_url}/{path}", wait_until="networkidle")
    outputs = page.locator("div.cell_output").all_text_contents()
    warned = [o.strip()[:120] for o in outputs if "Warning" in o]
    assert warned == [], f"warnings printed on {path}: {warned}"


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_fits_a_phone(browser, base_url, path):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/{path}", wait_until="networkidle")
        typeset(page)
        overflowing = page.evaluate(OVERFLOWING)
        assert overflowing == [], (
            f"text wider than a 390 px screen on {path}: {overflowing}"
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SHOTS / path.replace("/", "_").replace(".html", "-390px.png"))
        )
    finally:
        context.close()


def test_search_finds_lstm(page, base_url):
    page.goto(f"{base_url}/search.html?q=LSTM", wait_until="networkidle")
    page.wait_for_selector("ul.search li", timeout=30_000)
    assert page.locator("ul.search li").count() > 0
    assert foreign(page.requests) == [] and page.errors == []


def test_solutions_are_hidden_until_clicked(page, base_url):
    page.goto(f"{base_url}/book/01_backprop_xor.html", wait_until="networkidle")
    solution = page.locator("div.solution").first
    body = solution.locator("section, .admonition-title ~ *").last
    assert not body.is_visible(), "a solution is visible before its toggle is clicked"
    solution.locator("button.toggle-button").click()
    body.wait_for(state="visible", timeout=5_000)
    assert body.is_visible()


def chapter_figures(browser, base_url, path, viewport):
    """The figures of a chapter as a window of ``viewport`` shows them, each with the
    text of its SVG file (None for another kind of image), and the chapter's number
    (the first number of its title, "4" for "4. Sentences" or "4.6. ...")."""
    phone = viewport == PHONE
    context = browser.new_context(
        viewport=viewport, device_scale_factor=2 if phone else 1, has_touch=phone
    )
    page = context.new_page()
    try:
        page.goto(f"{base_url}/{path}", wait_until="networkidle")
        page.evaluate(
            "document.querySelectorAll('img').forEach(i => i.loading = 'eager')"
        )
        page.wait_for_function(
            "[...document.images].every(i => i.complete)", timeout=20_000
        )
        figures = page.evaluate(FIGURES)
        for figure in figures:
            svg = urlparse(figure["src"]).path.endswith(".svg")
            figure["svg"] = page.request.get(figure["src"]).text() if svg else None
        if phone:  # the reader taps a figure to read it: measure it enlarged
            zoom = page.locator("dialog.figure-zoom")
            for i, figure in enumerate(figures):
                if figure["shown"] >= figure["natural"] - 1:
                    continue  # shown at its natural size already
                page.locator("article div.cell_output img").nth(i).tap()
                zoom.wait_for(state="visible", timeout=5_000)
                figure["shown"] = zoom.locator("img").bounding_box()["width"]
                page.keyboard.press("Escape")
                zoom.wait_for(state="hidden", timeout=5_000)
        title = page.locator("article h1 .section-number").first.inner_text()
        return title.split(".")[0].strip(), figures
    finally:
        context.close()


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_figures_are_numbered_and_described(browser, base_url, path):
    chapter, figures = chapter_figures(browser, base_url, path, DESKTOP)
    assert figures, f"no figure on {path}"
    for figure in figures:
        name = figure["src"].rsplit("/", 1)[-1]
        number = figure["number"] or ""
        assert re.fullmatch(rf"Fig\. {chapter}\.\d+", number), (
            f"{name} on {path} is not a numbered figure of chapter {chapter} "
            f"(caption number {number!r}): give its cell mystnb figure metadata"
        )
        alt = figure["alt"]
        assert len(alt.split()) >= 4 and not re.search(r"[/\\]|\.\w{3,4}$", alt), (
            f"{number} on {path} has no description for screen readers "
            f"(alt {alt!r}): give its cell mystnb image alt metadata"
        )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1400px", "390px"])
@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_figure_text_is_readable(browser, base_url, path, viewport):
    width = viewport["width"]
    for figure in chapter_figures(browser, base_url, path, viewport)[1]:
        label = f"{figure['number'] or figure['src'].rsplit('/', 1)[-1]} on {path}"
        assert figure["svg"] is not None, (
            f"{label} is not an SVG: draw it after companion.display.use_book_style()"
        )
        sizes = svg_font_sizes(figure["svg"])
        if not sizes:  # a figure without text
            continue
        shown = figure["shown"] / figure["natural"]
        if width == DESKTOP["width"]:
            assert shown == pytest.approx(1, abs=0.01), (
                f"{label} is drawn {figure['natural']} px wide but shown "
                f"{figure['shown']:.0f} px wide at {width} px: make it no wider than "
                "the column (companion.display.book_figure)"
            )
        smallest = min(sizes) * PX_PER_PT * shown
        assert smallest >= READABLE_PX[width] - 0.05, (
            f"the smallest text of {label} is {min(sizes):g} pt, "
            f"{smallest:.1f} CSS px at {width} px: expected at least "
            f"{READABLE_PX[width]:g} px"
        )
