"""Record each notebook's key figures, so tests and the summary table can read them.

A notebook calls ``results.record("03_full_finetuning", {...})`` once or more. The first call
of a run (a kernel, a process) replaces the record whole; later calls of the same run merge
into it, so a figure a notebook no longer writes cannot survive from an older run. The record
lands in ``build/results/<notebook>.json`` with the metrics, seconds since the course package
was imported, peak memory, the profile the run actually used, its seed and thread count, the
notebook's content hash, the course version and the run's start time. :func:`check_fresh`
refuses a record that an edited notebook or another profile made.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import course_utils
from course_utils import paths, profiles

_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")
#: This run's id: records written by this process merge, a record of any other run is replaced.
RUN_ID = uuid.uuid4().hex[:12]
_PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "bitsandbytes")


class ResultsError(ValueError):
    """A missing, malformed or ill-named results record."""


def _check_name(lesson: str) -> str:
    if not isinstance(lesson, str) or not lesson or set(lesson) - _NAME_OK:
        raise ResultsError(f"record name must be lowercase letters, digits and '_' "
                           f"(like '03_full_finetuning'), got {lesson!r}")
    return lesson


def _check_metrics(metrics: Any, where: str = "metrics") -> None:
    if isinstance(metrics, Mapping):
        for k, v in metrics.items():
            if not isinstance(k, str):
                raise ResultsError(f"{where}: keys must be strings, got {k!r}")
            _check_metrics(v, f"{where}.{k}")
    elif isinstance(metrics, (list, tuple)):
        for i, v in enumerate(metrics):
            _check_metrics(v, f"{where}[{i}]")
    elif isinstance(metrics, float) and not math.isfinite(metrics):
        raise ResultsError(f"{where} is {metrics}: a metric must be a finite number")
    elif metrics is not None and not isinstance(metrics, (bool, int, float, str)):
        raise ResultsError(f"{where} has type {type(metrics).__name__}: use numbers, strings, "
                           f"lists or dicts (call float() on tensors)")


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB (the kernel's, in a notebook)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024**2 if sys.platform == "darwin" else rss / 1024


def _merge(old: dict, new: Mapping) -> dict:
    out = dict(old)
    for k, v in new.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def notebook_hash(lesson: str) -> str | None:
    """SHA-256 (first 16 hex digits) of ``notebooks/<lesson>.ipynb``'s cells, ignoring outputs
    and execution counts; None when there is no such notebook."""
    path = paths.NOTEBOOKS_DIR / f"{lesson}.ipynb"
    if not path.exists():
        return None
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    content = [[c.get("cell_type"), "".join(c.get("source", []))] for c in cells]
    return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]


def course_version() -> str:
    """The package version and, in a git checkout, the commit (``+dirty`` with local edits)."""
    try:
        run = lambda *a: subprocess.run(["git", *a], cwd=paths.REPO_ROOT, capture_output=True, text=True,  # noqa: E731
                                        timeout=5, check=True).stdout.strip()
        commit = run("rev-parse", "--short=12", "HEAD")
        dirty = "+dirty" if run("status", "--porcelain", "--untracked-files=no") else ""
        return f"{course_utils.__version__} ({commit}{dirty})"
    except (OSError, subprocess.SubprocessError):
        return course_utils.__version__


def _profile_used() -> str:
    return profiles.last_profile_name() or os.environ.get("COURSE_PROFILE") or "unknown"


def record(lesson: str, metrics: Mapping[str, Any], **extra: Any) -> Path:
    """Write ``build/results/<lesson>.json`` (the first call of a run replaces it, later calls of
    the same run merge into it) and return its path."""
    _check_name(lesson)
    if not isinstance(metrics, Mapping):
        raise ResultsError(f"metrics must be a dict, got {type(metrics).__name__}")
    _check_metrics(metrics)
    _check_metrics(extra, "extra")
    path = paths.results_dir() / f"{lesson}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = load(lesson) if path.exists() else {}
    if old.get("run_id") != RUN_ID:
        old = {}  # another run's record: replaced whole, never merged
    from course_utils import seed  # noqa: PLC0415  +3.6 s (torch) on `import course_utils.results` (lesson 00, slides)

    rec = {
        "lesson": lesson,
        "metrics": _merge(old.get("metrics", {}), metrics),
        "seconds": round(time.time() - course_utils.IMPORTED_AT, 2),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "profile": _profile_used(),
        "seed": seed.course_seed(),
        "torch_threads": seed.cpu_threads(),
        "notebook_sha": notebook_hash(lesson),
        "course_version": course_version(),
        "run_id": RUN_ID,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(course_utils.IMPORTED_AT)),
        "versions": _versions(),
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "extra": _merge(old.get("extra", {}), extra),
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def load(lesson: str) -> dict:
    """Read a record; a missing or malformed file is a clear error naming it."""
    path = paths.results_dir() / f"{_check_name(lesson)}.json"
    if not path.exists():
        raise ResultsError(f"no results record {path}: run notebooks/{lesson}.ipynb first "
                           f"(make test and make course execute every notebook)")
    try:
        rec = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path} is not valid JSON ({e}); delete it and re-run the notebook") from e
    if not isinstance(rec, dict) or not isinstance(rec.get("metrics"), dict):
        raise ResultsError(f"{path} has no 'metrics' object; delete it and re-run the notebook")
    return rec


def check_fresh(lesson: str, profile: str | None = None, rec: dict | None = None,
                run: str | None = None) -> dict:
    """The record of ``lesson`` (or ``rec``), if the current notebook made it in ``profile`` (default
    ``$COURSE_PROFILE`` or tiny); otherwise a clear error naming the notebook to run (or ``run``)."""
    rec = load(lesson) if rec is None else rec
    want = profile or os.environ.get("COURSE_PROFILE") or "tiny"
    run = run or f"run notebooks/{lesson}.ipynb again (make test and make course run every notebook)"
    nb = notebook_hash(lesson)
    if nb is not None and rec.get("notebook_sha") != nb:
        raise ResultsError(f"the record of {lesson} is stale: notebooks/{lesson}.ipynb changed since it was "
                           f"written (record {rec.get('notebook_sha')}, notebook {nb}); {run}")
    if rec.get("profile") != want:
        raise ResultsError(f"the record of {lesson} was made in the {rec.get('profile')!r} profile, not "
                           f"{want!r}; {run} with COURSE_PROFILE={want}")
    return rec


SEEDS_HINT = "run `make seeds` (or `python scripts/seed_spread.py --only 03_full_finetuning 04_lora 05_qlora`)"


def seed_records(lesson: str) -> list[dict]:
    """The records of ``lesson`` that `make seeds` wrote, one per seed (``build/seeds/seed<N>/``),
    each checked fresh like the main record: a claim about a mean over seeds reads these."""
    recs = []
    for path in sorted((paths.build_dir() / "seeds").glob(f"seed*/results/{_check_name(lesson)}.json")):
        try:
            rec = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ResultsError(f"{path} is not valid JSON ({e}); {SEEDS_HINT} again") from e
        recs.append(check_fresh(lesson, rec=rec, run=f"{SEEDS_HINT} again ({path} is old)"))
    return recs


def _walk(metrics: Mapping, dotted: str, missing: str) -> Any:
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ResultsError(missing.format(dotted=dotted, part=part))
        node = node[part]
    return node


def metric_of(rec: Mapping, dotted: str) -> Any:
    """One metric of a record already loaded, by dotted path (see :func:`metric`)."""
    return _walk(rec["metrics"], dotted, f"record of seed {rec.get('seed')} has no metric {{dotted!r}} "
                                         f"(missing {{part!r}})")


def metric(lesson: str, dotted: str) -> Any:
    """One metric by dotted path, e.g. ``metric("04_lora", "lora.task_accuracy")``."""
    return _walk(load(lesson)["metrics"], dotted, f"record {lesson!r} has no metric {{dotted!r}} (missing {{part!r}}); "
                                                 "the notebook did not record it")


def _flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        elif not isinstance(v, (list, tuple)):
            out[key] = v
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def summary(write: bool = True) -> str:
    """One Markdown table of every record's scalar metrics; written to ``summary.md``."""
    rdir = paths.results_dir()
    lines = ["# Course results", "", "| record | metric | value |", "|---|---|---|"]
    for path in sorted(rdir.glob("*.json")) if rdir.exists() else []:
        rec = load(path.stem)
        lines.append(f"| {path.stem} | _seconds / peak MB_ | {rec.get('seconds')} / {rec.get('peak_memory_mb')} |")
        for k, v in _flatten(rec["metrics"]).items():
            lines.append(f"| {path.stem} | {k} | {_fmt(v)} |")
    text = "\n".join(lines) + "\n"
    if write:
        rdir.mkdir(parents=True, exist_ok=True)
        (rdir / "summary.md").write_text(text)
    return text


#: Figures that measure the machine rather than the method: left out when two runs are compared.
VOLATILE = re.compile(r"(second|_s$|_mb$|memory|time|per_sec|speed|elapsed|written_at|started_at|run_id|"
                      r"course_version|peak)", re.IGNORECASE)


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two records (or any JSON values) differ, timings and memory aside: one line each."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in sorted(set(a) | set(b)):
            if VOLATILE.search(k):
                continue
            here = f"{where}.{k}" if where else k
            if k not in a or k not in b:
                out.append(f"{here}: only in {'the second' if k in b else 'the first'} record")
            else:
                out.extend(differences(a[k], b[k], here))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]
