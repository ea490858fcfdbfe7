"""Record each notebook's key figures, so tests and the summary table can read them.

A notebook calls ``results.record("03_full_finetuning", {...})`` once (or more: later calls
merge into the same record). The record lands in ``build/results/<notebook>.json`` with the
metrics, seconds since the course package was imported, peak memory, profile and versions.
"""
from __future__ import annotations

import json
import math
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import course_utils
from course_utils import paths

_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")
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
    from importlib.metadata import PackageNotFoundError, version

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


def record(lesson: str, metrics: Mapping[str, Any], **extra: Any) -> Path:
    """Write (or merge into) ``build/results/<lesson>.json`` and return its path."""
    _check_name(lesson)
    if not isinstance(metrics, Mapping):
        raise ResultsError(f"metrics must be a dict, got {type(metrics).__name__}")
    _check_metrics(metrics)
    _check_metrics(extra, "extra")
    path = paths.results_dir() / f"{lesson}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = load(lesson) if path.exists() else {"metrics": {}}
    rec = {
        "lesson": lesson,
        "metrics": _merge(old.get("metrics", {}), metrics),
        "seconds": round(time.time() - course_utils.IMPORTED_AT, 2),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "profile": os.environ.get("COURSE_PROFILE", "tiny"),
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


def metric(lesson: str, dotted: str) -> Any:
    """One metric by dotted path, e.g. ``metric("04_lora", "lora.task_accuracy")``."""
    node: Any = load(lesson)["metrics"]
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ResultsError(f"record {lesson!r} has no metric {dotted!r} (missing {part!r}); "
                               f"the notebook did not record it")
        node = node[part]
    return node


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
