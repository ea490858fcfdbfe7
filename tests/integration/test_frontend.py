"""The learner's front end: JupyterLab in headless Chromium runs lesson 00, its widgets render and
answer, no cell shows a traceback, and RISE (Alt+R) shows the notebook as a reveal.js slideshow.

nbval proves the kernels run; this checks what a learner sees. JupyterLab listens on 127.0.0.1 only
and serves a temporary copy of notebooks/ (autosave writes outputs into what it serves, and the
committed notebooks stay without outputs). Its kernels run the tiny profile offline, behind the
network guard, and write their records and figures into a temporary build folder; the page may
request nothing but 127.0.0.1. Screenshots and the server log go to build/frontend/.
Without Chromium or playwright it skips with the reason, unless CI is set (as test_slides.py does).
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

import pytest

from course_utils import paths
from course_utils.slides import pdf as bs

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # a dev dependency: without it the tests skip (fail where CI is set), see _chromium
    sync_playwright = PlaywrightTimeout = None

LESSON = "00_setup.ipynb"
OUT = paths.build_dir() / "frontend"
TOKEN = secrets.token_hex(16)
RUN_ALL_TIMEOUT_MS = 240_000  # lesson 00 runs in about 20 s; a base model missing from the cache takes minutes


# Learner settings for the test: every cell in the DOM (so the page can be checked), no news pop-up.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}


# No request may leave the machine (the notebooks' RISE theme is "white": local fonts only).
def _unexpected(outbound: list[str]) -> list[str]:
    return list(outbound)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def _chromium() -> str:
    """The Chromium binary test_slides.py uses; skip (fail under CI) without it or playwright."""
    exe = bs.find_chromium()
    if not exe:
        _skip_or_fail("no Chromium found: install Debian's chromium (bash scripts/test_deps.sh does, as root) "
                      "or set COURSE_CHROMIUM to a Chrome/Chromium binary")
    if sync_playwright is None:
        _skip_or_fail("the playwright package is missing: pip install -e '.[dev]'")
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Loopback only, and never through a proxy.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _server_env(tmp: Path) -> dict[str, str]:
    """The server's (and so the kernels') environment: offline, guarded, tiny, private Jupyter dirs."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # a learner's kernel draws figures inline (make lab sets no backend)
    guard = paths.REPO_ROOT / "course_utils" / "_guard"
    env.update(
        COURSE_PROFILE="tiny", COURSE_NETWORK_GUARD="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYDEVD_DISABLE_FILE_VALIDATION="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(paths.REPO_ROOT), str(guard), env.get("PYTHONPATH")])),
        COURSE_CACHE_DIR=str(paths.cache_dir()),      # the cached base model
        COURSE_BUILD_DIR=str(tmp / "build"),          # the lesson's record and figures stay out of build/
        JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), IPYTHONDIR=str(tmp / "ipython"),
    )
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 over a temporary copy of notebooks/; yields its base URL."""
    _chromium()
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "notebooks"
    shutil.copytree(paths.NOTEBOOKS_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name, values in LAB_SETTINGS.items():
        (tmp / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "settings" / name).write_text(json.dumps(values))
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / "jupyterlab.log"
    port = _free_port()
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
           f"--IdentityProvider.token={TOKEN}", "--ServerApp.terminals_enabled=False",
           "--ServerApp.allow_root=True", "--LabApp.extension_manager=readonly",  # no PyPI look-ups
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, env=_server_env(tmp), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_until_up(proc, f"{base}/api/status?token={TOKEN}", log_path)
        yield base
    finally:
        _shut_down(proc, base)


def _wait_until_up(proc: subprocess.Popen, url: str, log_path: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {proc.returncode}; its log ({log_path}) ends:\n"
                        + log_path.read_text()[-3000:])
        try:
            with _http.open(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer {url} within {timeout_s:.0f} s; see {log_path}")


def _shut_down(proc: subprocess.Popen, base: str) -> None:
    """Ask the server to stop (it shuts its kernels down), then terminate, then kill."""
    try:
        req = urllib.request.Request(f"{base}/api/shutdown", method="POST", data=b"",
                                     headers={"Authorization": f"token {TOKEN}"})
        _http.open(req, timeout=10).close()
    except OSError:
        pass
    for stop in (None, proc.terminate, proc.kill):
        if stop:
            stop()
        try:
            proc.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def page(lab):
    """One headless Chromium page; any request that is not to 127.0.0.1 is aborted and recorded in
    ``page.outbound``; uncaught page errors go to ``page.errors``."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=[*bs.CHROMIUM_ARGS, "--no-proxy-server"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.outbound = []
        context.route(re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/]|data:|blob:|about:)"),
                      lambda route: (context.outbound.append(route.request.url), route.abort()))
        pg = context.new_page()
        pg.errors, pg.outbound = [], context.outbound
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        yield pg
        browser.close()


# The status bar names the kernel and says Idle. (The toolbar's indicator says idle before a kernel
# exists, "No Kernel | Initializing"; a Run All then races the kernel's start and runs one cell.)
KERNEL_IDLE = """() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
  .some(e => /^(?!No Kernel).+ \\| Idle$/.test(e.textContent.trim()))"""

