"""Lesson 06's exercise checks accept the solutions and reject wrong answers."""

import torch

from course_utils.exercises import lesson06 as ex
from course_utils.paths import NOTEBOOKS_DIR
from course_utils.exercises import load_solutions

sol = load_solutions("06")


def not_started(*args):
    raise NotImplementedError


def test_solutions_pass():
    assert ex.check_preference_probability(sol.preference_probability)
    assert ex.check_bt_loss(sol.bt_loss)
    assert ex.check_accuracy_by_defect(sol.accuracy_by_defect)


def test_wrong_answers_fail(capsys):
    assert not ex.check_preference_probability(lambda a, b: sol.preference_probability(b, a))
    assert "swap" in capsys.readouterr().out
    assert not ex.check_bt_loss(lambda c, r: sol.bt_loss(r, c))
    assert not ex.check_bt_loss(lambda c, r: -torch.sigmoid(c - r).log().sum())
    assert "sum" in capsys.readouterr().out
    ties_win = lambda c, r, d: {k: v for k, v in sol.accuracy_by_defect([x + 1e-9 for x in c], r, d).items()}  # noqa: E731
    assert not ex.check_accuracy_by_defect(ties_win)


def test_unfinished_answers_fail_without_raising(capsys):
    assert not ex.check_preference_probability(not_started)
    assert "not attempted yet" in capsys.readouterr().out
    assert not ex.check_bt_loss(lambda c, r: 1 / 0)
    assert not ex.check_accuracy_by_defect(lambda *a: [])
