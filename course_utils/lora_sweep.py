"""Lesson 04's LoRA rank sweep at LoRA's own converged budget (issue 13), and variants of the
lesson's LoRA beside it (attention-only targets, DoRA), for the learning-forgetting frontier.

Each rank trains as long as the lesson's main LoRA run (at 100 steps no rank had begun to answer),
a rank below the lesson's half as long again (smaller ranks converge more slowly), at several
learning rates (multiples of the lesson's), and keeps the one that answered most validation
questions: one rate for every rank let the large ranks take steps too large for them.
That does not fit the lesson's 180 s on a CPU. So `make test` and `make course` run the sweep fresh
before the notebooks (``python -m course_utils.lora_sweep --rebuild``) and notebook 04 reads it from
the model cache; a learner who opens the notebook without it trains it there (11 runs in the tiny
profile: about 18 minutes on 2 CPU cores, two at a time). Every rank keeps the adapter of its picked
rate, so the lesson can load two of them on one base model.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from peft import LoraConfig

from course_utils import cache, data, evaluation, lora, models, profiles, sft
from course_utils import seed as seed_mod

SWEEP_FILE = "sweep.json"
HINT = "run `python -m course_utils.lora_sweep --rebuild` (make test and make course run it)"


class SweepCacheError(cache.CacheError):
    """The cached rank sweep is missing, incomplete or unreadable."""


def rank_config(r: int, profile=None) -> LoraConfig:
    """LoRA at rank ``r`` with alpha = 2r (so alpha / r is the same for every rank) on the lesson's targets."""
    cfg = (profile or profiles.get_profile(verbose=False)).lesson("04")
    return LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.0, target_modules=list(cfg.target_modules),
                      task_type="CAUSAL_LM")


ATTENTION = ["q_proj", "k_proj", "v_proj", "o_proj"]


def variant_config(name: str, profile=None) -> LoraConfig:
    """The lesson's LoRA (its r, alpha and targets) changed one way: ``"attention only"`` puts the
    adapters on q, k, v and o alone (the LoRA paper's choice), ``"DoRA"`` splits each adapted weight
    into a magnitude and a direction and trains both (Liu et al., 2024; peft's ``use_dora``)."""
    cfg = (profile or profiles.get_profile(verbose=False)).lesson("04")
    base = {"r": cfg.r, "lora_alpha": cfg.alpha, "lora_dropout": 0.0, "target_modules": list(cfg.target_modules),
            "task_type": "CAUSAL_LM"}
    changes = {"attention only": {"target_modules": ATTENTION}, "DoRA": {"use_dora": True}}
    if name not in changes:
        raise ValueError(f"unknown LoRA variant {name!r}: use one of {', '.join(changes)}")
    return LoraConfig(**{**base, **changes[name]})


def settings(profile=None) -> dict[str, Any]:
    """Everything that makes the sweep: the LoRA recipe with the sweep's steps, the ranks and the
    steps each trains, the learning rates each rank tries, the variants and the evaluation."""
    profile = profile or profiles.get_profile(verbose=False)
    cfg = profile.lesson("04")
    recipe = {**dict(sft.lora_recipe(profile)), "steps": cfg.sweep_steps}
    steps = {str(r): cfg.sweep_small_rank_steps if r < cfg.r else cfg.sweep_steps for r in cfg.sweep_ranks}
    return {"recipe": recipe, "ranks": list(cfg.sweep_ranks), "steps_by_rank": steps,
            "targets": sorted(cfg.target_modules), "alpha": "2r",
            "learning_rates": [recipe["lr"] * f for f in cfg.sweep_lr_factors], "picked_on": "validation",
            "variants": list(cfg.sweep_variants), "variant_r": cfg.r, "variant_alpha": cfg.alpha,
            "n_eval": cfg.n_eval, "n_ppl_blocks": cfg.n_ppl_blocks}


def variant_dir_name(name: str) -> str:
    """The folder of a variant's adapter: ``"attention only"`` -> ``variant-attention-only``."""
    return "variant-" + name.lower().replace(" ", "-")


def cache_path(profile=None) -> Path:
    """Where the sweep of this base model, data and settings is (or would be) cached."""
    profile = profile or profiles.get_profile(verbose=False)
    base, _ = models.load_base_model(profile)
    return cache.folder_for("lora-sweep", {"v": 3, "base": cache.fingerprint(base),
                                           "data": cache.file_hash(data.path_of("instructions", "train")),
                                           **settings(profile)})


