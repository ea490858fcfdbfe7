"""Print each notebook's execution time and peak memory (its kernel's resident memory),
and the base model's corpus size, build time and perplexity. Each notebook runs in its own
process so its peak memory is its own. Figures, not pass/fail: targets live in README.md."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_utils import paths, results  # noqa: E402


def run(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB of the process tree's largest process, return code."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.time() - t0, usage.ru_maxrss / 1024, proc.returncode


def main() -> int:
    secs, peak, rc = run([sys.executable, "-m", "course_utils.models"])
    print(f"{'base model (build or cache load)':<34} {secs:7.1f} s  {peak:8.0f} MB  {'ok' if rc == 0 else 'FAILED'}")
    try:
        m = results.load("base_model")["metrics"]
        print(f"    corpus {m['corpus_tokens']:,} tokens, {m['params']:,} params, built in {m['build_seconds']:.0f} s, "
              f"validation perplexity {m['val_perplexity']:.2f}")
    except Exception as e:  # the build failed: say so, keep benchmarking
        print(f"    (no base-model record: {e})")
    print(f"{'notebook':<34} {'seconds':>9}  {'peak MB':>8}")
    total = 0.0
    for nb in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        secs, peak, rc = run([sys.executable, "scripts/run_course.py", "--only", nb.name, "--no-html", "--no-base-model"])
        total += secs
        print(f"{nb.name:<34} {secs:9.1f}  {peak:8.0f}  {'ok' if rc == 0 else 'FAILED'}", flush=True)
    print(f"{'all notebooks':<34} {total:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
