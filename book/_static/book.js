// The book's few scripts (loaded on every page through _config.yml, html_js_files).
"use strict";

// Sidebar toggles on phones and tablets. Each page has two ☰ buttons (.primary-toggle:
// one in the top bar, one in the article's header) and two "On this page" buttons
// (.secondary-toggle), one of each shown at a time. pydata-sphinx-theme 0.17 opens the
// sidebar dialogs from the *first* button of each kind only (document.querySelector),
// which below 992 px is a hidden one: the visible button showed its tooltip and opened
// nothing. Every other button of a kind hands its click to the first, so that the
// theme's own code (dialog on a narrow screen, sidebar collapse on a wide one) runs.
function forwardSidebarToggles() {
  for (const kind of ["primary", "secondary"]) {
    const [handled, ...others] = document.querySelectorAll(`.${kind}-toggle`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        button.blur(); // no tooltip left standing over the open sidebar
        handled.click();
      });
    }
  }
}

// Figures on a narrow screen: a figure is scaled to the column's width (book.css), and a
// tap shows it at its natural size in a dialog that scrolls both ways. The image is
// wrapped in a link to its file, which works without this script too.
function zoomableFigures() {
  const images = document.querySelectorAll("article div.cell_output img");
  let dialog, large, view, close;

  // The dialog is made at the first tap: a page keeps no image without a source.
  function open(img) {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.className = "figure-zoom";
      dialog.setAttribute("aria-label", "Enlarged figure");
      close = document.createElement("button");
      close.type = "button";
      close.className = "figure-zoom-close";
      close.setAttribute("aria-label", "Close the enlarged figure");
      close.textContent = "×";
      view = document.createElement("div");
      view.className = "figure-zoom-view";
      large = document.createElement("img");
      view.append(large);
      dialog.append(close, view);
      document.body.append(dialog);
      close.addEventListener("click", () => dialog.close());
      // A tap on the image or around it closes the dialog too (a drag to scroll does not).
      view.addEventListener("click", () => dialog.close());
    }
    large.src = img.currentSrc || img.src;
    large.alt = img.alt;
    large.width = img.naturalWidth;
    large.height = img.naturalHeight;
    dialog.showModal();
    view.scrollTo(0, 0);
    close.focus();
  }

  const scaled = (img) => img.naturalWidth > img.getBoundingClientRect().width + 1;
  const mark = (img) => {
    const link = img.parentElement;
    const on = img.complete && scaled(img);
    link.classList.toggle("is-scaled", on);
    link.tabIndex = on ? 0 : -1;
    link.title = on ? "Tap to enlarge" : "";
  };
  const observer = new ResizeObserver((entries) => entries.forEach((e) => mark(e.target)));

  for (const img of images) {
    const link = document.createElement("a");
    link.className = "figure-zoom-link";
    link.href = img.currentSrc || img.src;
    img.replaceWith(link);
    link.append(img);
    img.addEventListener("load", () => mark(img));
    observer.observe(img);
    mark(img);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      if (scaled(img)) open(img); // else: shown at its natural size already
    });
  }
}

function whenReady(callback) {
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", callback);
  } else {
    callback();
  }
}

whenReady(forwardSidebarToggles);
whenReady(zoomableFigures);
