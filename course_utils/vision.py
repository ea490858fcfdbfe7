"""A small CNN on scikit-learn's 8x8 digits, for lesson 02's vision half of transfer learning.

Pretrain on some digit classes (0-4), then reuse the convolutional body on the others (5-9)
with few labels, three ways: frozen body + new head, fine-tune everything (a smaller learning
rate for the body), or the same network from scratch. Plus what the layers respond to:
first-layer filters, feature maps, and inputs optimised to excite one deep channel.

The digits are pasted at random positions on a larger canvas (:func:`scatter`), like objects
in photos that are not centred: pretraining on many placed images teaches features that do not
care where the digit is, which a handful of labelled images cannot teach. (On centred 8x8
digits a CNN from scratch reaches ~77% with one label per class, leaving little to transfer.)
"""
from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

METHODS = ("scratch", "frozen", "finetune")


@contextmanager
def one_thread():
    """Run tiny convolutions on one CPU thread: faster than two for 8x8 images, and much
    faster when the CPU is busy (threads then wait for each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class DigitSplit:
    """Images ``x`` (N, 1, 8, 8) in [0, 1], labels ``y`` renumbered 0..k-1, and the digit each means."""

    x: torch.Tensor
    y: torch.Tensor
    digits: tuple[int, ...]


def load_digits_split(digits: tuple[int, ...], test_fraction: float = 0.5,
                      seed: int = 0) -> tuple[DigitSplit, DigitSplit]:
    """The images of ``digits`` from sklearn's ``load_digits``, split per class into (pool, test).

    Labels are renumbered in the order given (digits (5, 6) -> labels 0, 1)."""
    digits = tuple(int(d) for d in digits)
    if not digits or any(d < 0 or d > 9 for d in digits) or len(set(digits)) != len(digits):
        raise ValueError(f"digits must be distinct integers 0-9, got {digits}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    raw = load_digits()
    rng = np.random.default_rng(seed)
    pool_idx, test_idx = [], []
    for d in digits:
        idx = rng.permutation(np.flatnonzero(raw.target == d))
        n_test = int(round(len(idx) * test_fraction))
        test_idx.extend(idx[:n_test])
        pool_idx.extend(idx[n_test:])
    relabel = {d: i for i, d in enumerate(digits)}

    def make(idx: list[int]) -> DigitSplit:
        idx = np.array(sorted(idx))
        x = torch.tensor(raw.images[idx] / 16.0, dtype=torch.float32).unsqueeze(1)
        y = torch.tensor([relabel[int(t)] for t in raw.target[idx]])
        return DigitSplit(x, y, digits)

    return make(pool_idx), make(test_idx)


CANVAS = 12


def scatter(split: DigitSplit, canvas: int = CANVAS, copies: int = 1, seed: int = 0) -> DigitSplit:
    """Each image pasted ``copies`` times at random positions on a ``canvas`` x ``canvas`` field."""
    size = split.x.shape[-1]
    if canvas < size:
        raise ValueError(f"canvas ({canvas}) must be at least the image size ({size})")
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    gen = torch.Generator().manual_seed(seed)
    x = split.x.repeat(copies, 1, 1, 1)
    offsets = torch.randint(0, canvas - size + 1, (len(x), 2), generator=gen).tolist()
    out = torch.zeros(len(x), 1, canvas, canvas)
    for i, (r, c) in enumerate(offsets):
        out[i, :, r:r + size, c:c + size] = x[i]
    return DigitSplit(out, split.y.repeat(copies), split.digits)


def sample_per_class(labels, k: int, seed: int = 0) -> np.ndarray:
    """Indices of ``k`` random examples of every class in ``labels`` (a few-label training set)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if k < 1 or k > len(idx):
            raise ValueError(f"asked for {k} examples of class {c}, but it has {len(idx)}; choose 1..{len(idx)}")
        out.extend(rng.choice(idx, size=k, replace=False))
    return np.array(sorted(out))


class SmallCNN(nn.Module):
    """Three 3x3 conv layers (the reusable ``body``) and a linear ``head`` on top."""

    def __init__(self, n_classes: int, width: int = 16):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),                    # strokes, edges
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # parts (half size)
            nn.Conv2d(2 * width, 4 * width, 3, padding=1), nn.ReLU(),        # shapes
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(4 * width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))

    def conv_layers(self) -> list[nn.Conv2d]:
        return [m for m in self.body if isinstance(m, nn.Conv2d)]


def count_trainable(model: nn.Module) -> int:
    """Parameters the optimiser will update (``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, steps: int = 150, lr: float = 1e-2,
          body_lr: float | None = None, batch_size: int = 64, seed: int = 0) -> list[float]:
    """Adam on cross-entropy; ``body_lr`` (if given) is the body's learning rate, ``lr`` the head's.

    Frozen parameters (``requires_grad=False``) are left out. Returns the loss per step."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and the same length, got {len(x)} and {len(y)}")
    head = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("head")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head")]
    groups = [{"params": head, "lr": lr}]
    if body:
        groups.append({"params": body, "lr": body_lr if body_lr is not None else lr})
    opt = torch.optim.Adam(groups)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    with one_thread():
        for _ in range(steps):
            idx = torch.randperm(len(x), generator=gen)[:batch_size]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return (model(x).argmax(-1) == y).float().mean().item()


