"""Conceptual diagrams drawn by code: boxes, arrows and layers, no data and no measured figures.

Each public function draws one picture a lesson shows before its equation, returns the Figure
and saves it as ``build/figures/NN_diagram_NAME.png`` (``plotting.save``) so the decks can embed it.
Colours keep one meaning everywhere: grey is frozen, orange is trained, blue is a model or data
flowing through, purple is a reward or a preference, green is an answer or a result.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse, FancyBboxPatch, Polygon, Rectangle

from course_utils import plotting

BLUE, RED, GREEN, ORANGE, PURPLE, BROWN, CYAN, GREY = plotting.PALETTE
FROZEN, TRAINED, FLOW, REWARD, RESULT, DATA = GREY, ORANGE, BLUE, PURPLE, GREEN, CYAN
INK = "#333333"

#: The course's stages as the pipeline draws them: (lessons, label, phase).
STAGES = [
    (("00",), "set-up", "check the\nmachine"),
    (("01",), "pretraining", "learn the\nlanguage"),
    (("02",), "transfer\nlearning", "adapt to a task"),
    (("03",), "full\nfine-tuning", "adapt to a task"),
    (("04", "05"), "LoRA /\nQLoRA", "adapt to a task"),
    (("06",), "reward\nmodel", "align with preferences"),
    (("07",), "PPO /\nGRPO", "align with preferences"),
    (("08",), "DPO", "align with preferences"),
    (("09",), "RAG +\ncapstone", "knowledge at\nanswer time"),
]


# --------------------------------------------------------------------------- drawing helpers

def _tint(color: str, amount: float) -> tuple[float, float, float]:
    """``color`` mixed with white: 0 keeps it, 1 is white."""
    return tuple(c + (1 - c) * amount for c in to_rgb(color))


def _canvas(width: float = 10.0, height: float = 3.5, title: str = "") -> tuple[Figure, plt.Axes]:
    """A blank figure whose data units are inches, so box sizes and font sizes can be compared."""
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set(xlim=(0, width), ylim=(0, height))
    ax.set_axis_off()
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    if title:
        ax.text(0.05, height - 0.08, title, ha="left", va="top", fontsize=11, fontweight="bold", color=INK)
    return fig, ax


def _box(ax: plt.Axes, x: float, y: float, text: str, color: str = FLOW, w: float = 1.6, h: float = 0.6,
         fs: float = 9, fill: float = 0.82, bold: bool = False, ls: str = "-", text_color: str = INK) -> None:
    """A rounded box centred on (x, y), ``w`` by ``h`` inches, lightly filled with ``color``."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                fc=_tint(color, fill), ec=color, lw=1.3, ls=ls, zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=fs, color=text_color,
            fontweight="bold" if bold else "normal", zorder=3, linespacing=1.25)


def _arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float], color: str = INK,
           text: str = "", rad: float = 0.0, ls: str = "-", lw: float = 1.3, fs: float = 8,
           offset: tuple[float, float] = (0.0, 0.14), head: str = "-|>") -> None:
    """An arrow from ``start`` to ``end`` (curved by ``rad``), with an optional label at its middle."""
    ax.annotate("", xy=end, xytext=start, zorder=1,
                arrowprops=dict(arrowstyle=head, color=color, lw=lw, ls=ls, shrinkA=0, shrinkB=0,
                                mutation_scale=12, connectionstyle=f"arc3,rad={rad}"))
    if text:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, text, ha="center", va="center", fontsize=fs, color=color, zorder=3)


def _stack(ax: plt.Axes, x: float, y0: float, labels: Sequence[str], colors: Sequence[str], w: float = 1.5,
           h: float = 0.36, gap: float = 0.08, fs: float = 8) -> list[float]:
    """Layers drawn bottom-up from ``y0`` (the first label lowest); returns each layer's centre y."""
    ys = []
    for i, (label, color) in enumerate(zip(labels, colors, strict=True)):
        y = y0 + h / 2 + i * (h + gap)
        _box(ax, x, y, label, color, w=w, h=h, fs=fs, fill=0.75)
        ys.append(y)
    return ys


def _plus(ax: plt.Axes, x: float, y: float, r: float = 0.16, color: str = INK) -> None:
    """A summing node: a circle with a plus."""
    ax.add_patch(Circle((x, y), r, fc="white", ec=color, lw=1.3, zorder=2))
    ax.text(x, y, "+", ha="center", va="center", fontsize=11, color=color, zorder=3)


def _note(ax: plt.Axes, x: float, y: float, text: str, fs: float = 8, color: str = "#555555",
          ha: str = "center") -> None:
    """Small explanatory text, centred vertically on ``y``."""
    ax.text(x, y, text, ha=ha, va="center", fontsize=fs, color=color, zorder=3, linespacing=1.3)


def _legend(ax: plt.Axes, x: float, y: float, items: Sequence[tuple[str, str]], fs: float = 8,
            step: float = 1.7) -> None:
    """A row of small colour swatches with labels, starting at (x, y)."""
    for i, (label, color) in enumerate(items):
        ax.add_patch(Rectangle((x + i * step, y - 0.08), 0.22, 0.16, fc=_tint(color, 0.6), ec=color, lw=1))
        ax.text(x + i * step + 0.3, y, label, ha="left", va="center", fontsize=fs, color=INK)


def _save(fig: Figure, name: str) -> Figure:
    """Save ``fig`` as ``build/figures/<name>.png`` for the decks, and return it."""
    plotting.save(fig, name)
    return fig


# --------------------------------------------------------------------------- the course

def pipeline(highlight: str | None = None) -> Figure:
    """The course as one road, from set-up to RAG, with lesson ``highlight`` ("00"-"09") marked and saved as
    ``NN_diagram_pipeline``: every lesson opens with it, so a learner always sees where the step sits."""
    known = [n for lessons, _, _ in STAGES for n in lessons]
    if highlight is not None and highlight not in known:
        raise ValueError(f"highlight must be a lesson number {known[0]}-{known[-1]}, got {highlight!r}")
    fig, ax = _canvas(10, 2.5, "The course, stage by stage" + (f": this is lesson {highlight}" if highlight else ""))
    y, w, step = 1.35, 0.98, 1.1
    _arrow(ax, (0.1, y), (9.92, y), color="#bbbbbb", lw=2.2)
    for i, (lessons, label, _) in enumerate(STAGES):
        x = 0.6 + i * step
        here = highlight in lessons
        color = FLOW if here else GREY
        _box(ax, x, y, label, color, w=w, h=0.72, fs=8.5, fill=0.0 if here else 0.88, bold=here,
             text_color="white" if here else INK)
        ax.text(x, y + 0.5, " · ".join(lessons), ha="center", va="center", fontsize=8.5,
                color=FLOW if here else "#777777", fontweight="bold" if here else "normal")
    # the phases, as brackets under the boxes
    phases: dict[str, list[int]] = {}
    for i, (_, _, phase) in enumerate(STAGES):
        phases.setdefault(phase, []).append(i)
    for phase, idx in phases.items():
        x0, x1 = 0.6 + idx[0] * step - w / 2 + 0.05, 0.6 + idx[-1] * step + w / 2 - 0.05
        ax.plot([x0, x0, x1, x1], [0.78, 0.7, 0.7, 0.78], color="#999999", lw=1)
        _note(ax, (x0 + x1) / 2, 0.42, phase, fs=8)
    return _save(fig, f"{highlight or '00'}_diagram_pipeline")


# --------------------------------------------------------------------------- 00 set-up

