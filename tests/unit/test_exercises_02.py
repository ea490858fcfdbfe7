"""Lesson 02's exercise checks: each solution passes, wrong answers fail, nothing raises."""
from __future__ import annotations


import torch

from course_utils import paths
from course_utils.exercises import lesson02 as ex
from course_utils.exercises import load_solutions

sol = load_solutions("02")


def test_solutions_pass():
    assert ex.check_freeze_body(sol.freeze_body)
    assert ex.check_mean_pool(sol.mean_pool)
    assert ex.check_param_groups(sol.param_groups)


def _not_started(*args):
    raise NotImplementedError


def test_unstarted_exercises_fail_without_raising(capsys):
    assert not ex.check_freeze_body(_not_started)
    assert not ex.check_mean_pool(_not_started)
    assert not ex.check_param_groups(_not_started)
    assert "not attempted" in capsys.readouterr().out


def test_wrong_answers_fail():
    def freeze_everything(model):
        model.requires_grad_(False)
        return 0

    def plain_mean(hidden, mask):
        return hidden.mean(1)

    def one_group(model, body_lr, head_lr):
        return [{"params": list(model.parameters()), "lr": head_lr}]

    def swapped(model, body_lr, head_lr):
        return sol.param_groups(model, head_lr, body_lr)

    assert not ex.check_freeze_body(freeze_everything)
    assert not ex.check_mean_pool(plain_mean)
    assert not ex.check_param_groups(one_group)
    assert not ex.check_param_groups(swapped)
    assert torch.is_tensor(sol.mean_pool(torch.ones(1, 2, 3), torch.ones(1, 2)))
