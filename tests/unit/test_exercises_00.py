"""Lesson 00's exercise checks accept the solutions and reject wrong answers."""

from course_utils.exercises import lesson00 as ex
from course_utils.paths import NOTEBOOKS_DIR
from course_utils.exercises import load_solutions

sol = load_solutions("00")


def not_started():
    raise NotImplementedError


def test_solutions_pass():
    assert ex.check_weights_gb(sol.weights_gb)
    assert ex.check_adam_bytes_per_param(sol.adam_bytes_per_param)
    assert ex.check_largest_batch(sol.largest_batch)


def test_wrong_answers_fail(capsys):
    assert not ex.check_weights_gb(lambda: 1e9 * 4 / 2**30)
    assert "float32" in capsys.readouterr().out
    assert not ex.check_adam_bytes_per_param(lambda: 12)
    assert not ex.check_largest_batch(lambda *a: 1)
    assert not ex.check_largest_batch(lambda m, me, g, s: sol.largest_batch(m, me, g, s) * 2)


def test_unfinished_answers_fail_without_raising(capsys):
    assert not ex.check_weights_gb(not_started)
    assert "not attempted yet" in capsys.readouterr().out
    assert not ex.check_largest_batch(lambda *a: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
