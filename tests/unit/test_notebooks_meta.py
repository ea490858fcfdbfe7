"""Committed notebooks: no outputs, normalised, listed in the manifest; README links exist."""
import json
import re
import subprocess
import sys

import pytest

from course_utils.manifest import LESSONS, REPO_SLUG
from course_utils.paths import NOTEBOOKS_DIR, REPO_ROOT

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no notebooks"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, \
                f"{path.name} cell {i} has outputs: run python scripts/sync_notebooks.py"


def test_notebooks_are_normalised():
    out = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "sync_notebooks.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_is_the_colab_setup_and_lesson_has_objectives_and_recap(path):
    cells = json.loads(path.read_text())["cells"]
    assert "colab-setup" in cells[0]["metadata"].get("tags", [])
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").lower()
    assert "objective" in text, f"{path.name}: learning objectives at the top"
    assert "recap" in text, f"{path.name}: a recap at the end"


def test_manifest_and_notebooks_agree():
    listed = {les.notebook for les in LESSONS}
    present = {p.name for p in NOTEBOOKS}
    assert present <= listed, f"notebooks missing from course_utils/manifest.py: {sorted(present - listed)}"


def test_readme_table_is_generated_and_every_link_target_exists():
    out = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "sync_readme.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    readme = (REPO_ROOT / "README.md").read_text()
    local = re.findall(r"\]\((notebooks/[^)]+\.ipynb)\)", readme)
    colab = re.findall(rf"colab\.research\.google\.com/github/{re.escape(REPO_SLUG)}/blob/main/([^)]+\.ipynb)", readme)
    assert local and colab and len(colab) == len(LESSONS)
    for target in local + colab:
        assert (REPO_ROOT / target).exists(), f"README links to {target}, which does not exist"