def profiles() -> Figure:
    """One setting picks the scale: the same notebook runs the tiny profile (offline, the course's
    own GPT) or the hub profile (GPU, a Hub model); only the model and the sizes change."""
    fig, ax = _canvas(10, 3.5, "One notebook, two scales")
    _box(ax, 1.2, 1.75, "COURSE_PROFILE\nor, if unset,\nhardware detection", INK, w=1.75, h=0.95, fs=8.5, fill=0.92)
    _box(ax, 4.45, 2.55, "tiny  (the default)\noffline, minutes on a CPU\nthe course's own small GPT\n"
         "MiniLM from an installed package", FLOW, w=2.65, h=1.0, fs=8.5)
    _box(ax, 4.45, 0.85, "hub\na GPU and the Hub online\nSmolLM2-135M from the Hub\nMiniLM from the Hub", PURPLE,
         w=2.65, h=1.0, fs=8.5)
    _arrow(ax, (2.1, 1.95), (3.1, 2.45))
    _arrow(ax, (2.1, 1.55), (3.1, 0.95))
    _arrow(ax, (5.4, 1.35), (5.4, 2.05), color=RED, ls="--")
    _note(ax, 4.45, 1.7, "Hub unreachable: falls back\nto tiny, with a message", fs=7.5, color=RED)
    _box(ax, 8.35, 1.7, "the same notebook cells\n\nsizes from profile.lesson(\"NN\"):\nmodel, steps, batch,\n"
         "sequence length\n\nthe same data in data/", RESULT, w=2.6, h=1.9, fs=8.5)
    _arrow(ax, (5.8, 2.45), (7.03, 2.0))
    _arrow(ax, (5.8, 0.95), (7.03, 1.4))
    _note(ax, 5.0, 0.12, "No separate test mode: the tests run the tiny profile, and the hub path at smoke sizes.",
          fs=8)
    return _save(fig, "00_diagram_profiles")


def precision_rule() -> Figure:
    """The device and precision rule of ``course_utils.devices``: where the model computes decides
    autocast and loss scaling; the weights that train stay float32 everywhere."""
    fig, ax = _canvas(10, 3.7, "Precision follows the device; trained weights stay float32")
    _box(ax, 1.05, 2.1, "where does the\nmodel compute?", INK, w=1.6, h=0.7, fill=0.92)
    _box(ax, 3.4, 2.85, "CPU or Apple GPU (MPS)", FLOW, w=2.1, h=0.48)
    _box(ax, 3.4, 1.4, "CUDA GPU", FLOW, w=2.1, h=0.48)
    _box(ax, 7.85, 2.85, "float32, no autocast: exact, repeatable figures", GREY, w=4.1, h=0.48)
    _box(ax, 5.5, 1.4, "compute capability\n8.0 or more?", INK, w=1.7, h=0.7, fill=0.92)
    _box(ax, 8.5, 1.9, "autocast bfloat16\n(A100, L4, H100, RTX 30xx and later)", RESULT, w=2.9, h=0.62, fs=8.5)
    _box(ax, 8.5, 0.9, "autocast float16 + GradScaler\n(loss scaling; T4, V100)", ORANGE, w=2.9, h=0.62, fs=8.5)
    _arrow(ax, (1.85, 2.3), (2.35, 2.75))
    _arrow(ax, (1.85, 1.9), (2.35, 1.5))
    _arrow(ax, (4.45, 2.85), (5.8, 2.85))
    _arrow(ax, (4.45, 1.4), (4.65, 1.4))
    _arrow(ax, (6.35, 1.55), (7.05, 1.85))
    _arrow(ax, (6.35, 1.25), (7.05, 0.95))
    _note(ax, 6.62, 1.86, "yes", fs=8, color=INK)
    _note(ax, 6.62, 0.94, "no", fs=8, color=INK)
    _box(ax, 5.0, 0.3, "always: trainable weights cast to float32 before the optimizer (devices.for_training); "
         "half precision only for frozen weights", TRAINED, w=9.6, h=0.4, fs=8.5)
    return _save(fig, "00_diagram_precision")


# --------------------------------------------------------------------------- 01 pretraining

def timeline() -> Figure:
    """How model building got here, from hand-made features to ChatGPT: each step kept what the
    previous one learned and removed one bottleneck."""
    fig, ax = _canvas(10, 3.5, "From hand-made features to chat assistants")
    events = [
        ("until ~2012", "classical ML\nhand-made features,\nlinear models, SVMs"),
        ("1990s-2010s", "CNNs, RNNs, LSTMs\nfeatures learned;\ntext read word by word"),
        ("2014-15", "encoder-decoder\n+ attention\n(machine translation)"),
        ("2017", "Transformer\nattention only,\ntrains in parallel"),
        ("2018-19", "BERT, GPT, GPT-2, T5\npretrain once,\nthen fine-tune"),
        ("2020", "GPT-3\na task from a few\nexamples in the prompt"),
        ("2022", "InstructGPT, ChatGPT\nSFT + RLHF\n(lessons 03, 06-07)"),
    ]
    y = 1.7
    ax.plot([0.3, 9.7], [y, y], color="#999999", lw=2, zorder=1)
    for i, (year, what) in enumerate(events):
        x = 1.05 + i * 1.315
        up = i % 2 == 0
        ax.add_patch(Circle((x, y), 0.09, fc=FLOW if i >= 3 else GREY, ec="white", zorder=2))
        ax.text(x, y + (-0.22 if up else 0.22), year, ha="center", va="center", fontsize=8.5, fontweight="bold",
                color=INK)
        ax.plot([x, x], [y + (0.12 if up else -0.12), y + (0.55 if up else -0.55)], color="#bbbbbb", lw=1)
        _box(ax, x, y + (0.95 if up else -0.95), what, FLOW if i >= 3 else GREY, w=1.9, h=0.78, fs=8)
    return _save(fig, "01_diagram_timeline")


def decoder_block() -> Figure:
    """The course's GPT, left to right: embeddings, a residual stream through repeated blocks of
    masked self-attention and an MLP (each after an RMSNorm), and a head that scores the next token."""
    fig, ax = _canvas(10, 3.7, "A decoder-only Transformer, as the course's Llama-style GPT builds it")
    y = 1.35
    _box(ax, 0.55, y, "tokens", DATA, w=0.8, h=0.5)
    _box(ax, 1.6, y, "token\nembedding", FLOW, w=1.0, h=0.62)
    _arrow(ax, (0.95, y), (1.1, y))
    ax.plot([2.1, 8.0], [y, y], color=INK, lw=1.6, zorder=1)  # the residual stream
    _note(ax, 3.8, y - 0.22, "the residual stream", fs=7.5)
    ax.add_patch(FancyBboxPatch((2.25, 0.72), 5.45, 2.38, boxstyle="round,pad=0,rounding_size=0.1", fc="none",
                                ec="#999999", lw=1.2, ls="--", zorder=0))
    _note(ax, 4.95, 0.9, "one decoder block, repeated n_layer times", fs=8)
    for up, (name, what) in zip((2.75, 5.2), (("masked\nself-attention", "q, k, v, o;\nRoPE on q and k"),
                                              ("SwiGLU MLP", "gate, up, down")), strict=True):
        down = up + 2.05
        _arrow(ax, (up, y), (up, 2.15))
        _box(ax, up + 0.05, 2.4, "RMSNorm", GREY, w=0.8, h=0.5, fs=8)
        _box(ax, up + 1.1, 2.4, name, TRAINED, w=1.3, h=0.62, fs=8.5)
        _note(ax, up + 1.1, 2.93, what, fs=7.5)
        _arrow(ax, (up + 0.45, 2.4), (up + 0.45 + 0.1, 2.4))
        ax.plot([up + 1.75, down], [2.4, 2.4], color=INK, lw=1.3)
        _arrow(ax, (down, 2.4), (down, y + 0.16))
        _plus(ax, down, y)
    _box(ax, 8.4, y, "RMSNorm", GREY, w=0.8, h=0.5, fs=8)
    _box(ax, 9.4, y, "LM head\n(tied to the\nembedding)", FLOW, w=1.0, h=0.8, fs=8)
    _arrow(ax, (8.8, y), (8.9, y))
    _box(ax, 9.4, 2.65, "scores for\nthe next token", RESULT, w=1.0, h=0.6, fs=8)
    _arrow(ax, (9.4, y + 0.4), (9.4, 2.35))
    _note(ax, 5.0, 0.25, "Llama-style, like the course's GPT: RMSNorm before each sub-layer (pre-norm), a SwiGLU MLP, "
          "rotary positions.\nThe 2017 Transformer normalised after each add (LayerNorm), used a ReLU MLP and added "
          "sinusoidal positions.", fs=7.5)
    return _save(fig, "01_diagram_decoder_block")


