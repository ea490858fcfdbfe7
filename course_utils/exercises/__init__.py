"""The lessons' exercises, one module per lesson (``lesson00`` ...): each exercise's check, solution
and wrong answers live together in its ``EXERCISES``, so one test (tests/unit/test_exercises.py) covers all.

A check prints friendly feedback and returns a bool; it never raises on a wrong or unfinished answer,
so a notebook with the exercise left blank still runs headless.
"""
from __future__ import annotations

import importlib
import pkgutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Exercise:
    """One exercise: the check a notebook calls, its reference solution, and wrong answers.

    ``feedback`` holds wrong answers together with words their feedback must contain."""
    lesson: str  # "00" ... "08"
    name: str  # the solution's name, as the notebook's stub calls it
    check: Callable[[Any], bool]
    solution: Any
    wrong: tuple[Any, ...] = ()
    feedback: tuple[tuple[Any, str], ...] = ()


def report(name: str, ok: bool, message: str = "") -> bool:
    """Print a one-line verdict for exercise ``name`` and return ``ok``."""
    mark = "✅" if ok else "❌"
    print(f"{mark} {name}: {message or ('correct!' if ok else 'not yet')}")
    return ok


def run_check(name: str, check: Callable[[], tuple[bool, str]]) -> bool:
    """Run ``check`` (which returns ``(ok, message)``), turning errors into feedback.

    ``NotImplementedError`` means the learner has not started; any other exception is shown
    as a hint, with the last line of the traceback."""
    try:
        ok, message = check()
    except NotImplementedError:
        return report(name, False, "not attempted yet: replace `raise NotImplementedError` with your code")
    except Exception as e:  # feedback, not a crash: the notebook must still run
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        return report(name, False, f"your code raised {last}")
    return report(name, bool(ok), message)


def close(a: Any, b: Any, tol: float = 1e-4) -> bool:
    """Are two numbers (or tensors/arrays) equal within an absolute tolerance?"""
    try:
        return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=tol, rtol=0))
    except (TypeError, ValueError):
        return False


def all_exercises() -> tuple[Exercise, ...]:
    """Every lesson module's ``EXERCISES``, in lesson order: for the tests, and for a learner who
    wants to compare after trying (or read ``course_utils/exercises/lessonNN.py``)."""
    lessons = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("lesson"))
    return tuple(e for name in lessons for e in importlib.import_module(f"{__name__}.{name}").EXERCISES)
