"""Where things live: the repository's data, the build outputs, and the model cache."""
from __future__ import annotations

import os
from pathlib import Path

#: The repository root (the package is installed in editable mode, so this is the checkout).
REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
#: The decks' Markdown, templates and npm packages (built by ``python -m course_utils.slides``).
SLIDES_DIR = REPO_ROOT / "slides"


def build_dir() -> Path:
    """`build/` in the checkout, or `$COURSE_BUILD_DIR`: executed notebooks, figures, results."""
    return Path(os.environ.get("COURSE_BUILD_DIR", REPO_ROOT / "build"))


def figures_dir() -> Path:
    """Figures the notebooks save for the slides."""
    return build_dir() / "figures"


def results_dir() -> Path:
    """One JSON record per notebook, read by the tests and the summary table."""
    return build_dir() / "results"


def cache_dir() -> Path:
    """Models the course builds (base model, SFT model, ...): `$COURSE_CACHE_DIR`, else
    `~/.cache/llm-course`. `make test` and `make course` point it at `build/cache`."""
    return Path(os.environ.get("COURSE_CACHE_DIR", Path.home() / ".cache" / "llm-course"))