def causal_mask(tokens: Sequence[str] = ("Plant", "maize", "after", "the", "first", "rains")) -> Figure:
    """The causal mask as a T x T grid (a token attends to itself and the tokens before it) next to
    the next-token targets: every position is trained to predict the token that follows it."""
    n = len(tokens)
    if n < 2:
        raise ValueError("causal_mask needs at least two tokens")
    fig = plt.figure(figsize=(10, 3.6))
    ax = fig.add_axes((0.1, 0.2, 0.27, 0.62))
    for i in range(n):
        for j in range(n):
            seen = j <= i
            ax.add_patch(Rectangle((j, n - 1 - i), 1, 1, fc=_tint(FLOW, 0.45) if seen else "#eeeeee",
                                   ec="white", lw=2))
            if not seen:
                ax.text(j + 0.5, n - 0.5 - i, "-inf", ha="center", va="center", fontsize=7, color="#aaaaaa")
    ax.set(xlim=(0, n), ylim=(0, n), xticks=[j + 0.5 for j in range(n)], yticks=[n - 0.5 - i for i in range(n)])
    ax.xaxis.tick_top()
    ax.set_xticklabels(tokens, fontsize=8)
    ax.set_yticklabels(tokens, fontsize=8)
    ax.tick_params(length=0)
    ax.grid(False)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_ylabel("query: the token reading", fontsize=8.5)
    ax.set_xlabel("key: the token being read\nblue: visible; -inf: masked out before the softmax", fontsize=8)
    fig.text(0.02, 0.97, "The causal mask, and what each position learns to predict", fontsize=11,
             fontweight="bold", color=INK, va="top")
    right = fig.add_axes((0.43, 0.05, 0.56, 0.8))
    right.set(xlim=(0, 5.6), ylim=(0, 2.9))
    right.set_axis_off()
    step = 4.5 / n
    targets = list(tokens[1:]) + ["<|end|>"]
    right.text(0.05, 2.0, "input", fontsize=8.5, va="center", color=INK)
    right.text(0.05, 0.95, "target", fontsize=8.5, va="center", color=INK)
    for t in range(n):
        x = 1.0 + t * step + step / 2
        _box(right, x, 2.0, tokens[t], DATA, w=step - 0.1, h=0.4, fs=8)
        _box(right, x, 0.95, targets[t], RESULT, w=step - 0.1, h=0.4, fs=7.5 if len(targets[t]) > 6 else 8)
        _arrow(right, (x, 1.78), (x, 1.17))
    _note(right, 3.25, 2.55, "position t predicts token t+1, seeing only tokens 1 to t", fs=8.5, color=INK)
    _note(right, 3.25, 0.4, "loss = mean over positions of  -log p(target)", fs=8.5, color=INK)
    return _save(fig, "01_diagram_causal_mask")


# --------------------------------------------------------------------------- 02 transfer learning

def transfer_strategies() -> Figure:
    """Three ways to reuse a pretrained body with a new head: freeze it, fine-tune it all, or start
    from random weights; colour says which layers learn and where they start."""
    fig, ax = _canvas(10, 3.7, "Reusing a pretrained body: what learns, and from where")
    columns = [
        ("frozen body + new head", "only the head learns", [FROZEN] * 3),
        ("fine-tune all", "the body at a smaller learning rate\nthan the new head (parameter groups)", [FLOW] * 3),
        ("from scratch", "the same network,\nrandom start, all learns", [TRAINED] * 3),
    ]
    layers = ["early layer: strokes, edges", "middle layer", "deep layer: task-shaped"]
    for i, (title, how, colors) in enumerate(columns):
        x = 1.75 + i * 3.25
        ax.text(x, 3.18, title, ha="center", va="center", fontsize=9.5, fontweight="bold", color=INK)
        ys = _stack(ax, x, 0.95, layers, colors, w=2.3, h=0.36)
        _box(ax, x, ys[-1] + 0.5, "new head (5 classes)", TRAINED, w=2.3, h=0.36, fs=8, fill=0.55)
        _note(ax, x, 0.62, how, fs=7.5)
    _legend(ax, 0.9, 0.15, [("pretrained, frozen", FROZEN), ("pretrained, trained", FLOW),
                            ("random start, trained", TRAINED)], step=2.6)
    return _save(fig, "02_diagram_transfer")


def probe_vs_finetune() -> Figure:
    """A linear probe (frozen encoder, embeddings computed once, a logistic regression on top)
    against fine-tuning (gradients reach every layer; the head starts from the probe: LP-FT)."""
    fig, ax = _canvas(10, 3.5, "Linear probe vs fine-tuning, on a sentence encoder")
    for y, label, enc, enc_color, head, grads in (
            (2.35, "linear probe", "MiniLM encoder\n(frozen)", FROZEN, "logistic regression\n(the only weights fitted)",
             "gradients stop at the head"),
            (0.85, "fine-tuning\n(LP-FT)", "MiniLM encoder\n(trained, small LR)", FLOW,
             "linear head\n(starts from the probe)", "gradients reach every layer")):
        _note(ax, 0.55, y, label, fs=8.5, color=INK)
        _box(ax, 1.7, y, "question", DATA, w=1.0, h=0.5)
        _box(ax, 3.35, y, enc, enc_color, w=1.75, h=0.62, fs=8.5)
        _box(ax, 5.1, y, "mean pooling", GREY, w=1.2, h=0.5, fs=8.5, fill=0.9)
        _box(ax, 6.95, y, head, TRAINED, w=1.85, h=0.62, fs=8.5)
        _box(ax, 8.95, y, "intent", RESULT, w=0.9, h=0.5)
        for a, b in ((2.2, 2.47), (4.23, 4.5), (5.7, 6.02), (7.88, 8.5)):
            _arrow(ax, (a, y), (b, y))
        back_to = 6.0 if y > 2 else 2.45
        _arrow(ax, (8.1, y - 0.5), (back_to, y - 0.5), color=RED, ls="--", text=grads, offset=(0, -0.15))
    _note(ax, 5.1, 2.98, "embeddings computed once, reused for every fit", fs=7.5)
    return _save(fig, "02_diagram_probe")


# --------------------------------------------------------------------------- 03 full fine-tuning

def sft_loss_mask() -> Figure:
    """One chat-formatted training example: every token is read, but only the answer's tokens carry
    a label; the prompt's labels are -100, which the cross-entropy ignores."""
    fig, ax = _canvas(10, 3.3, "Supervised fine-tuning: the model reads everything, is graded on the answer")
    prompt = ["<|user|>", "When", "to", "plant", "maize", "?", "<|end|>", "<|assistant|>"]
    answer = ["After", "the", "first", "rains", ".", "<|end|>"]
    step, x0 = 0.645, 1.3
    _note(ax, 0.65, 2.35, "input\ntokens", fs=8.5, color=INK)
    _note(ax, 0.65, 1.45, "labels", fs=8.5, color=INK)
    for i, tok in enumerate(prompt + answer):
        x = x0 + i * step
        is_prompt = i < len(prompt)
        fs = 5.9 if len(tok) > 9 else 7 if len(tok) > 6 else 8
        _box(ax, x, 2.35, tok, DATA if is_prompt else RESULT, w=step - 0.06, h=0.5, fs=fs)
        _box(ax, x, 1.45, "-100" if is_prompt else tok, GREY if is_prompt else RESULT, w=step - 0.06, h=0.5,
             fs=7.5 if is_prompt else fs, fill=0.9 if is_prompt else 0.7)
        _arrow(ax, (x, 2.08), (x, 1.72), color="#999999", lw=1)
    xp0, xp1 = x0 - step / 2, x0 + (len(prompt) - 0.5) * step
    xa1 = x0 + (len(prompt) + len(answer) - 0.5) * step
    for a, b, text, color in ((xp0, xp1, "prompt: no loss (ignored by the cross-entropy)", GREY),
                              (xp1, xa1, "completion: loss = -log p(token)", RESULT)):
        ax.plot([a + 0.04, a + 0.04, b - 0.04, b - 0.04], [1.05, 0.95, 0.95, 1.05], color=color, lw=1.3)
        _note(ax, (a + b) / 2, 0.72, text, fs=8.5, color=INK)
    _note(ax, 5.0, 0.25, "The <|end|> token is in the completion, so the model also learns when to stop. "
          "Inside the model, labels shift by one: position t is graded on token t+1.", fs=8)
    return _save(fig, "03_diagram_loss_mask")


