"""Lesson 07's exercise checks accept the solutions and reject wrong answers."""

import numpy as np

from course_utils.exercises import lesson07 as ex
from course_utils.paths import NOTEBOOKS_DIR
from course_utils.exercises import load_solutions

sol = load_solutions("07")


def not_started(*args):
    raise NotImplementedError


def test_solutions_pass():
    assert ex.check_k3(sol.k3)
    assert ex.check_clipped_objective(sol.clipped_objective)
    assert ex.check_gae(sol.gae)


def test_wrong_answers_fail(capsys):
    assert not ex.check_k3(lambda lp, ref: lp - ref)
    assert "k1" in capsys.readouterr().out
    assert not ex.check_k3(lambda lp, ref: sol.k3(ref, lp))  # the ratio the wrong way round
    assert not ex.check_clipped_objective(lambda r, a, e: r * a)
    assert "unclipped" in capsys.readouterr().out
    assert not ex.check_clipped_objective(lambda r, a, e: np.maximum(r * a, np.clip(r, 1 - e, 1 + e) * a))
    assert not ex.check_gae(lambda r, v, g, lam: [x - y for x, y in zip(r, v)])
    assert not ex.check_gae(lambda r, v, g, lam: sol.gae(r, v, g, 1.0))  # ignores lambda


def test_unfinished_answers_fail_without_raising(capsys):
    assert not ex.check_k3(not_started)
    assert "not attempted yet" in capsys.readouterr().out
    assert not ex.check_gae(lambda *a: 1 / 0)