def _required(profile) -> list[str]:
    cfg = profile.lesson("04")
    return ([SWEEP_FILE] + [f"rank{r}/adapter_model.safetensors" for r in cfg.sweep_ranks]
            + [f"{variant_dir_name(v)}/adapter_model.safetensors" for v in cfg.sweep_variants])


def _train_one(profile, s: dict[str, Any], peft_config: LoraConfig, lr: float, steps: int, out: str) -> dict[str, Any]:
    """One run at ``lr`` for ``steps``: train, save the adapter to ``out``, return its figures (test and
    validation accuracy, general-text perplexity, trainable parameters, training seconds)."""
    model, tokenizer = models.load_base_model(profile)
    recipe = {**s["recipe"], "lr": lr, "steps": steps}
    seed_mod.seed_everything(recipe["seed"])
    run = sft.train_sft(model, tokenizer, sft.sft_dataset("train"), peft_config=peft_config, **recipe)
    val = evaluation.evaluate(run.model, tokenizer, split="validation", n=s["n_eval"], batch_size=64,
                              perplexity_blocks=s["n_ppl_blocks"])
    test = evaluation.evaluate(run.model, tokenizer, n=s["n_eval"], batch_size=64)
    run.model.save_pretrained(out, safe_serialization=True)
    return {"lr": lr, "steps": steps, "trainable_params": lora.count_parameters(run.model)[0],
            "task_accuracy": test["task_accuracy"],
            "validation_accuracy": val["task_accuracy"], "general_perplexity": val["general_perplexity"],
            "train_seconds": run.train_seconds}


def pick(by_lr: dict[str, dict[str, Any]]) -> str:
    """The learning rate (a key of ``by_lr``) whose run answered most validation questions right;
    between equals, the one that forgot less (lower general-text perplexity). Test questions play
    no part: they stay held out for the figure the lesson reports."""
    return max(by_lr, key=lambda k: (by_lr[k]["validation_accuracy"], -by_lr[k]["general_perplexity"]))


def side_by_side(profile) -> int:
    """How many sweep runs train at once. On a CPU with two threads or more, two runs on half the
    threads each: a tiny model's step does not use two threads fully, so two one-thread runs finish
    a third sooner than one two-thread run after another (and give the same figures). On a GPU, one."""
    return 1 if profile.device != "cpu" else min(2, seed_mod.cpu_threads())


