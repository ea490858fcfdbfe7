"""The course table and the course report: every stage of the course on the same held-out
questions, read from the lessons' records (``build/results``), beside what it cost.

* :func:`course_table` gathers one row per stage (base, SFT, rehearsal, LoRA, QLoRA, PPO, GRPO,
  DPO, and the capstone's own stages) from the records; a missing record is a clear error that
  names the lesson to run, and each row says which record and metrics it read.
* :func:`table_markdown` prints it; :func:`plot_course_table` draws it (accuracy and judge score
  with their 95% intervals).
* :func:`write_report` writes ``build/report.html``: the table, the lessons' headline figures
  and their plots, with the versions, profile and machine; one self-contained file (figures
  embedded), so it opens offline in any browser.
"""
from __future__ import annotations

import base64
import html
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from course_utils import evaluation, paths, plotting, results


@dataclass(frozen=True)
class Stage:
    """One row of the course table: a model the course trained, measured on held-out questions.

    Rates are shares of ``n`` held-out questions (None where the lesson did not measure them);
    costs are what the lesson recorded (None where it did not)."""

    stage: str                       # e.g. "SFT (full fine-tuning)"
    lesson: str                      # the record it comes from, e.g. "03_full_finetuning"
    task_accuracy: float
    n: int                           # held-out questions graded
    judge_score: float | None = None
    safe_rate: float | None = None
    format_rate: float | None = None
    trainable_params: int | None = None
    train_seconds: float | None = None
    peak_memory_mb: float | None = None
    read: str = ""                   # which metrics of the record the row reads

    def interval(self, metric: str = "task_accuracy") -> tuple[float, float] | None:
        """The 95% (Wilson) interval of a rate of this row, None where it was not measured."""
        value = getattr(self, metric)
        return None if value is None else evaluation.interval(value, self.n)


def _get(rec: dict, dotted: str, default: Any = None) -> Any:
    node: Any = rec["metrics"]
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _need(rec: dict, lesson: str, dotted: str) -> Any:
    value = _get(rec, dotted)
    if value is None:
        raise results.ResultsError(f"the record of {lesson} has no {dotted!r}: run notebooks/{lesson}.ipynb "
                                   f"again (make course runs every notebook)")
    return value


#: Where each stage's figures are in the lessons' records: (stage, lesson, prefix, accuracy key, n key or
#: number, {column: key}) with keys relative to ``prefix``. Only figures a lesson records are read.
SOURCES: tuple[tuple[str, str, str, str, str | int, dict[str, str]], ...] = (
    ("base model", "03_full_finetuning", "base", "task_accuracy", "n_eval", {}),
    ("SFT (full fine-tuning)", "03_full_finetuning", "full", "task_accuracy", "n_eval",
     {"judge_score": "judge_score", "safe_rate": "safe_rate", "format_rate": "format_rate",
      "train_seconds": "train_seconds", "peak_memory_mb": "peak_memory_mb"}),
    ("SFT + rehearsal", "03_full_finetuning", "rehearsal", "task_accuracy", "n_eval",
     {"train_seconds": "train_seconds", "peak_memory_mb": "peak_memory_mb"}),
    ("LoRA", "04_lora", "lora", "task_accuracy", "n_eval",
     {"trainable_params": "trainable_params", "train_seconds": "train_seconds", "peak_memory_mb": "peak_memory_mb"}),
    ("QLoRA", "05_qlora", "qlora", "task_accuracy", "qlora.n_eval",
     {"trainable_params": "trainable_params", "train_seconds": "train_seconds", "peak_memory_mb": "peak_memory_mb"}),
    ("PPO (from SFT)", "07_ppo", "ppo", "task_accuracy_after", "n_eval",
     {"judge_score": "judge_score_after", "format_rate": "format_rate_after", "train_seconds": "seconds",
      "trainable_params": "trainable_params", "peak_memory_mb": "peak_memory_mb"}),
    ("GRPO (from SFT)", "07_ppo", "trl", "task_accuracy_after", "n_eval",
     {"judge_score": "judge_score_after", "train_seconds": "seconds", "trainable_params": "trainable_params",
      "peak_memory_mb": "peak_memory_mb"}),
    ("DPO (from SFT)", "08_dpo", "dpo", "task_accuracy_after", "dpo.n_eval",
     {"judge_score": "judge_score_after", "safe_rate": "safe_rate_after", "format_rate": "format_rate_after",
      "train_seconds": "seconds", "trainable_params": "trainable_params", "peak_memory_mb": "peak_memory_mb"}),
)