def rehearsal() -> Figure:
    """Catastrophic forgetting and rehearsal: batches of task data alone pull the whole model toward
    the task; mixing a share of general text back in keeps it practising what it knew."""
    fig, ax = _canvas(10, 3.5, "Forgetting, and rehearsal as a remedy")
    for x0, title, general_every, outcome, color in (
            (0.1, "task data only", 0, "learns the task,\nbut gets worse at\ngeneral text:\nforgetting", RED),
            (5.1, "rehearsal: task data + a share of general text", 4,
             "learns the task,\nand keeps more of\nits general English", RESULT)):
        ax.text(x0 + 2.4, 3.0, title, ha="center", va="center", fontsize=9.5, fontweight="bold", color=INK)
        for r in range(4):
            for c in range(6):
                general = general_every and (r * 6 + c) % general_every == 1
                ax.add_patch(Rectangle((x0 + 0.05 + c * 0.28, 0.95 + r * 0.38), 0.25, 0.32,
                                       fc=_tint(GREEN if general else BLUE, 0.45), ec="white"))
        _note(ax, x0 + 0.9, 0.7, "training rows, shuffled", fs=7.5)
        _arrow(ax, (x0 + 1.85, 1.7), (x0 + 2.15, 1.7))
        _box(ax, x0 + 2.6, 1.7, "model\n(all weights\ntrain)", TRAINED, w=0.85, h=0.9, fs=8)
        _arrow(ax, (x0 + 3.05, 1.7), (x0 + 3.23, 1.7))
        _box(ax, x0 + 4.0, 1.7, outcome, color, w=1.5, h=1.05, fs=7.5, fill=0.88)
    _legend(ax, 2.7, 0.2, [("task question + answer", BLUE), ("general text (a story)", GREEN)], step=2.6)
    return _save(fig, "03_diagram_rehearsal")


# --------------------------------------------------------------------------- 04 LoRA

def _trapezoid(ax: plt.Axes, x0: float, x1: float, y: float, h0: float, h1: float, color: str, text: str,
               fs: float = 8.5) -> None:
    """A matrix drawn as a trapezoid: height ``h0`` at ``x0`` (input side) and ``h1`` at ``x1`` (output side)."""
    ax.add_patch(Polygon([(x0, y - h0 / 2), (x1, y - h1 / 2), (x1, y + h1 / 2), (x0, y + h0 / 2)], closed=True,
                         fc=_tint(color, 0.7), ec=color, lw=1.3, zorder=2))
    ax.text((x0 + x1) / 2, y, text, ha="center", va="center", fontsize=fs, color=INK, zorder=3)


def lora_layer() -> Figure:
    """LoRA's side path: the frozen W, and beside it A (down to r numbers) then B (back up),
    scaled by alpha / r and added to W x; B starts at zero, so training starts at the base model."""
    fig, ax = _canvas(10, 3.6, "A LoRA layer: the frozen W, plus a trainable low-rank side path")
    _box(ax, 0.6, 1.75, "x\n(d_in)", DATA, w=0.75, h=0.7)
    _box(ax, 4.3, 2.75, "W   (d_out x d_in)\nfrozen: no gradient", FROZEN, w=3.0, h=0.75, fs=9)
    _trapezoid(ax, 2.3, 3.7, 0.85, 1.0, 0.32, TRAINED, "A\n(r x d_in)")
    _trapezoid(ax, 4.9, 6.3, 0.85, 0.32, 1.0, TRAINED, "B\n(d_out x r)")
    _note(ax, 4.3, 0.85, "r numbers\nper token", fs=7.5)
    _note(ax, 3.0, 0.18, "random start", fs=7.5)
    _note(ax, 5.6, 0.18, "starts at zero", fs=7.5)
    _box(ax, 7.05, 0.85, "x alpha / r", TRAINED, w=0.95, h=0.42, fs=8.5, fill=0.92)
    _plus(ax, 7.9, 1.75, r=0.2)
    _box(ax, 9.1, 1.75, "h = W x\n+ (alpha / r) B A x", RESULT, w=1.55, h=0.75, fs=8.5)
    _arrow(ax, (0.98, 1.9), (2.8, 2.65))
    _arrow(ax, (0.98, 1.6), (2.3, 0.95))
    _arrow(ax, (3.7, 0.85), (4.0, 0.85))
    _arrow(ax, (4.6, 0.85), (4.9, 0.85))
    _arrow(ax, (6.3, 0.85), (6.57, 0.85))
    _arrow(ax, (5.8, 2.75), (7.75, 1.9))
    _arrow(ax, (7.52, 0.85), (7.78, 1.58))
    _arrow(ax, (8.1, 1.75), (8.32, 1.75))
    _note(ax, 5.8, 1.72, "only A and B train: r (d_in + d_out) numbers, not d_in x d_out", fs=8, color=INK)
    return _save(fig, "04_diagram_lora")


def lora_targets() -> Figure:
    """Where the adapters go in the course's Llama-style block: every attention projection (q, k, v,
    o) and every MLP projection (gate, up, down); embeddings, norms and the head stay as they are."""
    fig, ax = _canvas(10, 3.6, "Where LoRA adapters go: every projection of every block")
    ax.add_patch(FancyBboxPatch((1.55, 0.62), 7.0, 2.58, boxstyle="round,pad=0,rounding_size=0.1", fc="none",
                                ec="#999999", lw=1.2, ls="--"))
    _note(ax, 5.05, 0.78, "one decoder block (x n_layer); RMSNorms and residual adds not drawn", fs=7.5)
    _box(ax, 0.75, 1.8, "embedding\n(no adapter)", FROZEN, w=1.1, h=0.62, fs=8)
    _box(ax, 9.35, 1.8, "LM head\n(no adapter)", FROZEN, w=1.05, h=0.62, fs=8)

    def linear(x: float, y: float, name: str) -> None:
        _box(ax, x, y, name, FROZEN, w=1.0, h=0.4, fs=8)
        _box(ax, x - 0.22, y + 0.27, "+BA", TRAINED, w=0.42, h=0.24, fs=7, fill=0.3)

    for y, name in zip((2.55, 1.8, 1.05), ("q_proj", "k_proj", "v_proj"), strict=True):
        linear(2.25, y, name)
        _arrow(ax, (1.3, 1.8), (1.75, y), color="#999999", lw=1)
        _arrow(ax, (2.75, y), (3.3, 1.8), color="#999999", lw=1)
    _box(ax, 3.85, 1.8, "attention\nsoftmax", FLOW, w=1.05, h=0.62, fs=8)
    linear(5.0, 1.8, "o_proj")
    _arrow(ax, (4.38, 1.8), (4.5, 1.8), color="#999999", lw=1)
    for y, name in zip((2.35, 1.25), ("gate_proj", "up_proj"), strict=True):
        linear(6.35, y, name)
        _arrow(ax, (5.5, 1.8), (5.85, y), color="#999999", lw=1)
        _arrow(ax, (6.85, y), (7.1, 1.8), color="#999999", lw=1)
    linear(7.65, 1.8, "down_proj")
    _note(ax, 7.3, 2.95, "SwiGLU: SiLU(gate) x up", fs=7.5)
    _arrow(ax, (8.15, 1.8), (8.82, 1.8), color="#999999", lw=1)
    _legend(ax, 3.0, 0.28, [("frozen weight", FROZEN), ("LoRA adapter (trained)", TRAINED)], step=2.4)
    return _save(fig, "04_diagram_lora_targets")


