"""The built book in a real headless browser: pages render, maths is typeset, figures load,
internal links resolve. Debian's chromium and a local MathJax come from `make browser`."""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.parse
from pathlib import Path

import pytest
from book_build import ARTIFACTS, CHAPTERS, ROOT

CHROMIUM = Path("/usr/bin/chromium")
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
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
    """Load a page with MathJax served locally and every other outside request refused."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    refused: list[str] = []
    errors: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(base) or url.startswith("data:"):
            request_route.continue_()
        elif url.startswith(MATHJAX_CDN):
            local = MATHJAX_LOCAL / urllib.parse.urlparse(url).path.split("mathjax@3/", 1)[1]
            if local.is_file():
                request_route.fulfill(path=str(local))
            else:
                refused.append(url)
                request_route.abort()
        else:
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
