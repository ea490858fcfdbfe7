"""Reproducible runs: one seed and one thread count for everything a lesson measures.

* The seed is ``$COURSE_SEED`` (default 0). Every lesson reads it through its profile
  (``cfg.seed``), so ``COURSE_SEED=1 make course`` repeats the whole course with another seed
  and the claims can be checked across seeds (``scripts/seed_spread.py``).
* PyTorch uses ``$COURSE_TORCH_THREADS`` CPU threads, by default every core this process may
  use: a fixed number for a given machine, never one that follows the load. On the reference
  machine one thread and two wrote the same records for every lesson (2026-12-02: every figure
  of lessons 00-04 and 06-09 bit-identical; lesson 05's three whole-tensor quantisation errors
  differ in the seventh significant digit, a sum over a million weights that the threads split),
  and ``tests/unit/test_threads.py`` checks training, greedy and sampled generation. So
  ``make test`` runs two notebooks side by side on one thread each (:func:`threads_per_job`) and
  a learner's notebook, alone, uses both cores (lesson 06: 186 s on one, 125 s on two).
  ``COURSE_TORCH_THREADS=1`` reproduces the one-thread arithmetic exactly.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def threads_per_job(jobs: int) -> int:
    """Threads for each of ``jobs`` runs side by side: the cores shared out, at least one each
    (more threads than cores would make them spin-wait on each other)."""
    return max(1, available_cores() // max(1, jobs))


def course_seed() -> int:
    """The seed of this run: ``$COURSE_SEED``, else 0."""
    raw = os.environ.get("COURSE_SEED", "0").strip() or "0"
    if not raw.isdigit():
        raise ValueError(f"COURSE_SEED must be a non-negative integer, got {raw!r} (e.g. COURSE_SEED=1)")
    return int(raw)


def cpu_threads() -> int:
    """The number of CPU threads every measured run uses: ``$COURSE_TORCH_THREADS``, else every
    available core."""
    raw = os.environ.get("COURSE_TORCH_THREADS", str(available_cores())).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"COURSE_TORCH_THREADS must be a positive integer, got {raw!r} (e.g. COURSE_TORCH_THREADS=1)")
    return int(raw)


def fix_threads() -> int:
    """Set PyTorch's CPU thread count to :func:`cpu_threads`, whatever the load; return it."""
    n = cpu_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def seed_everything(seed: int | None = None, deterministic: bool = True) -> int:
    """Seed Python, NumPy and PyTorch (default: :func:`course_seed`), fix the thread count, and
    ask PyTorch for deterministic kernels; return the seed."""
    if seed is None:
        seed = course_seed()
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    fix_threads()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what CUDA's deterministic GEMMs need
    return seed
