"""Every screen: the built book on a phone, a tablet and a computer (make browser-test).

* The sidebars open on a narrow screen. Below 992 px the chapter list and the page's
  outline live in dialogs opened by the ☰ and "On this page" buttons; at 390 px (a
  phone) and 800 px (a tablet) the visible buttons are clicked, and the chapter list and
  the outline must then be on screen (visible, inside the window), and close again.
* Nothing is cut, in a 1400 px window and on a 390 px phone, on every chapter: each
  display equation fits the column in the window, and on the phone fits or scrolls
  sideways under a visible scrollbar or shadow (never clipped, never past the window's
  edge, never under its number); each text a cell prints wraps inside the
  column; each figure is scaled whole to the column (no part of it cropped); each table
  a cell displays has cells apart and ruled. The measurement runs in the page
  (``MEASURE``) and names the page, the element and its sizes on failure.
* On a phone a figure, scaled down to the column, is enlarged by a tap: a dialog shows
  it at its natural size, and closes again.
"""

import pytest
from test_pages import CHAPTERS, DESKTOP, PHONE, typeset

TABLET = {"width": 800, "height": 1100}
NARROW = [PHONE, TABLET]
PAGE = "book/02_rnn.html"  # any chapter: the sidebars are the same on every page

# What a clipped element is, measured in the page. Each element is checked against the
# window and against every ancestor that hides what overflows it.
MEASURE = """(equationsMayScroll) => {
  const vw = document.documentElement.clientWidth;
  const bad = [];
  const px = v => Math.round(v);
  const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const box = r => `x ${px(r.left)}..${px(r.right)}`;
  function check(kind, label, e, mayScroll) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return;  // not displayed
    const sizes = `${box(r)} in a ${vw} px window, content ${e.scrollWidth} px ` +
                  `in a ${e.clientWidth} px box`;
    const fail = why => bad.push(`${kind} ${label}: ${why} (${sizes})`);
    if (r.left < -1 || r.right > vw + 1) fail("runs past the window's edge");
    if (e.scrollWidth > e.clientWidth + 1) {
      if (!mayScroll) fail("wider than its box");
      else if (!scrolls(e)) fail("wider than its box, which does not scroll");
      else if (e.offsetHeight === e.clientHeight &&
               !getComputedStyle(e).backgroundImage.includes("gradient"))
        fail("scrolls with no scrollbar or shadow to show it");
    }
    for (let c = e.parentElement; c && c !== document.body; c = c.parentElement) {
      if (getComputedStyle(c).overflowX === "visible") continue;
      const cr = c.getBoundingClientRect();
      if (r.left < cr.left - 1 || r.right > cr.right + 1) {
        fail(`cut by <${c.tagName.toLowerCase()} class="${c.className}"> ` +
             `(${box(cr)})`);
        break;
      }
    }
  }
  const article = document.querySelector("article.bd-article");
  // display equations: fit or scroll, and stay clear of their number
  article.querySelectorAll("mjx-container[display='true']").forEach((m, i) => {
    const math = m.closest("div.math");
    const number = math && math.querySelector("span.eqno");
    const label = number ? number.innerText.replace(/[^()\\d.]/g, "")
                         : `#${i + 1} (${(m.getAttribute("aria-label") ||
                            m.textContent).slice(0, 40)})`;
    check("equation", label, m, equationsMayScroll);
    if (m.scrollHeight > m.clientHeight + 2 &&
        getComputedStyle(m).overflowY !== "visible")
      bad.push(`equation ${label}: cut at the bottom (content ${m.scrollHeight} px ` +
               `high in a ${m.clientHeight} px box)`);
    if (number) {
      const a = m.getBoundingClientRect(), b = number.getBoundingClientRect();
      if (a.left < b.right - 1 && b.left < a.right - 1 &&
          a.top < b.bottom - 1 && b.top < a.bottom - 1)
        bad.push(`equation ${label}: its number overlaps it ` +
                 `(equation ${box(a)}, number ${box(b)})`);
      if (b.right > vw + 1)
        bad.push(`equation ${label}: its number runs past the window's edge`);
    }
  });
  // text outputs: wrap inside the column
  article.querySelectorAll("div.cell_output pre").forEach((p, i) => {
    check("text output", `#${i + 1} "${p.innerText.trim().slice(0, 50)}"`, p, false);
  });
  // figures: scaled whole to the column, height with width
  article.querySelectorAll("div.cell_output img").forEach((img, i) => {
    const caption = img.closest("figure")?.querySelector(".caption-number");
    const label = caption ? caption.innerText.trim() : img.src.split("/").pop();
    check("figure", label, img, false);
    const r = img.getBoundingClientRect();
    const column = img.closest("div.cell_output").getBoundingClientRect();
    if (r.right > column.right + 1)
      bad.push(`figure ${label}: ${px(r.width)} px wide in a ${px(column.width)} px ` +
               "column");
    const ratio = img.naturalHeight / img.naturalWidth;
    if (Math.abs(r.height - r.width * ratio) > 2)
      bad.push(`figure ${label}: shown ${px(r.width)} x ${px(r.height)}, not in the ` +
               `proportions of its ${img.naturalWidth} x ${img.naturalHeight} image`);
  });
  // tables a cell displays: cells apart and ruled
  article.querySelectorAll("div.cell_output table").forEach((t, i) => {
    const label = `#${i + 1} "${t.innerText.trim().slice(0, 40)}"`;
    check("table", label, t, true);
    for (const cell of t.querySelectorAll("th, td")) {
      const s = getComputedStyle(cell);
      const pad = parseFloat(s.paddingLeft) + parseFloat(s.paddingRight);
      if (pad < 8 || parseFloat(s.borderLeftWidth) < 1) {
        bad.push(`table ${label}: cell "${cell.innerText.slice(0, 20)}" has ` +
                 `${pad} px of padding and a ${s.borderLeftWidth} border`);
        break;
      }
    }
  });
  return bad;
}"""

