"""The lessons' exercises, one module per lesson (``lesson00`` ...): each exercise's check, solution
and wrong answers live together in its ``EXERCISES``, so one test (tests/unit/test_exercises.py) covers all.

A check prints friendly feedback and returns a bool; it never raises on a wrong or unfinished answer,
so a notebook with the exercise left blank still runs headless.
"""
from __future__ import annotations

import importlib
import pkgutil
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The kinds of exercise. "code": write a function the check runs. The three that make a learner
#: think answer with a letter (:func:`ask`): "predict" (commit to a prediction, run, compare),
#: "decide" (explain a result or choose what to do), "experiment" (change a setting, measure, answer).
KINDS = ("code", "predict", "decide", "experiment")


@dataclass(frozen=True)
class Exercise:
    """One exercise: the check a notebook calls, its reference solution, and wrong answers.

    ``feedback`` holds wrong answers together with words their feedback must contain. For the
    lettered kinds, ``solution`` and ``wrong`` are answers, and ``measured`` the example figures
    the tests pass after the answer (``check(answer, *measured)``), as the notebook passes its own."""
    lesson: str  # "00" ... "09"
    name: str  # the solution's name, as the notebook's stub calls it
    check: Callable[..., bool]
    solution: Any
    wrong: tuple[Any, ...] = ()
    feedback: tuple[tuple[Any, str], ...] = ()
    kind: str = "code"
    measured: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.lesson}-{self.name}: kind {self.kind!r} is not one of {KINDS}")


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


def ask(name: str, answer: Any, options: dict[str, str], correct: str, why: str,
        hints: dict[str, str] | None = None) -> bool:
    """Check a lettered answer ("A", "b", ...) to a question with ``options`` (letter -> text).
    Once answered, the explanation ``why`` prints whether the answer was right or not (it is where
    the learning is); ``hints`` add a line for a particular wrong letter. ``None`` is "not yet"."""
    if answer is None:
        return report(name, False, "not attempted yet: set your answer to a letter and run the cell again")
    letter = str(answer).strip().upper()[:1]
    if letter not in options:
        return report(name, False, f"answer with one of {', '.join(options)} (got {answer!r})")
    if letter == correct:
        return report(name, True, f"correct! {why}")
    hint = (hints or {}).get(letter, "")
    return report(name, False, f"not quite: {letter} ({options[letter]}). {hint + ' ' if hint else ''}"
                               f"The answer is {correct} ({options[correct]}): {why}")


def too_few_runs(name: str, answer: Any, runs: Mapping, options: dict[str, str], setting: str) -> bool | None:
    """The verdict of an experiment's check that cannot judge yet: "not attempted yet" while unanswered,
    a request to measure two values of ``setting`` while ``runs`` holds fewer; None once it can judge."""
    if len(runs) >= 2:
        return None
    if answer is None:
        return ask(name, None, options, next(iter(options)), "")
    return report(name, False, f"you have run {len(runs)} setting(s): run the experiment cell with two values of "
                               f"{setting} first")


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
