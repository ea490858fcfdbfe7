"""The docs/ pages: the hyperparameter page is generated and current, README.md links every page,
and every relative link inside docs/ points at a file that exists."""
import importlib.util
import re
import subprocess
import sys

import pytest

from course_utils import profiles
from course_utils.manifest import LESSONS
from course_utils.paths import REPO_ROOT

DOCS = REPO_ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
SCRIPT = REPO_ROOT / "scripts" / "sync_docs.py"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _sync_docs():
    """scripts/sync_docs.py as a module (registered first: its dataclass needs sys.modules)."""
    if "sync_docs" not in sys.modules:
        spec = importlib.util.spec_from_file_location("sync_docs", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["sync_docs"] = module
        spec.loader.exec_module(module)
    return sys.modules["sync_docs"]


def test_the_four_pages_exist():
    names = {p.name for p in PAGES}
    assert {"field_map.md", "frameworks.md", "reading_list.md", "hyperparameters.md"} <= names, names


def test_hyperparameters_page_is_generated():
    out = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_check_fails_on_a_stale_page(tmp_path, monkeypatch):
    mod = _sync_docs()
    stale = tmp_path / "hyperparameters.md"
    stale.write_text(mod.render() + "a line typed by hand\n")
    monkeypatch.setattr(mod, "OUT", stale)
    assert mod.main(["--check"]) == 1
    assert mod.main([]) == 0 and mod.main(["--check"]) == 0


def test_page_follows_the_profiles():
    mod = _sync_docs()
    sections = {part[:2]: part for part in mod.render().split("\n## ")[1:]}
    for les in LESSONS:
        assert sections.get(les.number, "").startswith(f"{les.number} · {les.title}"), les.number
    for key, field in (("03", "lr"), ("04", "r"), ("07", "kl_coef"), ("08", "beta")):
        row = next(line for line in sections[key].splitlines() if f"| `{field}` |" in line)
        tiny, hub = (mod.fmt(getattr(profiles.LESSON_SIZES[key][p], field)) for p in ("tiny", "hub"))
        assert f"| `{field}` | {tiny} | {hub} |" in row, row


def test_fmt():
    fmt = _sync_docs().fmt
    assert [fmt(2e-5), fmt(5e-3), fmt(0.05), fmt(1000), fmt(3.0), fmt([1e-4, 1e-2])] == \
        ["2e-5", "5e-3", "0.05", "1,000", "3", "1e-4, 1e-2"]


def test_readme_links_every_docs_page():
    readme = (REPO_ROOT / "README.md").read_text()
    for page in PAGES:
        assert f"](docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    links = LINK.findall(page.read_text())
    assert links, f"{page.name} has no links"
    for target in links:
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address, or an anchor on the same page
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page.name} links to {target}, which does not exist"