def lora_merge() -> Figure:
    """What happens to an adapter after training: merge it into W (no extra cost at inference), or
    keep it as a small file and swap adapters on one shared base model."""
    fig, ax = _canvas(10, 3.4, "After training: merge the adapter, or keep it and swap")
    ax.text(1.6, 2.95, "trained", ha="center", fontsize=9.5, fontweight="bold", color=INK)
    _box(ax, 1.6, 2.05, "W (frozen)", FROZEN, w=1.7, h=0.5)
    _box(ax, 1.6, 1.2, "(alpha / r) B A", TRAINED, w=1.7, h=0.5)
    _plus(ax, 1.6, 1.63, r=0.13)
    _arrow(ax, (2.6, 1.63), (3.7, 1.63), text="merge_and_unload()", offset=(0, 0.18))
    ax.text(4.8, 2.95, "merged", ha="center", fontsize=9.5, fontweight="bold", color=INK)
    _box(ax, 4.8, 1.63, "W' = W + (alpha / r) B A\none Linear again:\nno extra latency", RESULT, w=2.0, h=0.95,
         fs=8.5)
    ax.plot([6.1, 6.1], [0.4, 3.05], color="#cccccc", lw=1)
    ax.text(8.1, 2.95, "or keep and swap", ha="center", fontsize=9.5, fontweight="bold", color=INK)
    _box(ax, 8.1, 2.2, "one base model W (frozen, shared)", FROZEN, w=3.4, h=0.5, fs=8.5)
    for x, name in zip((7.0, 8.1, 9.2), ("adapter:\ntask A", "adapter:\ntask B", "adapter:\ntask C"), strict=True):
        _box(ax, x, 1.15, name, TRAINED, w=0.95, h=0.6, fs=8)
        _arrow(ax, (x, 1.46), (x, 1.94), color="#999999", lw=1)
    _note(ax, 8.1, 0.45, "save_pretrained() writes A and B only: a small file per task;\n"
          "set_adapter() switches between them", fs=8)
    _note(ax, 3.2, 0.45, "the merged layer computes what base + adapter did (up to rounding)", fs=8)
    return _save(fig, "04_diagram_lora_merge")


# --------------------------------------------------------------------------- 05 QLoRA

def qlora_stack() -> Figure:
    """QLoRA's layers of storage and compute: an NF4 base with blockwise scales (themselves
    quantised), dequantised one layer at a time for the matrix products, and fp32 LoRA adapters
    whose optimizer state can be paged out of GPU memory."""
    fig, ax = _canvas(10, 3.7, "QLoRA: a 4-bit frozen base, full-precision adapters")
    ax.text(1.75, 3.2, "stored (frozen)", ha="center", fontsize=9.5, fontweight="bold", color=INK)
    _stack(ax, 1.75, 0.55, ["double quantisation: the scales in 8 bits,\none fp32 scale per 256 scales",
                            "blockwise absmax: one scale\nper block of 64 weights",
                            "base weights as NF4 codes:\n4 bits each"], [PURPLE, PURPLE, FROZEN],
           w=3.1, h=0.7, gap=0.1, fs=8)
    _arrow(ax, (3.35, 1.75), (4.15, 1.75), text="dequantise\none layer\nat a time", offset=(0, 0.42), fs=7.5)
    ax.text(5.35, 3.2, "compute", ha="center", fontsize=9.5, fontweight="bold", color=INK)
    _box(ax, 5.35, 1.75, "W in the compute dtype\nbf16 / fp16 on a GPU,\nfp32 on a CPU\n\nW x  +  (alpha / r) B A x",
         FLOW, w=2.3, h=1.6, fs=8.5)
    ax.text(8.45, 3.2, "trained", ha="center", fontsize=9.5, fontweight="bold", color=INK)
    _box(ax, 8.45, 2.35, "LoRA adapters A, B\nin fp32: the only gradients", TRAINED, w=2.6, h=0.7, fs=8.5)
    _box(ax, 8.45, 1.05, "paged AdamW state (adapters only):\nmoved to CPU RAM when\nGPU memory spikes", PURPLE,
         w=2.6, h=0.9, fs=8)
    _arrow(ax, (7.12, 2.3), (6.52, 2.05))
    _arrow(ax, (8.45, 1.98), (8.45, 1.52), color=RED, ls="--", text="gradients", offset=(0.42, 0))
    _note(ax, 5.0, 0.18, "Memory goes on 4-bit weights plus small scales; precision is spent where learning happens.",
          fs=8)
    return _save(fig, "05_diagram_qlora")


def _nf4_levels() -> list[float]:
    """QLoRA's 16 NF4 levels in [-1, 1] (the same construction as ``quant.nf4_levels``, without torch)."""
    nd, offset = NormalDist(), 0.9677083

    def spaced(n: int) -> list[float]:
        return [offset + (0.5 - offset) * i / (n - 1) for i in range(n - 1)]
    values = [nd.inv_cdf(p) for p in spaced(9)] + [-nd.inv_cdf(p) for p in spaced(8)] + [0.0]
    top = max(values)
    return sorted(v / top for v in values)


def nf4_levels() -> Figure:
    """Where NF4 puts its 16 levels: at quantiles of a normal distribution, close together near
    zero where most weights are; evenly spaced 4-bit levels waste codes on the rare tails."""
    levels = _nf4_levels()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    sigma = 1 / 2.2  # a block's weights over its absmax: the bulk well inside [-1, 1]
    xs = [-1.15 + 2.3 * i / 400 for i in range(401)]
    dens = [math.exp(-0.5 * (x / sigma) ** 2) for x in xs]
    ax.fill_between(xs, [1.3 + 1.6 * d for d in dens], 1.3, color=_tint(FLOW, 0.75), lw=0)
    ax.plot(xs, [1.3 + 1.6 * d for d in dens], color=FLOW, lw=1.5)
    ax.text(0.55, 2.5, "weights of one block,\ndivided by its absmax", fontsize=8.5, color=FLOW)
    for lv in levels:
        ax.plot([lv, lv], [1.3, 1.3 + 1.6 * math.exp(-0.5 * (lv / sigma) ** 2)], color=BLUE, lw=0.8, alpha=0.6)
        ax.plot(lv, 0.85, "o", color=BLUE, ms=6)
    for i in range(16):
        ax.plot(-1 + 2 * i / 15, 0.3, "s", color=GREY, ms=6)
    ax.text(-1.2, 0.85, "NF4", ha="right", va="center", fontsize=9, color=BLUE, fontweight="bold")
    ax.text(-1.2, 0.3, "evenly\nspaced", ha="right", va="center", fontsize=8.5, color=GREY)
    ax.set(xlim=(-1.55, 1.2), ylim=(0, 3.2), yticks=[], xticks=[-1, -0.5, 0, 0.5, 1])
    ax.set_xlabel("value after dividing by the block's absmax", fontsize=8.5)
    ax.grid(False)
    ax.spines["left"].set_visible(False)
    ax.set_title("NF4: 16 levels at normal quantiles, dense where the weights are (one of them exactly 0)",
                 fontsize=10.5, fontweight="bold", loc="left", color=INK)
    return _save(fig, "05_diagram_nf4")


def nf4_blocks() -> Figure:
    """Blockwise absmax: each block of weights gets its own scale, so one outlier coarsens only its
    block; double quantisation then stores those scales in 8 bits."""
    rng = np.random.default_rng(0)
    fig, ax = _canvas(10, 3.5, "Blockwise absmax: one scale per block, so an outlier spoils only its own block")
    n_blocks, per, levels = 4, 16, _nf4_levels()
    w = 2.15
    for b in range(n_blocks):
        vals = rng.normal(0, 0.3, per)
        if b == 2:
            vals[5] = 1.25
        top = float(np.abs(vals).max())
        x0 = 0.3 + b * (w + 0.25)
        ax.add_patch(Rectangle((x0, 1.1), w, 1.9, fc=_tint(RED if b == 2 else FLOW, 0.93), ec="#cccccc", lw=1))
        base = 2.05
        for i, v in enumerate(vals):
            x = x0 + 0.1 + i * (w - 0.2) / (per - 1)
            ax.plot([x, x], [base, base + 0.7 * v], color=RED if (b == 2 and i == 5) else FLOW, lw=2.2)
        for level in levels:  # the 16 values this block can store: NF4 levels times its scale
            ax.plot([x0 + 0.05, x0 + w - 0.05], [base + 0.7 * top * level] * 2, color="#bbbbbb", lw=0.6, zorder=1)
        for sign in (1, -1):
            ax.plot([x0 + 0.05, x0 + w - 0.05], [base + sign * 0.7 * top] * 2, color=PURPLE, ls="--", lw=1)
        _note(ax, x0 + w / 2, 0.8, f"block {b + 1}: scale = max |w|" + (
            "\nset by the outlier: the rest\nshare a few middle levels" if b == 2 else ""), fs=7.5, color=INK)
    _note(ax, 5.0, 0.22, "Grey lines: the 16 NF4 values a block can store. Each weight keeps a 4-bit code; "
          "a fp32 scale per 64 weights costs 0.5 bit per weight.\nDouble quantisation stores the scales in 8 bits "
          "(one fp32 scale per 256 of them): about 0.127 bit per weight.", fs=8)
    return _save(fig, "05_diagram_blocks")


