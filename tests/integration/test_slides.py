"""The instructor decks build and render in headless Chromium, offline.

Runs after the notebooks (make test runs tests/integration last), so build/figures and build/results
exist. Builds every deck (HTML + PDF) into build/slides/, then opens each deck in Debian's
Chromium through playwright and fails on: a console error or page error, an image that did not
load, math that KaTeX did not typeset (or whose CSS/fonts did not load), a failed request, or any
request leaving the machine (only file:// and 127.0.0.1 are allowed). It saves a screenshot of the
title slide and of one figure slide per deck in build/slides/screenshots/.
Without Chromium (a laptop with no Debian packages) it skips with the reason, unless CI is set.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from urllib.parse import urlparse

import pytest

from course_utils import paths
from course_utils.slides import BuildError, build, deck_files
from course_utils.slides.assets import node_modules
from course_utils.slides.pdf import CHROMIUM_ARGS, find_chromium

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # a dev dependency: without it the tests skip (fail where CI is set), see _chromium
    sync_playwright = None

OUT = paths.build_dir() / "slides"
SHOTS = OUT / "screenshots"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _chromium() -> str:
    exe = find_chromium()
    if not exe:
        _skip_or_fail("no Chromium found: install Debian's chromium (make setup does, as root) "
                      "or set COURSE_CHROMIUM to a Chrome/Chromium binary")
    if sync_playwright is None:
        _skip_or_fail("the playwright package is missing: pip install -e '.[dev]'")
    return exe


@pytest.fixture(scope="module")
def built() -> dict:
    if not shutil.which("node"):
        _skip_or_fail("Node.js not installed: the slide build needs it (make setup installs it where it can)")
    try:
        node_modules()
    except BuildError as e:
        _skip_or_fail(str(e))
    _chromium()
    return build(OUT, pdf="require")


@pytest.fixture(scope="module")
def server(built):
    """A local web server over build/slides on 127.0.0.1 (decks must work served, not only from file://)."""
    handler = functools.partial(_QuietHandler, directory=str(OUT))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser(built):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """Everything a page did that the test forbids: errors, failed or outbound requests."""

    def __init__(self, page, base: str | None):
        self.problems: list[str] = []
        self.base = base
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        page.on("request", self._request)
        page.route(re.compile(r"^(https?|wss?|ftp)://"), self._route)

    def _allowed(self, url: str) -> bool:
        u = urlparse(url)
        return u.scheme in ("file", "data", "about", "blob") or (u.scheme == "http" and u.hostname == "127.0.0.1")

    def _request(self, req) -> None:
        if not self._allowed(req.url):
            self.problems.append(f"request leaving the machine: {req.url}")

    def _route(self, route) -> None:
        if self._allowed(route.request.url):
            route.continue_()
        else:
            route.abort()


def _open(page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
    page.evaluate("document.fonts.ready")


def _show(page, index: int) -> None:
    page.evaluate(f"Reveal.configure({{transition: 'none'}}); Reveal.slide({index})")
    page.wait_for_function(f"Reveal.getIndices().h === {index}")
    page.evaluate("document.fonts.ready")


CHECKS = """() => {
  const imgs = [...document.querySelectorAll('img')];
  const katex = [...document.querySelectorAll('.katex')];
  return {
    slides: Reveal.getTotalSlides(),
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    katex: katex.length,
    katexErrors: document.querySelectorAll('.katex-error').length,
    katexFont: katex.length ? getComputedStyle(katex[0]).fontFamily : 'KaTeX_Main (no math)',
    notes: document.querySelectorAll('aside.notes').length,
    slideNumber: !!document.querySelector('.slide-number'),
  };
}"""


# How far slide i's content reaches past the slide's bottom and right edges, in screen pixels.
OVERFLOW = """(i) => {
  Reveal.configure({transition: 'none'}); Reveal.slide(i);
  const box = document.querySelector('.reveal .slides').getBoundingClientRect();
  const s = Reveal.getCurrentSlide();
  let bottom = -1e9, right = -1e9;
  for (const el of s.querySelectorAll(':scope > :not(aside)')) {
    const r = el.getBoundingClientRect();
    bottom = Math.max(bottom, r.bottom - box.bottom); right = Math.max(right, r.right - box.right);
  }
  return {bottom, right};
}"""


def test_every_deck_has_html_and_a_pdf(built):
    assert [d["deck"] for d in built["decks"]] == [p.stem for p in deck_files()]
    assert (OUT / "index.html").exists()
    for d in built["decks"]:
        pdf = (OUT / f"{d['deck']}.pdf").read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
        assert pdf.startswith(b"%PDF") and pages == d["slides"], \
            f"{d['deck']}.pdf has {pages} pages for {d['slides']} slides"


def test_decks_render_offline_in_chromium(built, browser):
    """Each deck from file://: loads clean, images and math render, screenshots saved."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    failures = []
    for d in built["decks"]:
        watch = Watch(page, None)
        _open(page, (OUT / d["html"]).resolve().as_uri())
        page.evaluate("document.fonts.load('20px KaTeX_Main')")
        r = page.evaluate(CHECKS)
        where = d["deck"]
        if r["slides"] != d["slides"]:
            failures.append(f"{where}: {r['slides']} slides shown, {d['slides']} built")
        if r["broken"]:
            failures.append(f"{where}: images that did not load: {r['broken']}")
        if r["katexErrors"] or r["katex"] != d["math"]:
            failures.append(f"{where}: {r['katex']} typeset formulas of {d['math']}, {r['katexErrors']} KaTeX errors")
        if "KaTeX_Main" not in r["katexFont"]:
            failures.append(f"{where}: KaTeX's CSS did not apply (font {r['katexFont']!r})")
        if d["math"] and not page.evaluate("document.fonts.check('20px KaTeX_Main')"):
            failures.append(f"{where}: KaTeX's fonts did not load")
        if not r["slideNumber"] or r["notes"] < d["slides"]:
            failures.append(f"{where}: slide numbers {r['slideNumber']}, notes on {r['notes']}/{d['slides']} slides")
        for i in range(d["slides"]):
            over = page.evaluate(OVERFLOW, i)
            if over["bottom"] > 4 or over["right"] > 4:
                failures.append(f"{where}: slide {i + 1} overflows the 1280x720 slide by "
                                f"{over['bottom']:.0f} px down, {over['right']:.0f} px right")
        _show(page, 0)
        page.screenshot(path=str(SHOTS / f"{where}_title.png"))
        shown = (d["figure_slides"] or d["pending_slides"] or [1])[0]
        _show(page, shown)
        if d["figure_slides"]:
            box = page.locator("section.present figure.course-figure img").first.bounding_box()
            if not box or box["width"] < 200 or box["height"] < 100:
                failures.append(f"{where}: the figure on slide {shown + 1} is not visible ({box})")
        page.screenshot(path=str(SHOTS / f"{where}_figure.png"))
        failures += [f"{where}: {p}" for p in watch.problems]
        page.close()
        page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.close()
    assert not failures, "\n".join(failures)


def test_decks_work_from_a_local_server_with_speaker_view(built, browser, server):
    """The index links every deck and PDF; a deck served over http works, and its speaker view opens."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    watch = Watch(page, server)
    page.goto(f"{server}/index.html", wait_until="load")
    links = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href'))")
    for d in built["decks"]:
        assert d["html"] in links and f"{d['deck']}.pdf" in links, f"index.html does not link {d['deck']}"
    deck = built["decks"][-1]
    _open(page, f"{server}/{deck['html']}")
    r = page.evaluate(CHECKS)
    assert r["slides"] == deck["slides"] and not r["broken"] and not r["katexErrors"]
    with page.expect_popup() as popup:
        page.keyboard.press("s")
    speaker = popup.value
    speaker.wait_for_load_state("load")
    speaker.wait_for_function("document.querySelector('.speaker-controls-notes') !== null", timeout=10_000)
    speaker.close()
    assert not watch.problems, "\n".join(watch.problems)
    page.close()
