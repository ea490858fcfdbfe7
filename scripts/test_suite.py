"""`make test`: every step of the test suite, timed, with the notebooks in parallel lanes.

Steps: set-up (the only one that may use the network; the Makefile runs it first and passes
its seconds in), ruff, the base model, the unit tests, lesson 04's LoRA rank sweep (trained fresh
before the notebooks: it does not fit in the lesson's time, course_utils.lora_sweep),
every notebook under nbval (in ``--jobs`` lanes that share the cores out, one torch thread each
on two cores: the thread count does not change a figure, ``course_utils.seed``), then the capstone,
which reads every other lesson's record, beside the stand-in Hub pass, which shares nothing with it,
and last the claims and integration tests. A failed step does not stop the later ones (one report for everything) but
makes the exit status non-zero. The seconds of each step go to ``build/bench/suite.json`` and
are printed against the budget in ``tests/budget.toml``.

    python scripts/test_suite.py [--jobs N] [--skip STEP ...] [--setup-seconds S]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

from course_utils import seed

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("VENV", ROOT / ".venv"))
PY = str(VENV / "bin" / "python")
BUDGET = ROOT / "tests" / "budget.toml"
NBVAL = ["--nbval-lax", "--nbval-cell-timeout=900", "-p", "nbval_ipc"]


def load_budget() -> dict:
    """The limits and the per-notebook seconds of ``tests/budget.toml``."""
    return tomllib.loads(BUDGET.read_text())


#: Lessons that read what an earlier one caches run in that one's lane, after it: 04 caches the LoRA
#: run 05 reads; 07 caches the PPO sweep 08 reads (03's SFT model and 06's reward model are read by
#: 04-08 too, but each lane reaches its readers after 03 has saved it). In another lane a reader
#: would build the same thing again, under the cache's lock: the same figures, twice the time.
TOGETHER = (("03", "04", "05"), ("06", "07", "08"))
#: Lessons that read every other lesson's record (the capstone's course table) run alone, after the lanes.
AFTER_ALL = ("09",)


def lane_groups(notebooks: list[Path]) -> dict[str, list[Path]]:
    """The notebooks that must share a lane (:data:`TOGETHER`), and every other one alone."""
    groups: dict[str, list[Path]] = {}
    for nb in notebooks:
        key = next((g[0] for g in TOGETHER if nb.stem[:2] in g), nb.stem)
        groups.setdefault(key, []).append(nb)
    return groups


def lanes(notebooks: list[Path], seconds: dict[str, float], jobs: int) -> list[list[Path]]:
    """Split the notebooks into ``jobs`` lanes of about equal expected time: the groups of
    :data:`TOGETHER` and the other notebooks, longest first into the least loaded lane; each lane
    then runs its notebooks in lesson order."""
    groups = lane_groups(notebooks)

    def cost(group: list[Path]) -> float:
        return sum(seconds.get(nb.stem, 180) for nb in group)

    load = [0.0] * jobs
    out: list[list[Path]] = [[] for _ in range(jobs)]
    for group in sorted(groups.values(), key=lambda g: -cost(g)):
        i = load.index(min(load))
        out[i].extend(group)
        load[i] += cost(group)
    return [sorted(lane) for lane in out if lane]


def _stream(proc: subprocess.Popen, prefix: str) -> None:
    for line in proc.stdout:
        sys.stdout.write(prefix + line)
        sys.stdout.flush()


def run(cmds: list[list[str]], env: dict | None = None) -> bool:
    """Run ``cmds`` side by side in the repository root, their output prefixed by lane number
    when there is more than one; True if all succeeded."""
    procs = []
    env = dict(os.environ if env is None else env)
    if len(cmds) > 1 and "COURSE_TORCH_THREADS" not in os.environ:  # the cores shared out between the lanes
        env["COURSE_TORCH_THREADS"] = str(seed.threads_per_job(len(cmds)))
    # a single step keeps the default (every core), or shares them out itself (hub_smoke --jobs)
    for cmd in cmds:
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, bufsize=1))
        if len(cmds) > 1:
            time.sleep(3)  # staggered: the lanes' first imports do not all land at once
    threads = [threading.Thread(target=_stream, args=(p, f"[lane {i + 1}] " if len(cmds) > 1 else ""))
               for i, p in enumerate(procs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return all(p.wait() == 0 for p in procs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=min(4, seed.available_cores()),
                    help="notebook lanes (default: the number of cores, at most 4)")
    ap.add_argument("--skip", nargs="*", default=[], help="steps to leave out (for a local run)")
    ap.add_argument("--setup-seconds", type=float, help="how long the set-up the Makefile ran took")
    args = ap.parse_args(argv)
    budget = load_budget()
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT / "scripts")) if p)}
    pytest = [PY, "-m", "pytest", "-q", "-ra"]
    steps = [
        ("ruff", [[str(VENV / "bin" / "ruff"), "check", "."]]),
        ("base model", [[PY, "-m", "course_utils.models"]]),
        ("unit tests", [pytest + ["tests/unit"]]),
        # lesson 04's rank sweep at LoRA's own budget: trained fresh here, read by notebook 04 (issue 13)
        ("LoRA rank sweep", [[PY, "-m", "course_utils.lora_sweep", "--rebuild"]]),
        ("notebooks", [pytest + NBVAL + [str(nb.relative_to(ROOT)) for nb in lane]
                       for lane in lanes([nb for nb in notebooks if nb.stem[:2] not in AFTER_ALL],
                                         budget["notebook_seconds"], args.jobs)]),
        # the capstone reads the other lessons' models; the stand-in Hub pass shares nothing with it, so the
        # two run side by side on one thread each (the pass's two dtypes share out what is left)
        ("notebooks after all and stand-in Hub pass",
         [pytest + NBVAL + [str(nb.relative_to(ROOT)) for nb in notebooks if nb.stem[:2] in AFTER_ALL],
          [PY, "scripts/hub_smoke.py", "--jobs", str(min(2, args.jobs))]]),
        ("claims and integration", [pytest + ["tests/claims", "tests/integration"]]),
    ]
    unknown = set(args.skip) - {name for name, _ in steps}
    if unknown:
        ap.error(f"unknown step(s) {sorted(unknown)}; steps: {', '.join(name for name, _ in steps)}")
    shutil.rmtree(ROOT / "build" / "results", ignore_errors=True)  # every claim reads a record this run wrote
    rows, failed = [], []
    t_start = time.time() - (args.setup_seconds or 0)
    if args.setup_seconds is not None:
        rows.append({"step": "setup", "seconds": round(args.setup_seconds, 1), "ok": True})
    for name, cmds in steps:
        if name in args.skip:
            continue
        print(f"==> {name}" + (f" ({len(cmds)} lanes: " + " | ".join(
            " ".join(Path(c).stem for c in cmd if c.endswith(".ipynb")) for cmd in cmds) + ")"
            if len(cmds) > 1 else ""), flush=True)
        t = time.time()
        ok = run(cmds, env)
        rows.append({"step": name, "seconds": round(time.time() - t, 1), "ok": ok})
        if not ok:
            failed.append(name)
    total = time.time() - t_start
    limit = budget["limits"]["suite_seconds"]
    print(f"\n{'step':<26}{'seconds':>9}")
    for r in rows:
        print(f"{r['step']:<26}{r['seconds']:>9.0f}  {'ok' if r['ok'] else 'FAILED'}")
    flag = "within" if total <= limit else "OVER"
    print(f"{'whole suite':<26}{total:>9.0f}  ({total / 60:.1f} min; budget {limit / 60:.0f} min: {flag})")
    out = ROOT / "build" / "bench" / "suite.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"steps": rows, "seconds": round(total, 1), "jobs": args.jobs, "skipped": args.skip,
                               "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"), "budget_seconds": limit},
                              indent=2) + "\n")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
