"""Automatic checks for the lessons' exercises: one module per lesson (``lesson01`` ...).

Every check takes the learner's answer (a value or a function), prints friendly feedback and
returns ``True`` or ``False``. A check never raises on a wrong or unfinished answer, so a
notebook with the exercise left blank still runs headless; tests assert ``check(solution)``
is True and ``check(wrong)`` is False.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable


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
    import numpy as np

    try:
        return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=tol, rtol=0))
    except (TypeError, ValueError):
        return False


def load_solutions(lesson: str):
    """The solutions module of lesson ``lesson`` ("00" ... "08"), from ``notebooks/solutions/``:
    for the tests, and for a learner who wants to compare after trying."""
    import importlib.util

    from course_utils.paths import NOTEBOOKS_DIR

    path = NOTEBOOKS_DIR / "solutions" / f"lesson{str(lesson).zfill(2)}.py"
    if not path.exists():
        raise FileNotFoundError(f"no solutions for lesson {lesson!r}: {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"solutions{str(lesson).zfill(2)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
