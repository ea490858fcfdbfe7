"""Lesson 08's exercise checks accept the solutions and reject wrong answers."""

import torch

from course_utils.exercises import lesson08 as ex
from course_utils.paths import NOTEBOOKS_DIR
from course_utils.exercises import load_solutions

sol = load_solutions("08")


def not_started(*args):
    raise NotImplementedError


def test_solutions_pass():
    assert ex.check_implicit_reward(sol.implicit_reward)
    assert ex.check_dpo_loss(sol.dpo_loss)
    assert ex.check_optimal_policy(sol.optimal_policy)


def test_wrong_answers_fail(capsys):
    assert not ex.check_implicit_reward(lambda p, r, b: p - r)
    assert "beta" in capsys.readouterr().out
    assert not ex.check_dpo_loss(lambda pc, pr, rc, rr, b: sol.dpo_loss(pr, pc, rr, rc, b))
    assert "swapped" in capsys.readouterr().out
    assert not ex.check_dpo_loss(lambda pc, pr, rc, rr, b: -torch.nn.functional.logsigmoid(b * (pc - pr)).mean())
    assert not ex.check_optimal_policy(lambda ref, r, b: ref * torch.exp(r / b))  # not normalised
    assert "sum to 1" in capsys.readouterr().out
    assert not ex.check_optimal_policy(lambda ref, r, b: torch.softmax(r / b, 0))  # forgets the reference


def test_unfinished_answers_fail_without_raising(capsys):
    assert not ex.check_implicit_reward(not_started)
    assert "not attempted yet" in capsys.readouterr().out
    assert not ex.check_dpo_loss(lambda *a: 1 / 0)