def _stage(rec: dict, stage: str, lesson: str, prefix: str, acc: str, n: str | int, cols: dict[str, str]) -> Stage:
    n_eval = n if isinstance(n, int) else int(_need(rec, lesson, n))
    row: dict[str, Any] = {"stage": stage, "lesson": lesson, "n": n_eval,
                           "task_accuracy": float(_need(rec, lesson, f"{prefix}.{acc}"))}
    read = [f"{prefix}.{acc}"]
    for col, key in cols.items():
        value = _get(rec, f"{prefix}.{key}")
        if value is not None:
            row[col] = value
            read.append(f"{prefix}.{key}")
    return Stage(**row, read=", ".join(read))


def course_table(extra: Sequence[Stage] = (), lessons: Sequence[str] | None = None) -> list[Stage]:
    """Every stage's row from the lessons' records, then ``extra`` (the capstone's own stages).

    ``lessons`` limits the records read (default: all of them); a missing record is an error
    naming the notebook to run. LoRA's and full fine-tuning's trainable parameters come from
    lesson 04, which counts both on the same model."""
    wanted = set(lessons) if lessons is not None else {s[1] for s in SOURCES}
    recs = {lesson: results.load(lesson) for lesson in sorted(wanted)}
    rows = [_stage(recs[s[1]], *s) for s in SOURCES if s[1] in wanted]
    if "04_lora" in recs:
        full_params = _get(recs["04_lora"], "full.trainable_params")
        rows = [Stage(**{**asdict(r), "trainable_params": full_params})
                if r.stage.startswith("SFT") and full_params else r for r in rows]
    return rows + list(extra)


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "int":
        return f"{int(value):,}"
    return f"{value:.0f}"


COLUMNS = (("task_accuracy", "task accuracy", "rate"), ("judge_score", "judge score", "rate"),
           ("safe_rate", "safe", "rate"), ("format_rate", "on format", "rate"),
           ("trainable_params", "trainable params", "int"), ("train_seconds", "training s", "num"),
           ("peak_memory_mb", "peak memory MB", "num"))


def table_rows(rows: Sequence[Stage]) -> list[list[str]]:
    """The table as strings: a header, then one line per stage (rates with their 95% interval)."""
    out = [["stage", "lesson", "n"] + [c[1] for c in COLUMNS]]
    for r in rows:
        cells = [r.stage, r.lesson[:2], str(r.n)]
        for key, _, kind in COLUMNS:
            value = getattr(r, key)
            text = _fmt(value, kind)
            if kind == "rate" and value is not None:
                lo, hi = r.interval(key)
                text += f" ({lo:.0%}-{hi:.0%})"
            cells.append(text)
        out.append(cells)
    return out


def table_markdown(rows: Sequence[Stage]) -> str:
    """The course table in Markdown ('-' where a lesson did not measure a figure)."""
    lines = table_rows(rows)
    md = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    md += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(md)


