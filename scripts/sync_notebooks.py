"""Normalise every notebook in notebooks/: the Colab set-up cell first, outputs stripped,
RISE slide metadata on section headings. Run after editing a notebook; a test checks that
every committed notebook is already normalised (``--check``)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_utils.manifest import REPO_URL  # noqa: E402

COLAB_CELL = f'''\
# Set-up cell: in Google Colab it installs the course, keeping Colab's own torch; elsewhere it does nothing.
USE_DRIVE_CACHE = False  # True: keep trained models on Google Drive, so a new Colab VM need not retrain them
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "--depth=1", "{REPO_URL}", "/content/course"],
                       check=True)
    subprocess.run([sys.executable, "/content/course/course_utils/colab.py", "--loaded", ",".join(sys.modules)],
                   check=True)
    sys.path.insert(0, "/content/course")
    if USE_DRIVE_CACHE:
        from google.colab import drive
        drive.mount("/content/drive")
        os.environ["COURSE_CACHE_DIR"] = "/content/drive/MyDrive/adapting-llms-cache"'''


def slide_type(cell) -> str:
    if "colab-setup" in cell.metadata.get("tags", []):
        return "skip"  # the slideshow opens on the lesson's title, not on the set-up cell
    if cell.cell_type == "markdown":
        src = cell.source.lstrip()
        if src.startswith("# ") or src.startswith("## "):
            return "slide"
        if src.startswith("### "):
            return "subslide"
    return "-"


def normalise(nb) -> None:
    first = nbformat.v4.new_code_cell(COLAB_CELL)
    first.metadata["tags"] = ["colab-setup"]
    if nb.cells and "colab-setup" in nb.cells[0].metadata.get("tags", []):
        nb.cells[0] = first
    else:
        nb.cells.insert(0, first)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
        cell.pop("id", None)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "colab": {"provenance": []},
        "accelerator": "GPU",
        # RISE's default theme (simple) @imports fonts from Google: white is the decks' theme, all local
        "rise": {"theme": "white"},
    }
    nb.nbformat, nb.nbformat_minor = 4, 4


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="fail if a notebook is not normalised")
    ap.add_argument("notebooks", nargs="*")
    args = ap.parse_args()
    files = [Path(p).resolve() for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    bad = []
    for path in files:
        text = path.read_text()
        nb = nbformat.reads(text, as_version=4)
        normalise(nb)
        new = nbformat.writes(nb) + "\n"
        if new != text:
            if args.check:
                bad.append(str(path))
            else:
                path.write_text(new)
                print(f"normalised {path.relative_to(ROOT)}")
    if bad:
        print("not normalised (run `python scripts/sync_notebooks.py`):", *bad, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
