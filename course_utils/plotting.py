"""Plots in one consistent style; every figure is also saved under ``build/figures/`` for slides."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from course_utils import paths

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"]

plt.rcParams.update({
    "figure.figsize": (6.4, 3.8), "figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight",
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "font.size": 10, "legend.frameon": False,
})


def save(fig: plt.Figure, name: str) -> Path:
    """Save ``fig`` as ``build/figures/<name>.png`` (the slides embed it) and return the path."""
    if not name or "/" in name or name.endswith(".png"):
        raise ValueError(f"figure name must be a plain name like '04_rank_sweep', got {name!r}")
    out = paths.figures_dir() / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def _series_from_log_history(log_history: Sequence[Mapping], key: str) -> tuple[list, list]:
    xs, ys = [], []
    for entry in log_history:
        if key in entry:
            xs.append(entry.get("step", len(xs)))
            ys.append(entry[key])
    return xs, ys


def loss_curves(history: Mapping[str, Sequence[float]] | Sequence[Mapping], *, title: str = "Loss",
                xlabel: str = "step", ylabel: str = "loss", logy: bool = False,
                save_as: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Plot loss curves from a dict of lists ({"train": [...], "validation": [...]}), from
    ``{"name": (steps, values)}``, or from a ``Trainer``'s ``state.log_history``."""
    if isinstance(history, Sequence) and not isinstance(history, Mapping):
        series = {k: _series_from_log_history(history, k) for k in ("loss", "eval_loss")}
        series = {("train" if k == "loss" else "validation"): v for k, v in series.items() if v[0]}
    else:
        series = {}
        for k, v in history.items():
            if isinstance(v, tuple) and len(v) == 2:
                series[k] = (list(v[0]), list(v[1]))
            else:
                series[k] = (list(range(len(v))), list(v))
    if not series:
        raise ValueError("no loss values to plot: the history is empty")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots()
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, label=name, marker="o" if len(xs) < 30 else None, ms=3)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if save_as:
        save(fig, save_as)
    return fig


def compare_bars(values: Mapping[str, float], *, title: str = "", ylabel: str = "",
                 fmt: str = "{:.3g}", save_as: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Side-by-side bars, one per method, each labelled with its value."""
    if not values:
        raise ValueError("no values to compare")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots()
    names, ys = list(values), [float(v) for v in values.values()]
    bars = ax.bar(names, ys, color=PALETTE[: len(names)] * (len(names) // len(PALETTE) + 1))
    for b, y in zip(bars, ys, strict=True):
        ax.annotate(fmt.format(y), (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom", fontsize=9)
    ax.set(title=title, ylabel=ylabel)
    ax.grid(axis="x", visible=False)
    if save_as:
        save(fig, save_as)
    return fig


def runs(x: Sequence[float], curves: Mapping[str, Sequence[float]], *, title: str = "", xlabel: str = "",
         ylabel: str = "", logx: bool = False, save_as: str | None = None, ax: plt.Axes | None = None) -> plt.Figure:
    """Several runs on shared x values (e.g. accuracy vs labels per class, one line per method)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots()
    for name, ys in curves.items():
        if len(ys) != len(x):
            raise ValueError(f"run {name!r} has {len(ys)} values for {len(x)} x values")
        ax.plot(x, ys, marker="o", ms=4, label=name)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logx:
        ax.set_xscale("log")
    ax.legend()
    if save_as:
        save(fig, save_as)
    return fig
