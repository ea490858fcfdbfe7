"""`make bench`: each notebook's seconds and peak memory (its kernel's resident memory), run
alone, one after the other, against the budget in ``tests/budget.toml``; the base model's build;
and the whole test suite's seconds from the last `make test` (``build/bench/suite.json``).
Each notebook runs in its own kernel (so its peak memory is its own), timed from starting the kernel
to its last cell, as a learner waits for Run All (not the runner's own start-up, about 10 s of
imports that no notebook makes); in lesson order, in a cache
that starts with only the base model (``build/bench/cache``): each lesson trains what it teaches
and reads only what earlier lessons cached, as on a learner's first pass (a warm cache would hide a
lesson's training: a reward model or a sweep another run left there). Figures with a flag for
anything over its limit, written to ``build/bench/bench.md``; the exit status is 0 either way
(a benchmark reports, the tests decide)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import run_course  # noqa: E402
from test_suite import load_budget  # noqa: E402

from course_utils import cache, paths, results  # noqa: E402


def run(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB of the process itself (not of its kernels), return code."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.time() - t0, usage.ru_maxrss / 1024, proc.returncode


def kernel_peak_mb(lesson: str) -> float:
    """The notebook kernel's own peak resident memory, which its record carries (the kernel is a
    grandchild of this process, so ``wait4``'s figure would be ``run_course.py``'s, not its)."""
    try:
        return float(results.load(lesson).get("peak_memory_mb") or float("nan"))
    except results.ResultsError:
        return float("nan")


def cell_seconds(executed: Path) -> list[tuple[float, int, str]]:
    """Every code cell of an executed notebook as (seconds, cell index, first line), slowest
    first, from the timing nbclient records in each cell's metadata: where a lesson's time goes."""
    def at(stamp: str) -> datetime:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    cells = []
    for i, c in enumerate(nbformat.read(executed, as_version=4).cells):
        t = c.get("metadata", {}).get("execution", {})
        if c.cell_type == "code" and "iopub.execute_input" in t and "shell.execute_reply" in t:
            secs = (at(t["shell.execute_reply"]) - at(t["iopub.execute_input"])).total_seconds()
            first = next((ln for ln in c.source.splitlines() if ln.strip() and not ln.startswith("#")), "")
            cells.append((secs, i, first[:70]))
    return sorted(cells, reverse=True)


def main() -> int:
    budget = load_budget()
    limit = budget["limits"]["notebook_seconds"]
    lines = [f"# make bench ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores)", ""]

    def say(line: str = "") -> None:
        print(line, flush=True)
        lines.append(line)

    secs, peak, rc = run([sys.executable, "-m", "course_utils.models"])
    say(f"base model (build or cache load): {secs:.1f} s, peak {peak:.0f} MB, {'ok' if rc == 0 else 'FAILED'}")
    try:
        m = results.load("base_model")["metrics"]
        say(f"    corpus {m['corpus_tokens']:,} tokens, {m['params']:,} params, built in {m['build_seconds']:.0f} s, "
            f"validation perplexity {m['val_perplexity']:.2f}")
    except Exception as e:  # the build failed: say so, keep benchmarking
        say(f"    (no base-model record: {e})")
    say()
    # from here on every run (the sweep, the notebooks) uses the bench's own cache, the base model linked in
    os.environ["COURSE_CACHE_DIR"] = str(cache.fresh_with_base_model(paths.build_dir() / "bench" / "cache"))
    say(f"cache for the notebooks: {os.environ['COURSE_CACHE_DIR']} (the base model only: each lesson trains what "
        "it teaches)")
    secs, peak, rc = run([sys.executable, "-m", "course_utils.lora_sweep", "--rebuild"])
    say(f"lesson 04's LoRA rank sweep (trained before the notebooks; not in the lesson's budget): {secs:.0f} s, "
        f"peak {peak:.0f} MB, {'ok' if rc == 0 else 'FAILED'}")
    say()
    say("| notebook | seconds | peak MB | budget s | |")
    say("|---|---:|---:|---:|---|")
    total, over = 0.0, []
    slow: dict[str, tuple[float, list]] = {}
    for nb in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        t0, failed = time.time(), False
        try:
            secs = run_course.execute(nb, html=False)  # kernel start to last cell; the executed copy is kept
        except CellExecutionError as e:
            secs, failed = time.time() - t0, True
            print(f"{nb.name} failed: {str(e).strip().splitlines()[-1]}", file=sys.stderr)
        peak = kernel_peak_mb(nb.stem)
        total += secs
        flag = "FAILED" if failed else ("OVER" if secs > limit else "ok")
        if flag == "OVER":
            over.append(nb.stem)
        say(f"| {nb.stem} | {secs:.0f} | {peak:.0f} | {limit:.0f} | {flag} |")
        executed = paths.build_dir() / "notebooks" / nb.name
        if executed.exists():
            slow[nb.stem] = (secs, cell_seconds(executed))
    say(f"| all notebooks, one after the other | {total:.0f} | | | |")
    say()
    say("Where the time goes: each notebook's slowest cells (seconds, cell index, first line)")
    for stem, (secs, cells) in slow.items():
        say(f"    {stem}: {secs:.0f} s in all, {sum(c[0] for c in cells):.0f} s in its {len(cells)} code cells "
            f"(the rest: starting and stopping the kernel)")
        for c_secs, i, first in cells[:4]:
            say(f"        {c_secs:6.1f} s  [{i:2d}] {first}")
    say()
    suite = paths.build_dir() / "bench" / "suite.json"
    if suite.exists():
        s = json.loads(suite.read_text())
        flag = "within" if s["seconds"] <= s["budget_seconds"] else "OVER"
        say(f"whole `make test` (last run, finished {s['finished_at']}, {s['jobs']} lanes"
            f"{', skipped ' + ', '.join(s['skipped']) if s['skipped'] else ''}): {s['seconds'] / 60:.1f} min, "
            f"budget {s['budget_seconds'] / 60:.0f} min: {flag}")
        for r in s["steps"]:
            say(f"    {r['step']:<24} {r['seconds']:7.0f} s  {'ok' if r['ok'] else 'FAILED'}")
    else:
        say("whole `make test`: no record yet (build/bench/suite.json is written by `make test`)")
    if over:
        say(f"over the {limit:.0f} s notebook budget: {', '.join(over)}")
    out = paths.build_dir() / "bench" / "bench.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"table in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