# True once the kernel is idle and every code cell has run, or a cell showed a traceback.
RUN_FINISHED = """() => {
  const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  if (!indicator || indicator.dataset.status !== 'idle') return false;
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  const ran = prompts.length > 0 && prompts.every(p => /^\\[\\d+\\]:?$/.test(p.textContent.trim()));
  const failed = [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')]
    .some(o => o.textContent.includes('Traceback'));
  return ran || failed;
}"""

PROMPTS = """() => [document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')?.dataset.status,
  [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim()).join(' ')]"""

PAGE_STATE = """() => ({
  notRun: [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
    .map((c, i) => [i, c.querySelector('.jp-InputPrompt').textContent.trim()])
    .filter(([i, p]) => !/^\\[\\d+\\]:?$/.test(p)),
  tracebacks: [...document.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map(o => o.textContent).filter(t => t.includes('Traceback')).map(t => t.slice(-600)),
  widgetErrors: [...document.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent)
    .filter(t => t.includes('Loading widget') || t.includes('Error displaying widget')),
  images: [...document.querySelectorAll('.jp-OutputArea-output img')].filter(i => i.naturalWidth > 0).length,
})"""


def _wait_for_run(page) -> None:
    """Wait for RUN_FINISHED; on a timeout, fail with the prompts, the kernel status and a screenshot."""
    try:
        page.wait_for_function(RUN_FINISHED, timeout=RUN_ALL_TIMEOUT_MS, polling=500)
    except PlaywrightTimeout:
        page.screenshot(path=str(OUT / "00_setup_timeout.png"))
        status, prompts = page.evaluate(PROMPTS)
        pytest.fail(f"Run All did not finish in {RUN_ALL_TIMEOUT_MS / 1000:.0f} s: kernel {status}, prompts {prompts} "
                    f"(screenshot {OUT / '00_setup_timeout.png'}, server log {OUT / 'jupyterlab.log'})")


def test_lesson_runs_in_jupyterlab_with_live_widgets(lab, page):
    """Run > Run All Cells: every cell runs, nothing shows a traceback, the widget renders and answers."""
    page.goto(f"{lab}/lab/tree/{LESSON}?reset&token={TOKEN}", wait_until="load")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    page.locator(".jp-Notebook .jp-Cell").first.click()  # the notebook must be the active widget
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item[data-command='runmenu:run-all']").click()
    _wait_for_run(page)

    interact = page.locator(".jp-OutputArea-output .widget-interact").first
    interact.wait_for(state="visible", timeout=20_000)
    state = page.evaluate(PAGE_STATE)
    assert not state["tracebacks"], "cells showed a traceback:\n" + "\n---\n".join(state["tracebacks"])
    assert not state["notRun"], f"code cells without an execution count (cell index, prompt): {state['notRun']}"
    assert not state["widgetErrors"], f"widgets did not render: {state['widgetErrors']}"
    assert state["images"] >= 2, f"expected the lesson's figures inline, saw {state['images']} images"
    assert interact.locator(".widget-dropdown select").count() == 2
    assert interact.locator(".widget-slider").count() == 2

    # The widget is live: choosing another model re-runs show_estimate in the kernel.
    interact.locator(".widget-dropdown select").first.select_option("SmolLM2-135M")
    interact.locator(".widget-output", has_text="SmolLM2-135M, qlora").wait_for(timeout=20_000)
    interact.scroll_into_view_if_needed()
    page.screenshot(path=str(OUT / "00_setup_widgets.png"))
    assert not page.errors, f"errors in the page: {page.errors}"
    assert not _unexpected(page.outbound), f"requests leaving the machine: {page.outbound}"


def test_rise_shows_the_notebook_as_a_slideshow(lab, page):
    """Alt+R in the notebook opens RISE's reveal.js slideshow; full window, the arrow leads to the title."""
    if "/lab/tree/" not in page.url:
        page.goto(f"{lab}/lab/tree/{LESSON}?reset&token={TOKEN}", wait_until="load")
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")  # command mode: Alt+R is bound on a focused notebook
    page.keyboard.press("Alt+r")
    iframe = page.locator("iframe[src*='/rise/']")
    page.frame_locator("iframe[src*='/rise/']").locator(".reveal .slides section.present").first.wait_for(
        state="visible", timeout=60_000)

    page.goto(urljoin(lab, iframe.get_attribute("src")), wait_until="load")  # /rise/00_setup.ipynb
    page.locator(".reveal .slides section.present").first.wait_for(state="visible", timeout=60_000)
    cells = json.loads((paths.NOTEBOOKS_DIR / LESSON).read_text())["cells"]
    slides = sum(c["metadata"].get("slideshow", {}).get("slide_type") == "slide" for c in cells)
    assert page.locator(".reveal .slides > section").count() == slides, "one slide per 'slide' cell of the lesson"
    # The Colab set-up cell is skipped: the slideshow opens on the lesson's title.
    title = page.locator(".reveal .slides section.present h1", has_text="00 · Setup")
    title.wait_for(state="visible")
    title.hover(trial=True)  # waits until it stands still: the slide transition is over
    page.screenshot(path=str(OUT / "00_setup_rise.png"))
    assert not page.errors, f"errors in the page: {page.errors}"
    assert not _unexpected(page.outbound), f"requests leaving the machine: {page.outbound}"