# --------------------------------------------------------------------------- 06 reward modeling

def preference_pair() -> Figure:
    """A preference pair and the Bradley-Terry model: each answer gets a scalar reward, and the
    probability that the chosen one wins is the sigmoid of the difference."""
    fig, ax = _canvas(10, 3.4, "A preference pair, scored: only the difference of rewards matters")
    _box(ax, 1.1, 1.7, "prompt x\n(a farmer's\nquestion)", DATA, w=1.5, h=0.95, fs=8.5)
    _box(ax, 3.3, 2.5, "chosen answer y_w\ncorrect, safe, polite", RESULT, w=2.1, h=0.62, fs=8.5)
    _box(ax, 3.3, 0.9, "rejected answer y_l\none defect: wrong, unsafe,\nrude or rambling", RED, w=2.1, h=0.8, fs=8)
    _arrow(ax, (1.85, 1.9), (2.25, 2.4))
    _arrow(ax, (1.85, 1.5), (2.25, 1.0))
    _box(ax, 5.4, 2.5, "r(x, y_w)", REWARD, w=1.1, h=0.5)
    _box(ax, 5.4, 0.9, "r(x, y_l)", REWARD, w=1.1, h=0.5)
    _arrow(ax, (4.35, 2.5), (4.85, 2.5))
    _arrow(ax, (4.35, 0.9), (4.85, 0.9))
    _box(ax, 7.0, 1.7, "difference\nr(x, y_w) - r(x, y_l)", REWARD, w=1.75, h=0.7, fs=8.5)
    _arrow(ax, (5.95, 2.4), (6.35, 1.98))
    _arrow(ax, (5.95, 1.0), (6.35, 1.42))
    _box(ax, 9.0, 2.35, "sigmoid of it:\nP(y_w preferred)", RESULT, w=1.7, h=0.62, fs=8.5)
    _box(ax, 9.0, 1.05, "loss:\n-log sigmoid(difference)", RED, w=1.7, h=0.62, fs=8.5)
    _arrow(ax, (7.88, 1.85), (8.15, 2.2))
    _arrow(ax, (7.88, 1.55), (8.15, 1.2))
    _note(ax, 7.0, 0.3, "add the same constant to every reward: nothing changes", fs=8)
    return _save(fig, "06_diagram_bradley_terry")


def reward_model() -> Figure:
    """A reward model is the SFT model with its vocabulary head swapped for a one-number head read at
    the last token; chosen and rejected go through the same weights and meet in the pairwise loss."""
    fig, ax = _canvas(10, 3.6, "A reward model: the SFT body with a scalar head, trained on pairs")
    for y, text, r in ((2.55, "prompt + chosen", "r_c"), (0.95, "prompt + rejected", "r_r")):
        _box(ax, 1.1, y, text, DATA, w=1.7, h=0.55, fs=8.5)
        _box(ax, 3.55, y, "SFT model's body\n(transformer blocks)", TRAINED, w=2.1, h=0.7, fs=8.5)
        _box(ax, 5.75, y, "scalar head\n(hidden -> 1)", TRAINED, w=1.45, h=0.62, fs=8.5, fill=0.55)
        _box(ax, 7.05, y, r, REWARD, w=0.6, h=0.5)
        _arrow(ax, (1.95, y), (2.5, y))
        _arrow(ax, (4.6, y), (5.02, y), text="last token", offset=(0, 0.5), fs=7.5)
        _arrow(ax, (6.48, y), (6.75, y))
    _note(ax, 3.55, 1.75, "the same weights", fs=8, color=INK)
    _arrow(ax, (3.55, 1.9), (3.55, 2.18), color="#999999", lw=1, head="<|-|>")
    _arrow(ax, (3.55, 1.6), (3.55, 1.32), color="#999999", lw=1, head="<|-|>")
    _box(ax, 8.85, 1.75, "loss =\n-log sigmoid(r_c - r_r)", RED, w=1.9, h=0.7, fs=8.5)
    _arrow(ax, (7.35, 2.45), (8.15, 2.0))
    _arrow(ax, (7.35, 1.05), (8.15, 1.5))
    _note(ax, 5.0, 0.2, "The LM head (one score per vocabulary token) is replaced by a Linear layer to one number: "
          "AutoModelForSequenceClassification, num_labels=1.", fs=8)
    return _save(fig, "06_diagram_reward_model")


def reward_hacking() -> Figure:
    """Reward hacking as two overlapping sets: what the reward model scores high and what is really
    good; optimisation without a leash drifts into the part that is only scored high."""
    fig, ax = _canvas(10, 3.5, "Reward hacking: the reward model is a proxy for what people want")
    ax.add_patch(Ellipse((4.0, 1.65), 4.6, 2.5, fc=_tint(REWARD, 0.85), ec=REWARD, lw=1.5, alpha=0.9))
    ax.add_patch(Ellipse((6.0, 1.65), 4.6, 2.5, fc=_tint(RESULT, 0.85), ec=RESULT, lw=1.5, alpha=0.6))
    _note(ax, 2.9, 2.55, "the reward model\nscores it high", fs=8.5, color=REWARD)
    _note(ax, 7.1, 2.55, "really good\n(the judges agree)", fs=8.5, color=RESULT)
    _note(ax, 5.0, 1.65, "what we want:\nboth", fs=9, color=INK)
    _note(ax, 2.55, 1.75, "scored high, but bad:\na wrong fact that\nsounds right", fs=8, color=RED)
    _note(ax, 7.5, 1.3, "good, but\nunderrated", fs=8, color=INK)
    ax.plot(5.0, 0.95, "o", color=INK, ms=6, zorder=4)
    _note(ax, 5.1, 0.95, "SFT model", fs=7.5, color=INK, ha="left")
    _arrow(ax, (4.98, 1.0), (4.75, 1.35), color=GREEN)
    _note(ax, 5.6, 1.3, "small steps,\nKL leash", fs=7.5, color=GREEN)
    _arrow(ax, (4.9, 0.92), (2.6, 1.3), color=RED, rad=-0.3)
    _note(ax, 3.45, 0.72, "no leash, big steps", fs=7.5, color=RED)
    _note(ax, 8.9, 0.6, "lesson 06 finds\nthe red region;\nlesson 07 shows a\npolicy going there", fs=7.5)
    return _save(fig, "06_diagram_reward_hacking")


# --------------------------------------------------------------------------- 07 PPO and GRPO

def rlhf_models() -> Figure:
    """The four models of PPO for RLHF and what flows between them: the policy writes answers, the
    reward model scores them, the reference prices drift (KL), the value model supplies baselines."""
    fig, ax = _canvas(10, 3.8, "PPO for RLHF: four models, two of them trained")
    y = 1.95
    _box(ax, 0.55, y, "prompts", DATA, w=0.85, h=0.5)
    _box(ax, 2.05, y, "policy\n(a copy of SFT,\ntrained)", TRAINED, w=1.45, h=0.85, fs=8.5, bold=True)
    _box(ax, 3.85, y, "rollouts:\nprompt + sampled\nanswer", DATA, w=1.45, h=0.85, fs=8.5)
    _arrow(ax, (0.98, y), (1.32, y))
    _arrow(ax, (2.78, y), (3.12, y))
    models = [(3.0, "reference\n(SFT, frozen)", FROZEN, "log-probs: KL penalty"),
              (1.95, "reward model\n(lesson 06, frozen)", FROZEN, "score, last token"),
              (0.9, "value model\n(from the reward\nmodel, trained)", TRAINED, "a value per token")]
    for my, name, color, out in models:
        _box(ax, 5.85, my, name, color, w=1.6, h=0.8, fs=8.5)
        _arrow(ax, (4.58, y), (5.05, my), color="#777777", lw=1.1)
        _arrow(ax, (6.65, my), (8.35, my), color="#777777", lw=1.1, text=out, offset=(0, 0.15), fs=7.5)
    _box(ax, 9.15, y, "per-token rewards:\nscore on the last\ntoken, -beta x KL\non every token\n\n"
         "GAE advantages,\nwhitened", RESULT, w=1.6, h=2.55, fs=8)
    ax.plot([9.15, 9.15, 2.05], [y - 1.28, 0.22, 0.22], color=RED, lw=1.4)
    _arrow(ax, (2.05, 0.22), (2.05, y - 0.43), color=RED, lw=1.4)
    _arrow(ax, (5.85, 0.22), (5.85, 0.5), color=RED, lw=1.4)
    _note(ax, 3.95, 0.38, "clipped policy and value updates", fs=8, color=RED)
    return _save(fig, "07_diagram_four_models")


