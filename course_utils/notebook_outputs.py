"""What an executed lesson shows the learner, cell by cell, and the checks on it: no library
warning, no raw trainer log dictionary, no half-drawn loading bar, and a progress bar where a
model trains. `make test` records the outputs (its nbval plugin, ``build/outputs/*.jsonl``);
`make course` writes executed notebooks (``build/notebooks``); :func:`load` reads the newer."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_utils import paths

WIDGET = "application/vnd.jupyter.widget-view+json"
#: A library warning as Python prints it ("...py:12: FutureWarning: ...") or a logger's line.
WARNING = re.compile(r"\b\w*Warning: |^WARNING[: ]|\bwarnings\.warn\(", re.MULTILINE)
#: A trainer's raw log line: the dictionary transformers prints at every logging step.
LOG_DICT = re.compile(r"\{'(loss|train_loss|eval_loss|grad_norm|learning_rate)': ")
#: tqdm's text form (headless, or a widget's plain-text fallback): "| 12/500 [00:03<...".
BAR_TEXT = re.compile(r"\|\s*\d+/\d+ \[\d")


@dataclass(frozen=True)
class Cell:
    """One code cell as executed: its index among the code cells, its source and its outputs."""
    index: int
    source: str
    outputs: list[dict[str, Any]]

    def texts(self) -> list[tuple[str, str]]:
        """(kind, text) of every text the learner sees: stream names, "text/plain", "error"."""
        out = []
        for o in self.outputs:
            kind = o.get("output_type")
            if kind == "stream":
                out.append((o.get("name", "stdout"), _text(o.get("text", ""))))
            elif kind in ("display_data", "execute_result"):
                out.append(("text/plain", _text(o.get("data", {}).get("text/plain", ""))))
            elif kind == "error":
                out.append(("error", f"{o.get('ename')}: {o.get('evalue')}"))
        return out

    def has_progress_bar(self) -> bool:
        return any(WIDGET in o.get("data", {}) for o in self.outputs) or any(
            BAR_TEXT.search(t) for _, t in self.texts())


def _text(t: str | list[str]) -> str:
    return "".join(t) if isinstance(t, list) else str(t)


def outputs_file(stem: str) -> Path:
    return paths.build_dir() / "outputs" / f"{stem}.jsonl"


def append(stem: str, index: int, source: str, outputs: list[Any], fresh: bool = False) -> None:
    """Add one executed code cell to ``stem``'s outputs file (``fresh``: start the file anew)."""
    f = outputs_file(stem)
    f.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"index": index, "source": source, "outputs": [dict(o) for o in outputs]}, default=str)
    with f.open("w" if fresh else "a") as fh:
        fh.write(line + "\n")


def load(stem: str) -> list[Cell]:
    """The executed code cells of notebook ``stem`` (e.g. "03_full_finetuning"), from the newer of
    `make test`'s outputs file and `make course`'s executed notebook."""
    jsonl, ipynb = outputs_file(stem), paths.build_dir() / "notebooks" / f"{stem}.ipynb"
    found = [p for p in (jsonl, ipynb) if p.exists()]
    if not found:
        raise FileNotFoundError(f"no executed copy of {stem}: run `make test` or `make course` first "
                                f"(looked for {jsonl} and {ipynb})")
    newest = max(found, key=lambda p: p.stat().st_mtime)
    if newest.suffix == ".jsonl":
        rows = [json.loads(line) for line in newest.read_text().splitlines() if line.strip()]
        return [Cell(r["index"], r["source"], r["outputs"]) for r in rows]
    nb = json.loads(newest.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    return [Cell(i, _text(c["source"]), c.get("outputs", [])) for i, c in enumerate(code)]


def problems(cells: list[Cell]) -> list[str]:
    """What a learner should not have to read: library warnings, raw trainer logs, a loading bar
    left half-drawn, tracebacks. One line per finding, naming the cell."""
    found = []
    for c in cells:
        first = c.source.strip().splitlines()[0][:60] if c.source.strip() else ""
        for kind, text in c.texts():
            for what, pattern in (("a library warning", WARNING), ("a raw trainer log", LOG_DICT)):
                m = pattern.search(text)
                if m:
                    line = text[text.rfind("\n", 0, m.start()) + 1:].split("\n")[0][:160]
                    found.append(f"code cell {c.index} ({first!r}) shows {what}: {line!r}")
            if "Loading weights" in text:
                found.append(f"code cell {c.index} ({first!r}) shows transformers' 'Loading weights' bar")
            if kind == "error":
                found.append(f"code cell {c.index} ({first!r}) raised {text[:160]}")
    return found