def plot_course_table(rows: Sequence[Stage], save_as: str | None = "09_course_table"):
    """Task accuracy and judge score of every stage, with 95% intervals (one figure)."""
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.2))
    y = list(range(len(rows)))[::-1]
    for off, (key, label, color) in enumerate((("task_accuracy", "task accuracy", plotting.PALETTE[0]),
                                                ("judge_score", "judge score (correct, safe, on format)",
                                                 plotting.PALETTE[1]))):
        pts = [(yy - 0.18 + 0.36 * off, getattr(r, key), r.interval(key)) for yy, r in zip(y, rows, strict=True)
               if getattr(r, key) is not None]
        ax.errorbar([p[1] for p in pts], [p[0] for p in pts],
                    xerr=[[p[1] - p[2][0] for p in pts], [p[2][1] - p[1] for p in pts]],
                    fmt="o", color=color, capsize=3, label=label)
    ax.set_yticks(y, [r.stage for r in rows])
    ax.set(xlim=(-0.02, 1.02), xlabel="share of held-out questions (95% intervals)",
           title="Every stage of the course on the same held-out questions")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    if save_as:
        plotting.save(fig, save_as)
    return fig


# --------------------------------------------------------------------------- build/report.html
_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px}
th{background:#f3f3f3}td:nth-child(n+3){text-align:right}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
.meta{color:#666;font-size:13px}h2{border-bottom:1px solid #ddd;padding-bottom:.2em}"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _html_table(lines: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in lines[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line) + "</tr>" for line in lines[1:])
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(target: Path | None = None, rows: Sequence[Stage] | None = None) -> Path:
    """Write ``build/report.html``: the course table, each lesson's headline figures and plots,
    versions, profile and machine. Figures are embedded, so the file opens offline. Returns its path."""
    target = target or paths.build_dir() / "report.html"
    recs = {p.stem: results.load(p.stem) for p in sorted(paths.results_dir().glob("[0-9][0-9]_*.json"))}
    if not recs:
        raise results.ResultsError(f"no records in {paths.results_dir()}: run `make course` first")
    if rows is None:
        have = {s[1] for s in SOURCES} & set(recs)
        rows = course_table(lessons=sorted(have))
        if "09_capstone" in recs:
            rows = list(rows) + [Stage(**s) for s in recs["09_capstone"]["metrics"].get("stages", [])
                                 if s["lesson"] == "09_capstone"]
    any_rec = next(iter(recs.values()))
    parts = [f"<h1>Adapting LLMs: the course report</h1><p class='meta'>written {time.strftime('%Y-%m-%d %H:%M')}"
             f" · profile {html.escape(str(any_rec.get('profile')))} · {html.escape(platform.platform())}, "
             f"{html.escape(platform.processor() or platform.machine())} · "
             + " · ".join(f"{k} {html.escape(str(v))}" for k, v in any_rec.get("versions", {}).items())
             + f" · course {html.escape(str(any_rec.get('course_version')))}</p>",
             "<h2>The course table</h2><p>Every stage on the same held-out questions and judges; rates with "
             "their 95% intervals, '-' where a lesson did not measure a figure.</p>",
             _html_table(table_rows(rows))]
    figures = paths.figures_dir()
    table_png = figures / "09_course_table.png"
    if table_png.exists():
        parts.append(_img(table_png))
    for lesson, rec in recs.items():
        flat = results._flatten(rec["metrics"])  # noqa: SLF001  the one flattening rule, shared with summary()
        shown = [(k, v) for k, v in flat.items() if isinstance(v, (int, float)) and not isinstance(v, bool)][:24]
        parts.append(f"<h2>{html.escape(lesson)}</h2><p class='meta'>{rec.get('seconds')} s, peak memory "
                     f"{rec.get('peak_memory_mb')} MB, written {html.escape(str(rec.get('written_at')))}</p>")
        parts.append(_html_table([["metric", "value"]] + [[k, f"{v:.4g}"] for k, v in shown]))
        parts += [_img(p) for p in sorted(figures.glob(f"{lesson[:2]}_*.png"))  # measured figures, not diagrams
                  if p != table_png and "_diagram_" not in p.stem]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>Course report</title>"
                      f"<style>{_CSS}</style></head><body>{''.join(parts)}</body></html>", encoding="utf-8")
    return target