# Everything a reader can unfold (solutions, dropdowns) is measured unfolded.
UNFOLD = """() => {
  document.querySelectorAll("details").forEach(d => d.open = true);
  document.querySelectorAll("button.toggle-button:not(.toggle-button-hidden)")
    .forEach(b => { if (b.getAttribute("aria-expanded") !== "true") b.click(); });
}"""


def narrow_page(browser, viewport):
    context = browser.new_context(
        viewport=viewport, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return context, page


def on_screen(page, locator):
    """Whether ``locator`` is displayed and lies inside the window (by 1 px)."""
    if not locator.is_visible():
        return False
    box = locator.bounding_box()
    view = page.viewport_size
    return (
        box is not None
        and box["x"] >= -1
        and box["y"] >= -1
        and box["x"] + box["width"] <= view["width"] + 1
        and box["width"] > 0
        and box["height"] > 0
        and box["y"] < view["height"]
    )


def the_visible(page, selector, what, viewport):
    buttons = page.locator(selector).filter(visible=True)
    assert buttons.count() == 1, (
        f"expected one visible {what} button at {viewport['width']} px, found "
        f"{buttons.count()}"
    )
    return buttons.first


@pytest.mark.parametrize("viewport", NARROW, ids=["390px", "800px"])
def test_sidebars_open_and_close_on_a_narrow_screen(browser, base_url, viewport):
    context, page = narrow_page(browser, viewport)
    width = viewport["width"]
    try:
        page.goto(f"{base_url}/{PAGE}", wait_until="networkidle")
        primary = page.locator("#pst-primary-sidebar-modal")
        secondary = page.locator("#pst-secondary-sidebar-modal")

        # the chapter list: ☰ opens it, a tap beside the dialog closes it
        chapters = primary.locator("nav.bd-links a.reference.internal")
        assert not chapters.first.is_visible(), f"chapter list shown at {width} px"
        the_visible(page, ".primary-toggle", "☰", viewport).click()
        primary.locator("nav.bd-links").wait_for(state="visible", timeout=5_000)
        assert primary.evaluate("d => d.open"), f"☰ opened no dialog at {width} px"
        titles = [a.inner_text().strip() for a in chapters.all() if on_screen(page, a)]
        assert len(titles) >= 5 and any("RNN" in t or "recurr" in t for t in titles), (
            f"the chapter list is not on screen at {width} px: {titles}"
        )
        box = primary.bounding_box()
        page.mouse.click(min(box["x"] + box["width"] + 20, width - 5), 300)
        primary.wait_for(state="hidden", timeout=5_000)
        assert not chapters.first.is_visible(), f"chapter list stays open at {width} px"

        # the page's outline: "On this page" opens it, Escape closes it
        outline = secondary.locator("nav.page-toc a.nav-link")
        the_visible(page, ".secondary-toggle", "On this page", viewport).click()
        secondary.locator("nav.page-toc").wait_for(state="visible", timeout=5_000)
        assert secondary.evaluate("d => d.open"), (
            f"'On this page' opened no dialog at {width} px"
        )
        sections = [a.inner_text().strip() for a in outline.all() if on_screen(page, a)]
        assert any(s.endswith("The recurrence") for s in sections), (
            f"the page outline is not on screen at {width} px: {sections}"
        )
        page.keyboard.press("Escape")
        secondary.wait_for(state="hidden", timeout=5_000)
        assert not outline.first.is_visible(), f"outline stays open at {width} px"

        # and again: each button opens its dialog as often as it is pressed
        the_visible(page, ".primary-toggle", "☰", viewport).click()
        primary.locator("nav.bd-links").wait_for(state="visible", timeout=5_000)
        page.keyboard.press("Escape")
        primary.wait_for(state="hidden", timeout=5_000)
        assert page.errors == [], f"script errors at {width} px: {page.errors}"
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1400px", "390px"])
@pytest.mark.parametrize("path", CHAPTERS)
def test_nothing_is_cut(browser, base_url, path, viewport):
    if viewport == PHONE:
        context, page = narrow_page(browser, viewport)
    else:
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
    try:
        page.goto(f"{base_url}/{path}", wait_until="networkidle")
        page.evaluate(
            "document.querySelectorAll('img').forEach(i => i.loading = 'eager')"
        )
        page.wait_for_function(
            "[...document.images].every(i => i.complete)", timeout=20_000
        )
        page.evaluate(UNFOLD)
        typeset(page)
        page.evaluate("MathJax.startup.promise.then(() => document.fonts.ready)")
        cut = page.evaluate(MEASURE, viewport == PHONE)  # equations scroll on a phone
        assert cut == [], f"cut at {viewport['width']} px on {path}:\n  " + "\n  ".join(
            cut
        )
    finally:
        context.close()


@pytest.mark.parametrize("path", CHAPTERS[:1])
def test_a_tap_enlarges_a_figure_on_a_phone(browser, base_url, path):
    context, page = narrow_page(browser, PHONE)
    try:
        page.goto(f"{base_url}/{path}", wait_until="networkidle")
        figure = page.locator("article div.cell_output img").first
        figure.scroll_into_view_if_needed()
        natural = figure.evaluate("i => i.naturalWidth")
        assert figure.bounding_box()["width"] < natural, "the figure is not scaled"
        figure.tap()
        dialog = page.locator("dialog.figure-zoom")
        dialog.wait_for(state="visible", timeout=5_000)
        shown = dialog.locator("img").bounding_box()["width"]
        assert shown == pytest.approx(natural, abs=1), (
            f"the enlarged figure is {shown} px wide, not its natural {natural} px"
        )
        dialog.locator("button.figure-zoom-close").tap()
        dialog.wait_for(state="hidden", timeout=5_000)
    finally:
        context.close()
