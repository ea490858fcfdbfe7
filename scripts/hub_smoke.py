"""The stand-in Hub pass: every notebook in the hub-smoke profile, offline, on this machine.

It writes a stand-in Hugging Face cache (``tests/standin_hub.py``: a small model with
SmolLM2-135M's configuration quirks and tokenizer, and the installed MiniLM under its Hub id)
into ``build/standin/hf-hub``, then runs every notebook with ``COURSE_PROFILE=hub-smoke``,
``HF_HUB_OFFLINE=1`` and ``COURSE_DTYPE`` set to each half-precision dtype in turn, each run
with its own build folder and model cache (``build/standin/<dtype>/``), so nothing touches the
tiny profile's records. It proves the hub path *runs* (placement, dtypes, tokenizer, trainers),
not what it learns: the stand-in's weights are random. ``build/standin/summary.md`` has the
seconds per notebook. Exits non-zero if any notebook failed (after running the others).

    python scripts/hub_smoke.py [--dtypes float16,bfloat16] [--only 05_qlora] [--jobs 2]

``--jobs 2`` runs the dtype passes side by side, each in its own process (they share nothing
but the read-only stand-in cache).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
import run_course  # noqa: E402
import standin_hub  # noqa: E402

from course_utils.seed import threads_per_job  # noqa: E402

OUT = ROOT / "build" / "standin"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtypes", default="float16,bfloat16")
    ap.add_argument("--only", help="run just these notebooks (names, stems or lesson numbers, comma-separated)")
    ap.add_argument("--jobs", type=int, default=1, help="dtype passes run side by side")
    ap.add_argument("--rows-to", help=argparse.SUPPRESS)  # a child pass: write its rows here, no summary
    args = ap.parse_args(argv)
    cache = OUT / "hf-hub"
    t0 = time.time()
    if not args.rows_to:
        standin_hub.write_all(cache)
        print(f"stand-in Hub cache in {cache} ({time.time() - t0:.0f} s)", flush=True)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        wanted = args.only.split(",")
        notebooks = [p for p in notebooks if {p.name, p.stem, p.stem[:2]} & set(wanted)]
        if not notebooks:
            raise SystemExit(f"no notebook named {args.only!r} in notebooks/ (give names, stems or lesson numbers: "
                             f"04_lora.ipynb, 04_lora or 04)")
    dtypes = args.dtypes.split(",")
    if args.jobs > 1 and len(dtypes) > 1:
        rows = run_side_by_side(dtypes, args.only, args.jobs)
        failed = [f"{n} [{d}]" for n, d, s, _ in rows if s != "ok"]
        return report(rows, failed, time.time() - t0)
    rows, failed = [], []
    for dtype in dtypes:
        build = OUT / dtype
        shutil.rmtree(build, ignore_errors=True)  # every pass from scratch: its own models, its own records
        os.environ.update(COURSE_PROFILE="hub-smoke", COURSE_DTYPE=dtype, HF_HUB_OFFLINE="1",
                          TRANSFORMERS_OFFLINE="1", HF_HUB_CACHE=str(cache), COURSE_BUILD_DIR=str(build),
                          COURSE_CACHE_DIR=str(build / "cache"))
        for nb in notebooks:
            t = time.time()
            try:
                run_course.execute(nb, html=False)
                status = "ok"
            except Exception as e:  # keep going: one report for all notebooks
                status = f"FAILED ({type(e).__name__})"
                failed.append(f"{nb.stem} [{dtype}]")
                print("".join(traceback.format_exception_only(type(e), e))[-3000:], flush=True)
            rows.append((nb.stem, dtype, status, time.time() - t))
            print(f"{nb.stem:26} {dtype:9} {status:18} {rows[-1][3]:6.0f} s", flush=True)
    if args.rows_to:
        Path(args.rows_to).write_text(json.dumps(rows))
        return 1 if failed else 0
    return report(rows, failed, time.time() - t0)


def run_side_by_side(dtypes: list[str], only: str | None, jobs: int) -> list[tuple]:
    """One child process per dtype pass, at most ``jobs`` at a time; their rows, in dtype order."""
    def one_pass(d: str) -> list[tuple]:
        out = OUT / f"rows-{d}.json"
        out.unlink(missing_ok=True)
        cmd = [sys.executable, __file__, "--dtypes", d, "--rows-to", str(out)] + (["--only", only] if only else [])
        subprocess.run(cmd, cwd=ROOT)
        if not out.exists():
            return [("(pass)", d, "FAILED (no rows)", 0.0)]
        return [tuple(r) for r in json.loads(out.read_text())]

    os.environ.setdefault("COURSE_TORCH_THREADS", str(threads_per_job(jobs)))  # the cores shared out
    with ThreadPoolExecutor(jobs) as pool:
        return [row for rows in pool.map(one_pass, dtypes) for row in rows]


def report(rows: list[tuple], failed: list[str], total: float) -> int:
    """Write ``summary.md``, print one line, return the exit status."""
    lines = ["# Stand-in Hub pass (hub-smoke profile, offline)", "",
             "| notebook | frozen dtype | result | seconds |", "|---|---|---|---:|"]
    lines += [f"| {n} | {d} | {s} | {sec:.0f} |" for n, d, s, sec in rows]
    lines += ["", f"Total: {total:.0f} s (stand-in cache included)."]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "summary.md").write_text("\n".join(lines) + "\n")
    print(f"stand-in Hub pass: {len(rows) - len(failed)}/{len(rows)} notebooks ran in {total:.0f} s; "
          f"table in {OUT / 'summary.md'}")
    if failed:
        print("failed: " + ", ".join(failed) + f"; executed copies in {OUT}/<dtype>/notebooks/", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
