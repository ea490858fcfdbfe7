"""Run the lessons once per seed and tabulate every figure across seeds: the spread that each
claim's threshold is set from (issue 10: a claim must hold for every seed, not for one).

Each seed runs in its own build folder and model cache (``build/seeds/seed<N>/``; the base
model, which does not depend on the lesson seed, is linked in), so the SFT and reward models
are trained again with that seed. Seeds may run side by side (``--jobs 2``, the cores shared
out between them): PyTorch uses a fixed number of threads (``course_utils.seed``), so figures
do not depend on the load.
Writes ``build/seeds/spread.md``: one row per figure, one column per seed, then min and max; and,
where lessons 03-05 ran, the learning-forgetting frontier over seeds (issue 13): task accuracy
against general-text perplexity for full fine-tuning, LoRA at each rank and QLoRA, each point a mean
with its standard deviation, as a table in ``spread.md`` and a figure ``build/seeds/frontier.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_utils import cache, paths, plotting, results  # noqa: E402
from course_utils.seed import threads_per_job  # noqa: E402

LESSONS = ["01_pretraining", "02_transfer_learning", "03_full_finetuning", "04_lora", "05_qlora",
           "06_reward_modeling", "07_ppo", "08_dpo"]


def seed_dir(seed: int) -> Path:
    return paths.build_dir() / "seeds" / f"seed{seed}"


def run_seed(seed: int, lessons: list[str]) -> int:
    """Run ``lessons`` with ``COURSE_SEED=seed`` in the seed's own folders; return the exit code."""
    out = seed_dir(seed)
    seed_cache = cache.link_base_model(out / "cache")  # kept between runs: --only reuses earlier lessons' models
    env = {**os.environ, "COURSE_SEED": str(seed), "COURSE_BUILD_DIR": str(out), "COURSE_CACHE_DIR": str(seed_cache)}
    code = 0
    with open(out / "run.log", "w") as log:
        for stem in lessons:
            r = subprocess.run([sys.executable, "scripts/run_course.py", "--only", stem, "--no-html",
                                "--no-base-model"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            print(f"seed {seed}: {stem} {'ok' if r.returncode == 0 else 'FAILED (see ' + str(out / 'run.log') + ')'}",
                  flush=True)
            code = code or r.returncode
    return code


def spread_table(seeds: list[int]) -> str:
    """Markdown: every scalar figure of every record, per seed, with min and max."""
    rows: dict[str, dict[int, object]] = {}
    for s in seeds:
        for path in sorted((seed_dir(s) / "results").glob("*.json")):
            rec = json.loads(path.read_text())
            for k, v in results._flatten(rec["metrics"]).items():
                if not results.VOLATILE.search(k):
                    rows.setdefault(f"{path.stem} | {k}", {})[s] = v
    head = "| record | figure | " + " | ".join(f"seed {s}" for s in seeds) + " | min | max |"
    lines = ["# Figures across seeds", "", head, "|---|---|" + "---|" * (len(seeds) + 2)]
    for key, by_seed in rows.items():
        vals = [by_seed.get(s) for s in seeds]
        nums = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        lo, hi = (results._fmt(min(nums)), results._fmt(max(nums))) if nums else ("", "")
        lines.append(f"| {key} | " + " | ".join(results._fmt(v) for v in vals) + f" | {lo} | {hi} |")
    return "\n".join(lines) + "\n"


def frontier_points(seeds: list[int]) -> dict[str, list[tuple[float, float]]]:
    """(task accuracy, general-text perplexity) per seed for each method lessons 04 and 05 recorded:
    full fine-tuning, LoRA r=8 (the lesson's run), the rank sweep's ranks, QLoRA."""
    points: dict[str, list[tuple[float, float]]] = {}

    def add(label: str, node: dict) -> None:
        points.setdefault(label, []).append((node["task_accuracy"], node["general_perplexity"]))

    for s in seeds:
        for lesson in ("04_lora", "05_qlora"):
            path = seed_dir(s) / "results" / f"{lesson}.json"
            if not path.exists():
                continue
            m = json.loads(path.read_text())["metrics"]
            if lesson == "04_lora":
                add("full fine-tuning", m["full"])
                add("LoRA r=8 (lesson 04)", m["lora"])
                for r in sorted(m.get("rank_sweep", {}), key=int):
                    add(f"LoRA r={r} (sweep)", m["rank_sweep"][r])
            else:
                add("QLoRA r=8 (lesson 05)", m["qlora"])
    return points


def _mean_sd(xs: list[float]) -> tuple[float, float]:
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def frontier_table(points: dict[str, list[tuple[float, float]]]) -> str:
    """Markdown: each method's mean and standard deviation over seeds."""
    lines = ["## The learning-forgetting frontier over seeds", "",
             "| method | seeds | task accuracy (mean ± sd) | general-text perplexity (mean ± sd) |",
             "|---|---:|---:|---:|"]
    for label, pts in points.items():
        (acc, acc_sd), (ppl, ppl_sd) = _mean_sd([a for a, _ in pts]), _mean_sd([p for _, p in pts])
        lines.append(f"| {label} | {len(pts)} | {acc:.1%} ± {acc_sd:.1%} | {ppl:,.1f} ± {ppl_sd:,.1f} |")
    return "\n".join(lines) + "\n"


def plot_frontier(points: dict[str, list[tuple[float, float]]], target: Path) -> Path:
    """Accuracy (y) against forgetting (x, log scale): each method's mean with a ±1 sd cross, seeds as dots."""
    fig = plotting.frontier(points, title="Learning vs forgetting, mean ± sd over seeds")
    fig.savefig(target, dpi=120)
    plt.close(fig)
    return target


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="+", default=LESSONS, help="notebook stems")
    ap.add_argument("--jobs", type=int, default=1, help="seeds run side by side")
    ap.add_argument("--table-only", action="store_true", help="just rebuild spread.md from existing runs")
    args = ap.parse_args()
    code = 0
    if not args.table_only:
        subprocess.run([sys.executable, "-m", "course_utils.models"], cwd=ROOT, check=True)
        os.environ.setdefault("COURSE_TORCH_THREADS", str(threads_per_job(args.jobs)))  # the cores shared out
        with ThreadPoolExecutor(args.jobs) as pool:
            code = max(pool.map(lambda s: run_seed(s, args.only), args.seeds))
    table = spread_table(args.seeds)
    target = paths.build_dir() / "seeds" / "spread.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    points = frontier_points(args.seeds)
    if points:
        table += "\n" + frontier_table(points)
        print(f"-> {plot_frontier(points, target.parent / 'frontier.png')}")
    target.write_text(table)
    print(f"-> {target}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