def pretrain(source: DigitSplit, *, steps: int = 500, lr: float = 3e-3, seed: int = 0,
             width: int = 16) -> SmallCNN:
    """A CNN trained on every image of the source digits (pass :func:`scatter` copies)."""
    torch.manual_seed(seed)
    model = SmallCNN(len(source.digits), width)
    train(model, source.x, source.y, steps=steps, lr=lr, seed=seed)
    return model


def make_transfer_model(method: str, pretrained: SmallCNN, n_classes: int, seed: int = 0) -> SmallCNN:
    """A model for the target classes: ``scratch`` (fresh), ``frozen`` or ``finetune`` (copied body).

    Every method gets a new randomly initialised head; ``frozen`` also stops the body's gradients."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    torch.manual_seed(seed)
    width = pretrained.body[0].out_channels
    model = SmallCNN(n_classes, width)
    if method != "scratch":
        model.body = copy.deepcopy(pretrained.body)
    if method == "frozen":
        model.body.requires_grad_(False)
    return model


#: Learning rates per method: (head, body). Fine-tuning moves the pretrained body 10x slower.
DEFAULT_LRS = {"scratch": (3e-3, 3e-3), "frozen": (1e-2, None), "finetune": (1e-2, 1e-3)}


def run_method(method: str, pretrained: SmallCNN, train_split: DigitSplit, test_split: DigitSplit, *,
               steps: int = 150, seed: int = 0, lrs: dict | None = None) -> dict:
    """Train one method on ``train_split``; accuracy on ``test_split``, trainable params, seconds."""
    head_lr, body_lr = (lrs or DEFAULT_LRS)[method]
    model = make_transfer_model(method, pretrained, len(train_split.digits), seed)
    t0 = time.perf_counter()
    train(model, train_split.x, train_split.y, steps=steps, lr=head_lr, body_lr=body_lr, seed=seed)
    return {"accuracy": accuracy(model, test_split.x, test_split.y), "trainable": count_trainable(model),
            "seconds": time.perf_counter() - t0, "model": model}


def learning_curve(pretrained: SmallCNN, pool: DigitSplit, test: DigitSplit, labels_per_class: list[int],
                   *, seeds: int = 3, steps: int = 150, seed: int = 0) -> dict[str, list[float]]:
    """Mean test accuracy of each method at each number of labels per class (over ``seeds`` draws;
    the draws of course seed ``seed`` are ``1000 * seed + 0 .. seeds - 1``)."""
    curves: dict[str, list[float]] = {m: [] for m in METHODS}
    for k in labels_per_class:
        accs: dict[str, list[float]] = {m: [] for m in METHODS}
        for s in range(1000 * seed, 1000 * seed + seeds):
            idx = sample_per_class(pool.y.numpy(), k, seed=s)
            few = DigitSplit(pool.x[idx], pool.y[idx], pool.digits)
            for m in METHODS:
                accs[m].append(run_method(m, pretrained, few, test, steps=steps, seed=s)["accuracy"])
        for m in METHODS:
            curves[m].append(float(np.mean(accs[m])))
    return curves


# ---- what the layers respond to -------------------------------------------------------------

def plot_filters(model: SmallCNN, max_filters: int = 16):
    """The first conv layer's 3x3 filters as small images (red: positive, blue: negative)."""
    w = model.conv_layers()[0].weight.detach()[:max_filters, 0]
    cols = min(8, len(w))
    rows = int(np.ceil(len(w) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.2 * rows + 0.3), squeeze=False)
    lim = float(w.abs().max())
    for ax, f in zip(axes.flat, w, strict=False):  # the last row of the grid may have spare axes
        ax.imshow(f, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for ax in axes.flat:
        ax.axis("off")
    fig.suptitle("first-layer filters (3x3)")
    return fig


@torch.no_grad()
def feature_maps(model: SmallCNN, image: torch.Tensor) -> list[torch.Tensor]:
    """The activation maps after each conv layer's ReLU for one image (1, H, W)."""
    maps, h = [], image.reshape(1, 1, *image.shape[-2:])
    for module in model.body:
        h = module(h)
        if isinstance(module, nn.ReLU):
            maps.append(h[0].clone())
    return maps


def maximise_channel(model: SmallCNN, layer: int, channel: int, *, size: int = CANVAS,
                     steps: int = 100, lr: float = 0.1, seed: int = 0) -> torch.Tensor:
    """A ``size`` x ``size`` input, optimised by gradient ascent, that most excites ``channel`` of conv ``layer``.

    The image is kept in [0, 1] with a sigmoid; a small L2 penalty keeps it from saturating."""
    n_layers = len(model.conv_layers())
    if not 0 <= layer < n_layers:
        raise ValueError(f"layer must be 0..{n_layers - 1}, got {layer}")
    n_ch = model.conv_layers()[layer].out_channels
    if not 0 <= channel < n_ch:
        raise ValueError(f"layer {layer} has channels 0..{n_ch - 1}, got {channel}")
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    logits = (0.1 * torch.randn(1, 1, size, size, generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        img = torch.sigmoid(logits)
        h, seen = img, -1
        for module in model.body:
            h = module(h)
            if isinstance(module, nn.ReLU):
                seen += 1
                if seen == layer:
                    break
        loss = -h[0, channel].mean() + 0.05 * (img ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.sigmoid(logits).detach()[0, 0]