def ppo_loop() -> Figure:
    """One PPO step as a cycle of five stages, from sampling answers to the clipped update, repeated
    for every batch of prompts."""
    fig, ax = _canvas(10, 3.6, "One PPO step, repeated")
    steps = [
        ("1 rollout", "the policy samples one\nanswer per prompt"),
        ("2 score", "the reward model scores\nprompt + answer"),
        ("3 per-token reward", "score on the last token,\n-beta x KL on every token"),
        ("4 advantages", "values + GAE(gamma, lambda),\nthen whitened"),
        ("5 update", "a few passes over minibatches:\nclipped policy + value losses"),
    ]
    cx, cy, rx, ry = 5.0, 1.65, 3.3, 1.15
    angles = [90, 18, -54, -126, 162]
    pts = [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in angles]
    for (x, y), (head, body) in zip(pts, steps, strict=True):
        _box(ax, x, y, f"{head}\n{body}", TRAINED if head.startswith("5") else FLOW, w=2.35, h=0.8, fs=8)
    ax.add_patch(Ellipse((cx, cy), 2 * rx, 2 * ry, fc="none", ec="#999999", lw=1.3, zorder=1))
    for mid in (54, -18, -90, 198, 126):  # arrowheads between the stages, clockwise
        t0, t1 = math.radians(mid + 4), math.radians(mid - 4)
        ax.annotate("", xy=(cx + rx * math.cos(t1), cy + ry * math.sin(t1)),
                    xytext=(cx + rx * math.cos(t0), cy + ry * math.sin(t0)),
                    arrowprops=dict(arrowstyle="-|>", color="#777777", lw=1.3, mutation_scale=14))
    _note(ax, cx, cy, "the policy moves a little\neach time: the KL penalty\nand the clip keep it near", fs=8,
          color=INK)
    return _save(fig, "07_diagram_ppo_loop")


def grpo_group() -> Figure:
    """GRPO's baseline: several answers to one prompt, each scored; an answer's advantage is its
    reward minus the group's mean, over the group's spread, so no value model is needed."""
    fig, ax = _canvas(10, 3.5, "GRPO: the group of answers is the baseline")
    _box(ax, 0.8, 1.65, "one\nprompt", DATA, w=1.0, h=0.7)
    rewards = [1.0, 0.0, 1.0, 1.0]
    ys = [2.65, 1.98, 1.32, 0.65]
    for i, (y, r) in enumerate(zip(ys, rewards, strict=True)):
        _arrow(ax, (1.32, 1.65), (1.9, y), color="#999999", lw=1)
        _box(ax, 2.75, y, f"answer {i + 1}  " + ("(passes)" if r else "(fails)"), RESULT if r else RED, w=1.7,
             h=0.5, fs=8)
        _arrow(ax, (3.62, y), (4.05, y), color="#999999", lw=1)
    _note(ax, 2.75, 0.2, "sampled from the policy", fs=7.5)
    mean = sum(rewards) / len(rewards)
    std = (sum((r - mean) ** 2 for r in rewards) / len(rewards)) ** 0.5
    advantages = [(r - mean) / std for r in rewards]
    ax.text(5.35, 3.12, "reward r_i (1: the judges pass it)", ha="center", fontsize=8.5, fontweight="bold", color=INK)
    ax.text(8.2, 3.12, "advantage (r_i - mean) / std", ha="center", fontsize=8.5, fontweight="bold", color=INK)
    for y, r, adv in zip(ys, rewards, advantages, strict=True):
        ax.add_patch(Rectangle((4.25, y - 0.18), 2.2 * r, 0.36, fc=_tint(PURPLE, 0.4), ec="none"))
        _note(ax, 4.3 + 2.2 * r + 0.05, y, f"{r:g}", fs=8, color=INK, ha="left")
        ax.add_patch(Rectangle((8.2, y - 0.18), 0.55 * adv, 0.36, fc=_tint(GREEN if adv > 0 else RED, 0.4), ec="none"))
    for x, label in ((4.25 + 2.2 * mean, "group mean"), (8.2, "0")):
        ax.plot([x, x], [0.35, 2.95], color=INK, ls="--", lw=1)
        _note(ax, x, 0.2, label, fs=7.5)
    _arrow(ax, (6.85, 1.65), (7.15, 1.65))
    _note(ax, 9.5, 1.65, "no value\nmodel:\nthe group\nmean is the\nbaseline", fs=7.5, color=INK)
    return _save(fig, "07_diagram_grpo")


# --------------------------------------------------------------------------- 08 DPO

def ppo_vs_dpo() -> Figure:
    """The two routes from preference pairs to an aligned policy: PPO trains a reward model and runs
    an RL loop that samples; DPO fits the policy to the pairs directly against a frozen reference."""
    fig, ax = _canvas(10, 3.6, "From preference pairs to a better policy: PPO vs DPO")
    for y, label in ((2.55, "PPO"), (0.95, "DPO")):
        ax.text(0.2, y, label, ha="left", va="center", fontsize=11, fontweight="bold", color=INK)
        _box(ax, 1.7, y, "preference\npairs", REWARD, w=1.2, h=0.65, fs=8.5)
        _box(ax, 9.15, y, "aligned\npolicy", RESULT, w=1.1, h=0.65, fs=8.5)
    _box(ax, 3.65, 2.55, "train a\nreward model", REWARD, w=1.5, h=0.65, fs=8.5)
    _box(ax, 6.45, 2.55, "RL loop: sample answers, score them,\nKL to the reference, value model, clip",
         TRAINED, w=3.2, h=0.65, fs=8.5)
    for a, b in ((2.3, 2.9), (4.4, 4.85), (8.05, 8.6)):
        _arrow(ax, (a, 2.55), (b, 2.55))
    _arrow(ax, (7.6, 2.92), (5.3, 2.92), color=TRAINED, rad=0.25)
    _note(ax, 8.0, 3.05, "repeat", fs=7.5, color=TRAINED)
    _note(ax, 5.4, 1.95, "four models (policy, reference, reward, value); sampling inside training", fs=8)
    _box(ax, 5.35, 0.95, "one classification-like loss on the pairs:\n"
         "-log sigmoid(beta x [log-ratio of chosen - log-ratio of rejected])\nlog-ratio = log pi / pi_ref,  "
         "pi_ref frozen", TRAINED, w=5.2, h=0.9, fs=8.5)
    for a, b in ((2.3, 2.75), (7.95, 8.6)):
        _arrow(ax, (a, 0.95), (b, 0.95))
    _note(ax, 5.35, 0.25, "two models (policy, reference); no reward model, no sampling loop", fs=8)
    return _save(fig, "08_diagram_ppo_vs_dpo")


def dpo_loss() -> Figure:
    """The DPO loss as a picture: each answer's implicit reward is beta times how much more likely the
    policy makes it than the reference does; the loss asks the chosen one's to be higher."""
    fig, ax = _canvas(10, 3.4, "The DPO loss: implicit rewards from two models, one pair")
    for y, name in ((2.45, "chosen y_w"), (0.95, "rejected y_l")):
        _box(ax, 0.95, y, name, RESULT if "chosen" in name else RED, w=1.45, h=0.5, fs=8.5)
        _box(ax, 3.05, y + 0.33, "log pi(y | x)  policy, trained", TRAINED, w=2.35, h=0.42, fs=8)
        _box(ax, 3.05, y - 0.33, "log pi_ref(y | x)  reference, frozen", FROZEN, w=2.35, h=0.42, fs=7.6)
        _arrow(ax, (1.68, y + 0.05), (1.87, y + 0.3), color="#999999", lw=1)
        _arrow(ax, (1.68, y - 0.05), (1.87, y - 0.3), color="#999999", lw=1)
        _box(ax, 5.75, y, "implicit reward\nbeta x (log pi - log pi_ref)", REWARD, w=2.2, h=0.62, fs=8)
        _arrow(ax, (4.23, y + 0.25), (4.65, y + 0.08), color="#999999", lw=1)
        _arrow(ax, (4.23, y - 0.25), (4.65, y - 0.08), color="#999999", lw=1)
        _arrow(ax, (6.85, y), (7.45, 1.7 + (y - 1.7) * 0.3), color="#999999", lw=1)
    _box(ax, 8.55, 1.7, "loss =\n-log sigmoid(chosen's\nminus rejected's)", RED, w=2.1, h=0.85, fs=8.5)
    _note(ax, 5.0, 0.2, "Summed log-probabilities of the answer's tokens; beta plays the KL coefficient's role.",
          fs=8)
    return _save(fig, "08_diagram_dpo_loss")


