"""Lesson 03's exercise checks: each solution passes, wrong answers fail (and nothing raises)."""
from pathlib import Path

import torch
import torch.nn.functional as F

from course_utils.exercises import lesson03 as ex
from course_utils.exercises import load_solutions

sol = load_solutions("03")


def test_mask_prompt():
    assert ex.check_mask_prompt(sol.mask_prompt)
    assert not ex.check_mask_prompt(lambda p, c: (p + c, p + c))  # nothing masked
    assert not ex.check_mask_prompt(lambda p, c: (_ for _ in ()).throw(NotImplementedError))


def test_completion_loss():
    assert ex.check_completion_loss(sol.completion_loss)
    unshifted = lambda lo, la: F.cross_entropy(lo.reshape(-1, lo.size(-1)), la.reshape(-1), ignore_index=-100)  # noqa: E731
    assert not ex.check_completion_loss(unshifted)
    assert not ex.check_completion_loss(lambda lo, la: 1 / 0)


def test_sft_step():
    assert ex.check_sft_step(sol.sft_step)

    def no_zero_grad(model, opt, batch):
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        return float(loss)

    def no_step(model, opt, batch):
        return float(model(**batch).loss)

    assert not ex.check_sft_step(no_zero_grad)
    assert not ex.check_sft_step(no_step)
    assert torch.is_grad_enabled()
