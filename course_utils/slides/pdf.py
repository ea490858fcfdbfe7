"""One PDF per deck: headless Chromium (through playwright) prints reveal.js's ``?print-pdf`` view."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from course_utils.slides.parse import BuildError

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # a dev dependency: without it the PDFs are skipped (or refused, see print_pdfs)
    sync_playwright = None

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags that keep Chromium from calling home (updates, sync, safe browsing...) and let it run as root.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps",
                 "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                 "--metrics-recording-only", "--no-default-browser-check", "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    """$COURSE_CHROMIUM, else a Chromium/Chrome on PATH (Debian's package: /usr/bin/chromium)."""
    env = os.environ.get("COURSE_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdfs(out: Path, decks: list[dict[str, Any]], chromium: str) -> None:
    """Print each deck's ``?print-pdf`` view to <deck>.pdf, one page per slide."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for d in decks:
            url = (out / d["html"]).resolve().as_uri() + "?print-pdf"
            page.goto(url, wait_until="load")
            # reveal.js lays the print view out after it is ready: wait for one page per slide.
            page.wait_for_function(f"document.querySelectorAll('.pdf-page').length === {d['slides']}",
                                   timeout=60_000)
            page.evaluate("document.fonts.ready")
            page.pdf(path=str(out / f"{d['deck']}.pdf"), prefer_css_page_size=True, print_background=True)
        browser.close()


def print_pdfs(out: Path, decks: list[dict[str, Any]], mode: str) -> bool:
    """PDFs for ``mode`` "auto" (where Chromium and playwright are found; required when $CI is set),
    "require" or "no"; returns whether they were written."""
    if mode == "no":
        return False
    if mode == "auto" and os.environ.get("CI"):
        mode = "require"
    chromium = find_chromium()
    if chromium and sync_playwright is not None:
        write_pdfs(out, decks, chromium)
        return True
    why = ("no Chromium found (run make setup, install Debian's chromium, or set COURSE_CHROMIUM)" if not chromium
           else "the playwright package is missing (make setup, or pip install -e '.[dev]')")
    if mode == "require":
        raise BuildError(f"cannot print the PDFs: {why}")
    print(f"note: PDFs skipped: {why}", flush=True)
    return False
