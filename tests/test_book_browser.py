"""The built book in a real headless browser: pages render, maths is typeset, figures load,
internal links resolve, no maths is left as raw `$` and nothing is cut off at a 1,280 px wide
window. Debian's chromium and a local MathJax come from `make browser`."""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse
from pathlib import Path

import pytest
from book_build import ARTIFACTS, CHAPTERS, ROOT

CHROMIUM = Path("/usr/bin/chromium")
MATHJAX_LOCAL = ROOT / ".cache" / "npm" / "node_modules" / "mathjax"
# Flags for a closed network: without them chromium keeps trying to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_CHAPTER = "03_training"
VIEWPORT = {"width": 1280, "height": 900}  # a laptop browser window, sidebars shown

pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def site(built_book):
    """The built HTML served on localhost (pages use relative links and fetch()-free JS)."""
    handler = functools.partial(QuietHandler, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", built_book
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail("chromium is missing: run `make browser` (Debian package chromium)")
    if not (MATHJAX_LOCAL / "es5" / "tex-mml-chtml.js").is_file():
        pytest.fail(f"MathJax 3 is missing in {MATHJAX_LOCAL}: run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, base: str, path: str):
    """Load a page with every request outside the site refused (and recorded)."""
    page = browser.new_page(viewport=VIEWPORT)
    refused: list[str] = []
    errors: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(base) or url.startswith("data:"):
            request_route.continue_()
        else:  # MathJax included: the book serves its own copy (book/_ext/local_mathjax.py)
            refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(base + path, wait_until="load")
    assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
    return page, refused, errors


def typeset_maths(page) -> dict:
    """Wait for MathJax, then count math elements and how many became typeset output.
    (Sphinx loads MathJax only on pages that have maths.)"""
    if page.locator(".math").count() == 0:
        return {"total": 0, "typeset": 0, "errors": 0}
    page.wait_for_function("() => window.MathJax && window.MathJax.startup", timeout=30_000)
    page.evaluate("() => window.MathJax.startup.promise")
    return page.evaluate(
        """() => {
            const maths = [...document.querySelectorAll('.math')];
            return {
                total: maths.length,
                typeset: maths.filter(m => m.querySelector('mjx-container')).length,
                errors: document.querySelectorAll('mjx-merror').length,
            };
        }"""
    )


def page_paths(html_root: Path) -> list[str]:
    """Every page of the book (index.html only redirects to book/intro.html)."""
    return [
        p.relative_to(html_root).as_posix() for p in sorted((html_root / "book").glob("*.html"))
    ]


def test_every_page_renders_with_typeset_maths_and_loaded_figures(site, browser):
    base, html_root = site
    paths = page_paths(html_root)
    assert len(paths) >= len(CHAPTERS) + 4  # the chapters, intro, glossary, instructors, refs
    for path in paths:
        page, refused, errors = open_page(browser, base, path)
        try:
            assert not errors, f"{path}: JavaScript errors {errors}"
            title = page.locator("main h1").first.inner_text()
            assert title.strip(), f"{path}: no visible title"
            maths = typeset_maths(page)
            assert maths["typeset"] == maths["total"], f"{path}: maths not typeset {maths}"
            assert maths["errors"] == 0, f"{path}: MathJax reported errors"
            outside = [url for url in refused if "mathjax" in url.lower()]
            assert not outside, f"{path}: MathJax fetched from outside the book: {outside}"
            images = page.eval_on_selector_all(
                "main img",
                "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth])",
            )
            broken = [src for src, complete, width in images if not (complete and width > 0)]
            assert not broken, f"{path}: figures that did not load: {broken}"
            if path.startswith("book/0"):
                assert maths["total"] > 0 or path.startswith("book/01"), f"{path}: no maths"
                assert images, f"{path}: no figures"
            if path == f"book/{SCREENSHOT_CHAPTER}.html":
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{SCREENSHOT_CHAPTER}.png"), full_page=False)
        finally:
            page.close()
    assert (ARTIFACTS / f"{SCREENSHOT_CHAPTER}.png").stat().st_size > 10_000


def test_no_internal_link_is_broken(site, browser):
    base, html_root = site
    checked: dict[str, bool] = {}
    broken: list[str] = []
    for path in page_paths(html_root):
        page, _, _ = open_page(browser, base, path)
        try:
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        finally:
            page.close()
        for href in hrefs:
            if not href.startswith(base) or href in checked:
                continue
            target, _, anchor = href.partition("#")
            file = html_root / urllib.parse.unquote(target.removeprefix(base))
            if file.is_dir():
                file = file / "index.html"
            ok = file.is_file()
            if ok and anchor:
                text = file.read_text(encoding="utf-8", errors="replace")
                ok = f'id="{urllib.parse.unquote(anchor)}"' in text
            checked[href] = ok
            if not ok:
                broken.append(f"{path} -> {href}")
    assert checked, "no internal links found"
    assert not broken, "broken internal links:\n" + "\n".join(broken)


# ------------------------------------------------------------------ layout at 1,280 px

# Every dropdown open (solutions, hidden cells), so that what they hold is checked too.
OPEN_EVERYTHING = """() => {
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    document.querySelectorAll('button.toggle-button[aria-expanded="false"]')
        .forEach(b => b.click());
}"""

# `$` in the page's text outside code: maths that MathJax did not typeset. Reports each block
# (paragraph, list item, ...) once, with its text (typeset maths shown as [math]).
STRAY_DOLLARS = """() => {
    const root = document.querySelector('main') || document.body;
    const code = 'pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight';
    const blocks = new Set();
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.nodeValue.includes('$') || n.parentElement.closest(code)) continue;
        blocks.add(n.parentElement.closest('p, li, dt, dd, td, th, h1, h2, h3, h4, h5, h6, '
            + 'figcaption, caption, div') || n.parentElement);
    }
    return [...blocks].map(block => {
        const copy = block.cloneNode(true);
        copy.querySelectorAll('mjx-container').forEach(m => m.replaceWith('[math]'));
        copy.querySelectorAll(code).forEach(c => c.replaceWith('[code]'));
        const text = copy.textContent.replace(/\\s+/g, ' ').trim();
        const at = text.indexOf('$');
        return text.slice(Math.max(0, at - 90), at + 150);
    });
}"""

# Content the reader cannot see: a box narrower than its content that clips it (overflow-x
# hidden or clip), or content reaching past the article column or the window with no
# scrollable box (overflow-x auto or scroll) inside the column to reach it by, or a scrollable
# box that does not show it scrolls: where scrollbars overlay the content (macOS, phones, this
# headless browser) they stay hidden until one scrolls, and a long line looks cut off at the
# column's edge, unless the page styles an always-visible scrollbar. MathJax's copy
# of each formula for screen readers (mjx-assistive-mml) is clipped to nothing on purpose and
# would count as content: it is taken out of the layout while measuring.
CUT_OFF = """() => {
    const unseen = document.createElement('style');
    unseen.textContent = 'mjx-assistive-mml { display: none !important; }';
    document.head.append(unseen);
    const column = document.querySelector('article.bd-article') || document.querySelector('main');
    const box = column.getBoundingClientRect();
    const right = Math.min(box.right, document.documentElement.clientWidth);
    const left = Math.max(box.left, 0);
    const scrolls = s => s === 'auto' || s === 'scroll';
    const clips = s => s === 'hidden' || s === 'clip';
    const name = e => {
        const classes = [...e.classList].slice(0, 3).map(c => '.' + c).join('');
        const text = (e.textContent || e.getAttribute('src') || '').replace(/\\s+/g, ' ').trim();
        return `<${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${classes}> `
            + JSON.stringify(text.slice(0, 70));
    };
    const found = [], past = [];
    for (const e of [column, ...column.querySelectorAll('*')]) {
        if (e.parentElement && e.parentElement.closest('mjx-container, svg')) continue;
        const style = getComputedStyle(e);
        if (style.display === 'none' || style.visibility === 'hidden') continue;
        const r = e.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        const inline = style.display === 'inline';
        if (!inline && clips(style.overflowX) && e.scrollWidth > e.clientWidth + 1) {
            found.push(`${name(e)} clips its content: ${e.scrollWidth} px of content in a `
                + `${e.clientWidth} px box (overflow-x: ${style.overflowX})`);
        }
        if (!inline && scrolls(style.overflowX) && e.scrollWidth > e.clientWidth + 1
            && getComputedStyle(e, '::-webkit-scrollbar').height === 'auto'
            && e.offsetHeight - e.clientHeight - e.clientTop < 1) {
            found.push(`${name(e)} scrolls but shows no scrollbar (overlay scrollbars appear `
                + `only while scrolling), so it looks cut off: ${e.scrollWidth} px of content `
                + `in a ${e.clientWidth} px box`);
        }
        if (e === column || past.some(p => p.contains(e))) continue;
        const extent = inline || scrolls(style.overflowX) || clips(style.overflowX)
            ? r.right : Math.max(r.right, r.left + e.clientLeft + e.scrollWidth);
        if (extent <= right + 1 && r.left >= left - 1) continue;
        let reachable = false;
        for (let a = e.parentElement; a && a !== column; a = a.parentElement) {
            const overflow = getComputedStyle(a).overflowX;
            if (scrolls(overflow)) {
                reachable = a.getBoundingClientRect().right <= right + 1;
                break;
            }
            if (clips(overflow)) break;
        }
        if (reachable) continue;
        past.push(e);
        found.push(`${name(e)} reaches ${Math.round(r.left)}-${Math.round(extent)} px `
            + `(${Math.round(extent - r.left)} px wide, box ${Math.round(r.width)} px): the `
            + `column spans ${Math.round(left)}-${Math.round(right)} px, nothing scrolls`);
    }
    const page = document.scrollingElement;
    if (page.scrollWidth > page.clientWidth + 1) {
        found.push(`the page is ${page.scrollWidth} px wide in a ${page.clientWidth} px window`);
    }
    unseen.remove();
    return found;
}"""


@pytest.fixture(scope="module")
def layout(site, browser) -> dict[str, dict[str, list[str]]]:
    """Each page at 1,280 px with every dropdown open, after MathJax: its stray `$` and its
    cut-off content. Pages with problems are screenshot into the test artifacts."""
    base, html_root = site
    found = {}
    for path in page_paths(html_root):
        page, _, _ = open_page(browser, base, path)
        try:
            page.evaluate(OPEN_EVERYTHING)
            typeset_maths(page)
            page.evaluate("() => document.fonts.ready")
            page.wait_for_timeout(300)  # the dropdowns' opening transitions
            found[path] = {
                "dollars": page.evaluate(STRAY_DOLLARS),
                "cut_off": page.evaluate(CUT_OFF),
            }
            if found[path]["dollars"] or found[path]["cut_off"]:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / f"layout-{Path(path).stem}.png"
                page.screenshot(path=str(shot), full_page=True)
        finally:
            page.close()
    return found


def report(found: dict[str, dict[str, list[str]]], kind: str) -> str:
    return "\n".join(
        f"{path}: {line}" for path, problems in found.items() for line in problems[kind]
    )


def test_no_page_shows_a_raw_dollar_outside_code(layout):
    """A `$` left in the text is maths MathJax never saw (e.g. `$$` inside a paragraph)."""
    assert len(layout) >= len(CHAPTERS)
    problems = report(layout, "dollars")
    assert not problems, f"untypeset maths (raw $) in the rendered text:\n{problems}"


def test_nothing_is_cut_off_in_a_1280px_window(layout):
    """Wide equations, printed output, tables and figures fit the column or scroll in it."""
    problems = report(layout, "cut_off")
    assert not problems, f"content cut off at {VIEWPORT['width']} px:\n{problems}"