def pair_sources() -> Figure:
    """Where preference pairs come from: sampled from the current policy at every step (PPO, GRPO:
    online), sampled once from the starting model (the course's DPO), or written by someone else."""
    fig, ax = _canvas(10, 3.5, "On-policy and offline: when the answers being compared were written")
    rows = [
        (2.65, "PPO, GRPO\n(online)",
         ["sample from\nthe policy", "update", "sample from the\nupdated policy", "update, ..."],
         [FLOW, TRAINED, FLOW, TRAINED]),
        (1.6, "the course's DPO\n(on-policy pairs,\nthen offline)",
         ["sample from\nthe SFT model", "judges rank:\npairs", "DPO steps on\nthe same pairs"],
         [FLOW, REWARD, TRAINED]),
        (0.55, "lesson 06's pairs\n(off-policy)",
         ["answers written\nfor the data set", "pairs", "reward model (06);\nDPO's transfer test"],
         [GREY, REWARD, TRAINED]),
    ]
    for y, label, steps, colors in rows:
        _note(ax, 1.0, y, label, fs=8.5, color=INK)
        for i, (s, c) in enumerate(zip(steps, colors, strict=True)):
            x = 2.75 + i * 1.55
            _box(ax, x, y, s, c, w=1.38, h=0.66, fs=7.8)
            if i:
                _arrow(ax, (x - 1.55 + 0.68, y), (x - 0.68, y), color="#777777", lw=1.1)
    _note(ax, 9.2, 2.65, "always the model's\nown, up to date", fs=7.5)
    _note(ax, 9.2, 1.6, "its own at the start;\nolder as it trains", fs=7.5)
    _note(ax, 9.2, 0.55, "never its own words", fs=7.5)
    return _save(fig, "08_diagram_pair_sources")


# --------------------------------------------------------------------------- 09 capstone

def two_paths() -> Figure:
    """The paths a question can take: to a model that holds the facts in its weights (fine-tuning),
    or through a retriever whose notes the model reads (RAG); a reader fine-tuned on notes is both."""
    fig, ax = _canvas(10, 3.4, "Where the facts live: in the weights, or in notes looked up per question")
    _box(ax, 0.8, 1.6, "question", DATA, w=1.05, h=0.55)
    _box(ax, 3.9, 2.6, "model\n(facts in its weights)", TRAINED, w=2.0, h=0.65, fs=8.5)
    _box(ax, 8.9, 2.6, "answer", RESULT, w=1.0, h=0.5)
    _arrow(ax, (1.35, 1.8), (2.88, 2.5))
    _arrow(ax, (4.92, 2.6), (8.38, 2.6))
    _note(ax, 6.65, 2.8, "fine-tuning: pays once, in training;\nknowledge fixed until the next run", fs=7.5)
    _box(ax, 2.85, 0.75, "retriever\n(MiniLM + index)", DATA, w=1.6, h=0.65, fs=8.5)
    _box(ax, 4.95, 0.75, "notes +\nquestion", DATA, w=1.25, h=0.65, fs=8.5)
    _box(ax, 7.0, 0.75, "model reads\nthe notes", FLOW, w=1.5, h=0.65, fs=8.5)
    _box(ax, 8.9, 0.75, "answer", RESULT, w=1.0, h=0.5)
    _arrow(ax, (1.35, 1.4), (2.05, 0.95))
    for a, b in ((3.67, 4.3), (5.6, 6.23), (7.77, 8.38)):
        _arrow(ax, (a, 0.75), (b, 0.75))
    _note(ax, 5.4, 1.45, "RAG: pays at every question (a search, a longer prompt);\nknowledge as fresh as the notes",
          fs=7.5)
    _note(ax, 7.0, 0.2, "fine-tuned to read notes: both", fs=7.5, color=TRAINED)
    return _save(fig, "09_diagram_two_paths")


def rag_loop() -> Figure:
    """The RAG loop in the course: notes embedded once into an index; each question embedded the
    same way, its top-k notes pasted into the prompt; a changed fact means re-embedding one note."""
    fig, ax = _canvas(10, 3.7, "Retrieval-augmented generation, and how its knowledge is updated")
    _box(ax, 1.05, 2.75, "knowledge base:\none note per fact", DATA, w=1.75, h=0.62, fs=8.5)
    _box(ax, 3.35, 2.75, "MiniLM encoder\n(frozen)", FROZEN, w=1.6, h=0.62, fs=8.5)
    _box(ax, 5.6, 2.75, "index: one unit\nvector per note", PURPLE, w=1.65, h=0.62, fs=8.5)
    _arrow(ax, (1.93, 2.75), (2.55, 2.75))
    _arrow(ax, (4.15, 2.75), (4.77, 2.75), text="embed once", offset=(0, 0.45), fs=7.5)
    _box(ax, 1.05, 1.15, "question", DATA, w=1.1, h=0.5)
    _box(ax, 3.35, 1.15, "MiniLM encoder\n(the same)", FROZEN, w=1.6, h=0.62, fs=8.5)
    _box(ax, 5.6, 1.15, "top-k notes by\ncosine similarity", PURPLE, w=1.65, h=0.62, fs=8.5)
    _box(ax, 7.75, 1.15, "model reads\nnotes + question", FLOW, w=1.65, h=0.62, fs=8.5)
    _box(ax, 9.45, 1.15, "answer", RESULT, w=0.9, h=0.5)
    for a, b in ((1.6, 2.55), (4.15, 4.77), (6.43, 6.92), (8.58, 8.99)):
        _arrow(ax, (a, 1.15), (b, 1.15))
    _arrow(ax, (5.6, 2.43), (5.6, 1.47), text="search", offset=(0.3, 0), fs=7.5)
    _box(ax, 8.35, 2.75, "a fact changes:\nre-embed that note only\n(no training)", ORANGE, w=2.1, h=0.8, fs=8,
         ls="--")
    _arrow(ax, (7.3, 2.75), (6.43, 2.75), color=ORANGE, ls="--")
    _note(ax, 5.0, 0.3, "every question: one encoder pass and one matrix product with the index, then a longer prompt",
          fs=8)
    return _save(fig, "09_diagram_rag_loop")


def knowledge_options() -> Figure:
    """Fine-tuning, RAG, or both, side by side: where the facts live, what an update costs, and
    what each is good at, as a picture of the trade-off the lesson measures."""
    fig, ax = _canvas(10, 3.5, "Fine-tuning, RAG, or both")
    cols = [("fine-tuning", TRAINED, ["facts in the weights", "train again on the\nchanged facts",
                                      "teaches behaviour,\nformat, a domain's\nlanguage"]),
            ("RAG", PURPLE, ["facts in an index\nof notes", "re-embed the changed\nnotes; no training",
                             "fresh and citable\nknowledge; the model\nmust know how to read"]),
            ("both", GREEN, ["facts in the notes;\nreading in the weights",
                             "re-embed; train again\nonly to change behaviour",
                             "the usual product:\nformat from training,\nfreshness from retrieval"])]
    rows = ["where the facts live", "what an update costs", "good for"]
    for j, row in enumerate(rows):
        _note(ax, 0.95, 2.3 - j * 0.85, row, fs=8.5, color=INK)
    for i, (name, color, cells) in enumerate(cols):
        x = 3.05 + i * 2.7
        _box(ax, x, 2.95, name, color, w=2.5, h=0.4, fs=9.5, bold=True, fill=0.6)
        for j, cell in enumerate(cells):
            _box(ax, x, 2.3 - j * 0.85, cell, color, w=2.5, h=0.75, fs=8, fill=0.9)
    return _save(fig, "09_diagram_knowledge_options")
