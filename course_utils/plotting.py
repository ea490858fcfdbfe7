"""Plots in one consistent style; every figure is also saved under ``build/figures/`` for slides."""
from __future__ import annotations

import statistics
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


def pareto_front(points: Mapping[str, tuple[float, float]]) -> list[str]:
    """The labels of ``points`` (label -> (accuracy, perplexity)) that no other point beats on both
    axes at once (higher accuracy and lower perplexity): the learning-forgetting frontier."""
    return [k for k, (a, p) in points.items()
            if not any(a2 >= a and p2 <= p and (a2, p2) != (a, p) for k2, (a2, p2) in points.items() if k2 != k)]


def frontier(points: Mapping[str, Sequence[tuple[float, float]]], *, base_perplexity: float | None = None,
             title: str = "Learning vs forgetting", save_as: str | None = None,
             ax: plt.Axes | None = None) -> plt.Figure:
    """Task accuracy (y) against general-text perplexity (x, log scale) for each method: its mean
    over the runs given (label -> [(accuracy, perplexity), ...]), a ±1 sd cross where there are
    several, every run as a faint dot; the base model's perplexity as a dotted line."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 4.5))
    for label, pts in points.items():
        if not pts:
            raise ValueError(f"method {label!r} has no (accuracy, perplexity) points")
        accs, ppls = [a for a, _ in pts], [p for _, p in pts]
        acc_sd, ppl_sd = (statistics.stdev(xs) if len(xs) > 1 else 0.0 for xs in (accs, ppls))
        bar = ax.errorbar(statistics.mean(ppls), statistics.mean(accs), xerr=ppl_sd, yerr=acc_sd, fmt="o", capsize=4,
                          label=label + (f" (n={len(pts)})" if len(pts) > 1 else ""))
        if len(pts) > 1:
            ax.scatter(ppls, accs, s=12, alpha=0.4, color=bar[0].get_color())
    if base_perplexity is not None:
        ax.axvline(base_perplexity, color="gray", ls=":", label=f"base model ({base_perplexity:.2f})")
    ax.set_xscale("log")
    ax.set(xlabel="general-text perplexity after training (log scale; lower = forgot less)",
           ylabel="held-out task accuracy", title=title, ylim=(-0.02, 1.05))
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    if save_as:
        save(fig, save_as)
    return fig