def _in_subprocess(job: tuple, threads: int) -> dict[str, Any]:
    """Run ``_train_one(*job)`` in a fresh Python (``python -m course_utils.lora_sweep --job``), so two
    runs can train at once whatever started this one (a script, a notebook's kernel)."""
    out = Path(job[-1])
    out.mkdir(parents=True, exist_ok=True)
    (out / "job.pkl").write_bytes(pickle.dumps(job))
    env = {**os.environ, "COURSE_TORCH_THREADS": str(threads)}
    done = subprocess.run([sys.executable, "-m", "course_utils.lora_sweep", "--job", str(out / "job.pkl")], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the sweep run in {out} failed:\n{done.stderr[-3000:]}")
    row = json.loads((out / "row.json").read_text())
    for name in ("job.pkl", "row.json"):
        (out / name).unlink()
    return row


def _longest_first(jobs: list[tuple]) -> list[tuple]:
    """The jobs in the order to start them, the longest first: more steps, then DoRA (it renormalises
    every adapted weight each step), then larger ranks. Two workers then finish together instead of
    one training the slowest run alone at the end."""
    return sorted(jobs, key=lambda job: (job[3], job[1].use_dora, job[1].r), reverse=True)


def _train(profile, folder: Path) -> None:
    s = settings(profile)
    jobs = [(f"r={r:3d}", rank_config(r, profile), lr, s["steps_by_rank"][str(r)], folder / f"rank{r}" / f"lr{lr:g}")
            for r in s["ranks"] for lr in s["learning_rates"]]
    # the variants at the lesson's own lr and steps: each changes the lesson's run one way
    jobs += [(f"r={s['variant_r']}, {v}", variant_config(v, profile), s["recipe"]["lr"], s["recipe"]["steps"],
              folder / variant_dir_name(v)) for v in s["variants"]]
    jobs = _longest_first(jobs)
    workers, threads = side_by_side(profile), None
    if workers == 1:
        rows = (_train_one(profile, s, cfg, lr, steps, str(out)) for _, cfg, lr, steps, out in jobs)
    else:
        threads = max(1, seed_mod.cpu_threads() // workers)
        pool = ThreadPoolExecutor(workers)  # each thread waits on one subprocess
        rows = (f.result() for f in [pool.submit(_in_subprocess, (profile, s, cfg, lr, steps, str(out)), threads)
                                     for _, cfg, lr, steps, out in jobs])
    done = {}  # output folder -> the run's figures
    try:
        for (label, _, lr, steps, out), row in zip(jobs, rows, strict=True):
            print(f"{label}, lr {lr:g}, {steps} steps: validation accuracy {row['validation_accuracy']:.1%}, "
                  f"task accuracy {row['task_accuracy']:.1%}, general-text perplexity {row['general_perplexity']:.1f}, "
                  f"{row['train_seconds']:.0f} s", flush=True)
            done[out] = row
    finally:
        if workers > 1:
            pool.shutdown(cancel_futures=True)
    ranks = {}
    for r in s["ranks"]:
        by_lr = {f"{lr:g}": done[folder / f"rank{r}" / f"lr{lr:g}"] for lr in s["learning_rates"]}
        best = pick(by_lr)
        for f in (folder / f"rank{r}" / f"lr{best}").iterdir():  # the picked rate's adapter is the rank's
            f.rename(folder / f"rank{r}" / f.name)
        for lr in by_lr:
            shutil.rmtree(folder / f"rank{r}" / f"lr{lr}")
        ranks[str(r)] = {**by_lr[best], "by_lr": by_lr}
    variants = {v: done[folder / variant_dir_name(v)] for v in s["variants"]}
    (folder / SWEEP_FILE).write_text(json.dumps({**s, "ranks": ranks, "variants": variants,
                                                 "side_by_side": workers,
                                                 "torch_threads": threads if workers > 1 else torch.get_num_threads()},
                                                indent=2, sort_keys=True) + "\n")


def load(profile=None, rebuild: bool = False) -> dict[str, Any]:
    """The sweep: its settings and, per rank (a string key) and per variant (its name), trainable
    parameters, task and validation accuracy, general-text perplexity and training seconds; a rank's
    row is its picked learning rate's (``lr``), and ``by_lr`` holds every rate it tried. Trained on
    first call (or with ``rebuild``) and cached."""
    profile = profile or profiles.get_profile(verbose=False)
    folder = cache_path(profile)
    if rebuild and folder.exists():
        with cache.lock(folder):
            shutil.rmtree(folder)
    s = settings(profile)
    n_runs = len(s["ranks"]) * len(s["learning_rates"]) + len(s["variants"])
    steps = sorted(set(s["steps_by_rank"].values()) | {s["recipe"]["steps"]})
    cache.get_or_build(folder, lambda tmp: _train(profile, tmp), _required(profile), HINT, log=print,
                       what=f"LoRA rank sweep ({n_runs} runs of {' or '.join(map(str, steps))} steps)",
                       error=SweepCacheError)
    try:
        return json.loads((folder / SWEEP_FILE).read_text())
    except (OSError, ValueError) as e:
        raise SweepCacheError(f"the cached rank sweep {folder} could not be read ({e}); {HINT}") from e


def adapter_dir(r: int, profile=None) -> Path:
    """The saved adapter of rank ``r``, trained at its picked learning rate (for ``PeftModel.from_pretrained``)."""
    folder = cache_path(profile) / f"rank{r}"
    if not folder.is_dir():
        raise SweepCacheError(f"no adapter of rank {r} in {folder.parent}; {HINT}")
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train (if missing) and print lesson 04's LoRA rank sweep.")
    ap.add_argument("--rebuild", action="store_true", help="train it again even if it is cached (make test does)")
    ap.add_argument("--job", help=argparse.SUPPRESS)  # one run of a sweep that trains two at once (_in_subprocess)
    args = ap.parse_args(argv)
    if args.job:
        job = pickle.loads(Path(args.job).read_bytes())  # written by this module's _in_subprocess
        (Path(job[-1]) / "row.json").write_text(json.dumps(_train_one(*job)))
        return 0
    sweep = load(rebuild=args.rebuild)
    print(f"LoRA rank sweep, alpha = 2r, the learning rate picked on validation from "
          f"{', '.join(f'{lr:g}' for lr in sweep['learning_rates'])}:")
    for r, row in sorted(sweep["ranks"].items(), key=lambda kv: int(kv[0])):
        print(f"  r={r:>3}: {row['trainable_params']:>8,} trainable, {row['steps']} steps, lr {row['lr']:g}, "
              f"task accuracy {row['task_accuracy']:.1%}, general-text perplexity {row['general_perplexity']:.1f}")
    for name, row in sweep["variants"].items():
        print(f"  r={sweep['variant_r']}, {name}: {row['trainable_params']:,} trainable, task accuracy "
              f"{row['task_accuracy']:.1%}, general-text perplexity {row['general_perplexity']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
