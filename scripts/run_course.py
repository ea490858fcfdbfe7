"""Execute notebooks headless (the tiny profile unless COURSE_PROFILE says otherwise).

Writes executed notebooks to build/notebooks/, their HTML to build/html/, each notebook's
record to build/results/ (the notebooks do that), the summary table build/results/summary.md, and
build/report.html (the course table, every lesson's headline figures and plots; course_utils.report).
`--only NAME` runs one notebook; `--no-html` skips the HTML export. Exits non-zero if any
notebook failed, after running the others.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_utils import notebook_html, paths, report, results  # noqa: E402
from course_utils.slides.parse import BuildError  # noqa: E402


def build_base_model() -> None:
    """Build (or reuse) the course's base model before the lessons need it."""
    subprocess.run([sys.executable, "-m", "course_utils.models"], check=True, cwd=ROOT)


def execute(path: Path, html: bool = True) -> float:
    """Run one notebook; save the executed copy (even a failed one) and its HTML; return seconds."""
    nb = nbformat.read(path, as_version=4)
    # Local sockets, not TCP ports: kernels started side by side (scripts/seed_spread.py) could
    # otherwise pick the same free port and one client would wait forever for its replies.
    sockets = Path(tempfile.mkdtemp(prefix="course-kernel-"))
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / "kernel"))
    client = NotebookClient(nb, km=km, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.time()
    try:
        client.execute()
    finally:
        out = paths.build_dir() / "notebooks" / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out)
        if html:
            try:
                notebook_html.write_html(nb, paths.build_dir() / "html" / path.with_suffix(".html").name)
            except BuildError as e:  # the page only: a notebook's own error must not be hidden by it
                print(f"    no HTML page for {path.name}: {e}", file=sys.stderr)
        shutil.rmtree(sockets, ignore_errors=True)
    return time.time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", help="run just this notebook (name or stem)")
    ap.add_argument("--no-html", action="store_true")
    ap.add_argument("--no-base-model", action="store_true", help="do not build the base model first")
    ap.add_argument("--no-sweep", action="store_true",
                    help="do not train lesson 04's rank sweep first (the notebook reads the cache, or trains it)")
    args = ap.parse_args()
    notebooks = sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb"))
    if args.only:
        notebooks = [p for p in notebooks if args.only in (p.name, p.stem)]
        if not notebooks:
            print(f"no notebook named {args.only!r} in notebooks/", file=sys.stderr)
            return 2
    if not args.only:  # a whole run starts from an empty build/results: no record survives from before
        shutil.rmtree(paths.results_dir(), ignore_errors=True)
    if not args.no_base_model:
        build_base_model()
    if any(p.stem == "04_lora" for p in notebooks) and not args.no_sweep:
        # lesson 04's rank sweep, too long for the lesson itself: trained fresh, read by the notebook
        subprocess.run([sys.executable, "-m", "course_utils.lora_sweep", "--rebuild"], check=True, cwd=ROOT)
    failed = []
    for path in notebooks:
        print(f"==> {path.name}", flush=True)
        try:
            seconds = execute(path, html=not args.no_html)
            print(f"    ok in {seconds:.0f}s", flush=True)
        except CellExecutionError as e:
            failed.append(path.name)
            print(f"    FAILED: {str(e).strip().splitlines()[-1]}", flush=True)
    print(results.summary().splitlines()[0], "->", paths.results_dir() / "summary.md")
    if not args.only:
        try:
            print("course report ->", report.write_report())
        except results.ResultsError as e:  # a lesson failed before recording: say so, the run already fails
            print(f"no course report: {e}", file=sys.stderr)
            failed.append("build/report.html")
    if failed:
        print("failed notebooks:", ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
