"""Lesson 04's exercises (LoRA): counting adapter parameters, the LoRA forward pass, a LoRA layer;
each check with its solution and wrong answers."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from course_utils.exercises import Exercise, run_check


def check_lora_param_count(lora_param_count: Callable) -> bool:
    """Easy: ``lora_param_count(d_in, d_out, r)``: how many numbers A and B hold."""
    def check():
        for d_in, d_out, r in [(192, 192, 8), (192, 512, 4), (4096, 4096, 16), (10, 3, 1)]:
            got, want = lora_param_count(d_in, d_out, r), r * (d_in + d_out)
            if got != want:
                return False, (f"d_in={d_in}, d_out={d_out}, r={r}: expected {want}, got {got} "
                               f"(A is r x d_in, B is d_out x r)")
        return True, "r * (d_in + d_out): for 4096 x 4096 at r=16 that is 0.8% of the matrix"
    return run_check("LoRA parameter count", check)


def lora_param_count(d_in: int, d_out: int, r: int) -> int:
    """Solution: A is r x d_in, B is d_out x r."""
    return r * (d_in + d_out)


def check_lora_forward(lora_forward: Callable) -> bool:
    """Medium: ``lora_forward(x, W, A, B, alpha, r)`` = x W^T + (alpha / r) x A^T B^T."""
    def check():
        torch.manual_seed(0)
        x, W = torch.randn(3, 16), torch.randn(8, 16)
        A, B = torch.randn(4, 16), torch.randn(8, 4)
        want = x @ W.T + (x @ A.T @ B.T) * (8 / 4)
        got = lora_forward(x, W, A, B, 8, 4)
        if tuple(got.shape) != (3, 8):
            return False, f"output should be (batch, d_out) = (3, 8), got {tuple(got.shape)}"
        if torch.allclose(got, x @ W.T + x @ A.T @ B.T, atol=1e-5):
            return False, "scale the update by alpha / r"
        if not torch.allclose(got, want, atol=1e-4):
            return False, f"max difference {float((got - want).abs().max()):.3g} from x W^T + (alpha/r) x A^T B^T"
        return True, "the frozen path plus the scaled low-rank path"
    return run_check("LoRA forward", check)


def lora_forward(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                 alpha: float, r: int) -> torch.Tensor:
    """Solution: the frozen path plus the low-rank path, scaled by alpha / r."""
    return x @ W.T + (x @ A.T @ B.T) * (alpha / r)


def check_lora_layer(make_layer: Callable) -> bool:
    """Hard: ``make_layer(base, r, alpha)`` returns an nn.Module that wraps the frozen ``base``
    Linear with trainable ``A`` (r x in) and ``B`` (out x r, zeros) scaled by alpha / r."""
    def check():
        torch.manual_seed(0)
        base = nn.Linear(24, 12)
        layer = make_layer(base, 4, 8)
        x = torch.randn(5, 24)
        if not torch.allclose(layer(x), base(x), atol=1e-6):
            return False, "at initialisation the layer must compute exactly what base does: start B at zero"
        trainable = [p for p in layer.parameters() if p.requires_grad]
        n = sum(p.numel() for p in trainable)
        if n != 4 * (24 + 12):
            return False, f"expected {4 * (24 + 12)} trainable numbers (A and B only; freeze base), got {n}"
        shapes = sorted(tuple(p.shape) for p in trainable)
        if shapes != sorted([(4, 24), (12, 4)]):
            return False, f"A should be (r, in) = (4, 24) and B (out, r) = (12, 4), got {shapes}"
        A = next(p for p in trainable if tuple(p.shape) == (4, 24))
        B = next(p for p in trainable if tuple(p.shape) == (12, 4))
        if A.abs().sum().item() == 0:
            return False, "A must start random (only B starts at zero), or B gets no gradient"
        with torch.no_grad():
            B.normal_()
        want = base(x) + x @ A.T @ B.T * 2.0
        if not torch.allclose(layer(x), want, atol=1e-4):
            return False, "with non-zero B the output should be base(x) + (alpha/r) x A^T B^T"
        layer(x).sum().backward()
        if base.weight.grad is not None:
            return False, "the base weight received a gradient: freeze it (requires_grad_(False))"
        return True, "a working LoRA layer: frozen W, trainable A and B, zero update at the start"
    return run_check("a LoRA layer", check)


class MyLoRA(nn.Module):
    """Solution: a frozen Linear plus B A, with B starting at zero."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scaling = alpha / r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + x @ self.A.T @ self.B.T * self.scaling


def make_layer(base: nn.Linear, r: int, alpha: float) -> nn.Module:
    """Solution: the LoRA layer around ``base``."""
    return MyLoRA(base, r, alpha)


class _RandomB(MyLoRA):
    """Wrong: B starts random, so the layer does not start as ``base``."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__(base, r, alpha)
        nn.init.normal_(self.B)


class _Unfrozen(MyLoRA):
    """Wrong: the base weight stays trainable."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__(base, r, alpha)
        base.requires_grad_(True)


EXERCISES: tuple[Exercise, ...] = (
    Exercise("04", "lora_param_count", check_lora_param_count, lora_param_count,
             wrong=(lambda i, o, r: i * o, lambda i, o, r: r * i * o)),
    Exercise("04", "lora_forward", check_lora_forward, lora_forward,
             wrong=(lambda x, W, A, B, alpha, r: x @ W.T + x @ A.T @ B.T,)),  # not scaled by alpha / r
    Exercise("04", "make_layer", check_lora_layer, make_layer,
             wrong=(_RandomB, _Unfrozen, lambda base, r, alpha: base)),
)
