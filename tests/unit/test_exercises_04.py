"""Lesson 04's exercise checks: each solution passes, wrong answers fail (and nothing raises)."""
from pathlib import Path

import torch
from torch import nn

from course_utils.exercises import lesson04 as ex
from course_utils.exercises import load_solutions

sol = load_solutions("04")


def test_param_count():
    assert ex.check_lora_param_count(sol.lora_param_count)
    assert not ex.check_lora_param_count(lambda i, o, r: i * o)
    assert not ex.check_lora_param_count(lambda i, o, r: r * i * o)


def test_forward():
    assert ex.check_lora_forward(sol.lora_forward)
    assert not ex.check_lora_forward(lambda x, W, A, B, alpha, r: x @ W.T + x @ A.T @ B.T)
    assert not ex.check_lora_forward(lambda *a: (_ for _ in ()).throw(NotImplementedError))


def test_layer():
    assert ex.check_lora_layer(sol.make_layer)

    class RandomB(sol.MyLoRA):
        def __init__(self, base, r, alpha):
            super().__init__(base, r, alpha)
            nn.init.normal_(self.B)

    class Unfrozen(sol.MyLoRA):
        def __init__(self, base, r, alpha):
            super().__init__(base, r, alpha)
            base.requires_grad_(True)

    assert not ex.check_lora_layer(RandomB)
    assert not ex.check_lora_layer(Unfrozen)
    assert not ex.check_lora_layer(lambda base, r, a: base)
    assert torch.is_grad_enabled()
