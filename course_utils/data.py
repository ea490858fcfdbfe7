"""Load the course's data sets as ``datasets.Dataset`` objects, in the formats trl expects.

===============  ===========================================  ==============================
name             splits                                       columns (besides metadata)
===============  ===========================================  ==============================
general          train, validation                            text
knowledge        all                                          crop, relation, value, ...
instructions     train, validation, test                      prompt, completion
preferences      train, test                                  prompt, chosen, rejected, defect
rl_prompts       train, test                                  prompt
intents          train, test                                  text, label
===============  ===========================================  ==============================

With ``chat=True`` (the default) ``prompt`` / ``completion`` / ``chosen`` / ``rejected`` are
wrapped in the course's chat format (:mod:`course_utils.chat`), ready for trl's trainers; the
raw question stays in ``question``. Files live in ``data/`` (see ``data/README.md``), made
by ``make data``. Every profile, the hub profile too, trains on these files: the hub profile
changes the model, not the data, so its figures compare with the tiny profile's.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from course_utils import chat, paths

#: name -> (folder under data/, splits, required columns)
DATASETS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "general": ("general", ("train", "validation"), ("text",)),
    "knowledge": ("domain", ("all",), ("crop", "relation", "value")),
    "instructions": ("domain/instructions", ("train", "validation", "test"), ("prompt", "completion")),
    "preferences": ("domain/preferences", ("train", "test"), ("prompt", "chosen", "rejected", "defect")),
    "rl_prompts": ("domain/rl_prompts", ("train", "test"), ("prompt",)),
    "intents": ("intents", ("train", "test"), ("text", "label")),
}

class DataError(ValueError):
    """An unknown data set or split, a missing file, or a malformed row."""


def path_of(name: str, split: str) -> Path:
    """The JSONL file behind ``load(name, split)``."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    folder, splits, _ = DATASETS[name]
    if split not in splits:
        raise DataError(f"data set {name!r} has no split {split!r}; splits: {', '.join(splits)}")
    if name == "knowledge":
        return paths.DATA_DIR / folder / "knowledge.jsonl"
    return paths.DATA_DIR / folder / f"{split}.jsonl"


def read_jsonl(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Read a JSONL file; a malformed row is an error naming the file and line."""
    if not path.exists():
        raise DataError(f"missing data file {path}: run `make data` to regenerate data/")
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: not valid JSON ({e.msg})") from e
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            missing = [c for c in required if c not in row]
            if missing:
                raise DataError(f"{path}:{lineno}: missing column(s) {missing}")
            rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows deterministically (sorted keys, UTF-8, '\\n' line ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def _to_chat(name: str, row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if name in ("instructions", "preferences", "rl_prompts"):
        row.setdefault("question", row["prompt"])
        row["prompt"] = chat.format_prompt(row["prompt"])
    if name == "instructions":
        row.setdefault("answer", row["completion"])
        row["completion"] = chat.format_completion(row["completion"])
    if name == "preferences":
        row["chosen"] = chat.format_completion(row["chosen"])
        row["rejected"] = chat.format_completion(row["rejected"])
    return row


def load_rows(name: str, split: str = "train", chat_format: bool = True) -> list[dict[str, Any]]:
    """The rows of a data set as plain dicts (no ``datasets`` overhead)."""
    path = path_of(name, split)
    rows = read_jsonl(path, DATASETS[name][2])
    return [_to_chat(name, r) for r in rows] if chat_format else rows


def load(name: str, split: str = "train", chat: bool = True):
    """A course data set split as a ``datasets.Dataset``."""
    from datasets import Dataset  # noqa: PLC0415  +2.5 s on `import course_utils.data` (lesson 00 imports it via models)

    return Dataset.from_list(load_rows(name, split, chat_format=chat))
