"""Run notebooks twice from scratch and compare their records: same code, same figures.

Each run gets its own build folder and its own model cache (the base model is copied in, so
the SFT, LoRA and reward models are trained again, not loaded); the two records of each
notebook must agree exactly, timings and memory aside. Prints every figure that differs and
exits non-zero if any does. ``make reproduce`` runs lesson 03; ``--only`` picks others, and
``--compare DIR_A DIR_B`` compares two existing results folders (e.g. of two `make test` runs).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import run_course  # noqa: E402

from course_utils import paths, results  # noqa: E402


def compare_dirs(a: Path, b: Path) -> list[str]:
    """Every difference between the records in two results folders."""
    out = []
    names = sorted({p.name for p in a.glob("*.json")} | {p.name for p in b.glob("*.json")})
    for name in names:
        if not (a / name).exists() or not (b / name).exists():
            out.append(f"{name}: only in {b if (b / name).exists() else a}")
            continue
        ra, rb = (json.loads((d / name).read_text()) for d in (a, b))
        out.extend(f"{name}: {d}" for d in results.differences(ra, rb))
    return out


def run_twice(stems: list[str]) -> list[str]:
    run_course.build_base_model()
    base_models = sorted(paths.cache_dir().glob("base-model-*"))
    work = Path(tempfile.mkdtemp(prefix="course-reproduce-"))
    dirs = []
    for i in (1, 2):
        build, cache = work / f"run{i}" / "build", work / f"run{i}" / "cache"
        cache.mkdir(parents=True)
        for m in base_models:
            shutil.copytree(m, cache / m.name)
        os.environ.update(COURSE_BUILD_DIR=str(build), COURSE_CACHE_DIR=str(cache))
        for stem in stems:
            print(f"==> run {i}: {stem}", flush=True)
            seconds = run_course.execute(paths.NOTEBOOKS_DIR / f"{stem}.ipynb", html=False)
            print(f"    ok in {seconds:.0f}s", flush=True)
        dirs.append(build / "results")
    return compare_dirs(*dirs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="+", default=["03_full_finetuning"], help="notebook stems to run twice")
    ap.add_argument("--compare", nargs=2, type=Path, metavar="DIR", help="compare two results folders instead")
    args = ap.parse_args()
    diffs = compare_dirs(*args.compare) if args.compare else run_twice(args.only)
    for d in diffs:
        print("DIFFERS", d)
    print("records agree exactly (timings and memory aside)" if not diffs else f"{len(diffs)} figure(s) differ")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
