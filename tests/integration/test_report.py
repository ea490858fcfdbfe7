"""build/report.html (``course_utils.report``, written by `make course`) opens offline in headless
Chromium: the course table has a row for every stage, every embedded figure loads, nothing is
requested from the network, and no script error. Runs after the notebooks (their records and
figures must exist); it writes the report itself, as `make course` does."""
from __future__ import annotations

import pytest
from test_slides import CHROMIUM_ARGS, Watch, _chromium, sync_playwright  # the slides test's browser helpers

from course_utils import paths, report

CHECKS = """() => ({
  rows: document.querySelectorAll('table')[0].querySelectorAll('tr').length - 1,
  stages: [...document.querySelectorAll('table')[0].querySelectorAll('tr td:first-child')].map(td => td.textContent),
  imgs: document.querySelectorAll('img').length,
  broken: [...document.querySelectorAll('img')].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
})"""


def test_course_report_opens_offline_with_every_stage_and_figure():
    exe = _chromium()
    target = report.write_report()
    assert target == paths.build_dir() / "report.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        watch = Watch(page, None)
        page.goto(target.resolve().as_uri(), wait_until="load")
        r = page.evaluate(CHECKS)
        page.screenshot(path=str(paths.build_dir() / "report.png"))
        browser.close()
    assert not watch.problems, watch.problems
    assert not r["broken"], f"figures that did not load: {r['broken']}"
    want = {s[0] for s in report.SOURCES} | {"RAG + SFT (trained to read)", "RAG alone (base model + notes)"}
    missing = want - set(r["stages"])
    assert not missing, f"stages missing from the report's table: {sorted(missing)}"
    assert r["imgs"] >= 10, f"only {r['imgs']} figures in the report"


@pytest.mark.parametrize("lesson", ["07_ppo"])
def test_a_missing_record_is_an_error_naming_the_notebook(lesson, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    with pytest.raises(report.results.ResultsError, match=f"notebooks/{lesson}.ipynb"):
        report.course_table(lessons=[lesson])
