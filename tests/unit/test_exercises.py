"""Every registered exercise: its solution passes, each wrong answer fails, and an unfinished or
crashing answer fails with feedback instead of raising (so a blank notebook still runs)."""
from __future__ import annotations

import json
import re

import pytest
import torch

from course_utils.exercises import Exercise, all_exercises, lesson01, lesson02
from course_utils.manifest import LESSONS
from course_utils.paths import NOTEBOOKS_DIR, SLIDES_DIR

EXERCISES = all_exercises()
WRONG = [pytest.param(e, answer, id=f"{e.lesson}-{e.name}-{i}")
         for e in EXERCISES for i, answer in enumerate(e.wrong)]
FEEDBACK = [pytest.param(e, answer, words, id=f"{e.lesson}-{e.name}-{words}")
            for e in EXERCISES for answer, words in e.feedback]


def name(e: Exercise) -> str:
    return f"{e.lesson}-{e.name}"


def not_started(*args, **kwargs):
    raise NotImplementedError


def crashes(*args, **kwargs):
    return 1 / 0


CODE = [e for e in EXERCISES if e.kind == "code"]
QUESTIONS = [e for e in EXERCISES if e.kind != "code"]


@pytest.mark.parametrize("exercise", EXERCISES, ids=name)
def test_solution_passes(exercise: Exercise):
    assert exercise.check(exercise.solution, *exercise.measured)
    assert torch.is_grad_enabled()  # a check leaves autograd on


@pytest.mark.parametrize("exercise", EXERCISES, ids=name)
def test_every_check_has_a_wrong_answer(exercise: Exercise):
    assert exercise.wrong or exercise.feedback


@pytest.mark.parametrize(("exercise", "answer"), WRONG)
def test_wrong_answer_fails(exercise: Exercise, answer):
    assert not exercise.check(answer, *exercise.measured)
    assert torch.is_grad_enabled()


@pytest.mark.parametrize(("exercise", "answer", "words"), FEEDBACK)
def test_wrong_answer_fails_with_feedback(exercise: Exercise, answer, words: str, capsys):
    assert not exercise.check(answer, *exercise.measured)
    assert words in capsys.readouterr().out


@pytest.mark.parametrize("exercise", CODE, ids=name)
def test_unfinished_or_crashing_answer_fails_without_raising(exercise: Exercise, capsys):
    assert not exercise.check(not_started)
    assert "not attempted yet" in capsys.readouterr().out
    assert not exercise.check(crashes)
    assert "raised ZeroDivisionError" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", QUESTIONS, ids=name)
def test_unanswered_or_malformed_question_fails_with_a_hint(exercise: Exercise, capsys):
    assert not exercise.check(None, *exercise.measured)
    assert "not attempted yet" in capsys.readouterr().out
    assert not exercise.check("?", *exercise.measured)
    assert "answer with one of" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", QUESTIONS, ids=name)
def test_a_question_explains_itself_whatever_the_answer(exercise: Exercise, capsys):
    exercise.check(exercise.solution, *exercise.measured)
    right = capsys.readouterr().out
    for answer in exercise.wrong:
        exercise.check(answer, *exercise.measured)
        wrong = capsys.readouterr().out
        assert len(wrong) > 80 and right.split("correct! ", 1)[-1].strip() in wrong, \
            "a wrong answer must also get the explanation"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda les: les.number)
def test_every_lesson_has_the_three_kinds_of_thinking_exercise(lesson):
    kinds = {e.kind for e in EXERCISES if e.lesson == lesson.number}
    missing = {"predict", "decide", "experiment"} - kinds
    assert not missing, f"lesson {lesson.number} has no {', '.join(sorted(missing))} exercise (issue 16)"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda les: les.number)
def test_notebook_calls_exactly_the_registered_checks(lesson):
    cells = json.loads((NOTEBOOKS_DIR / lesson.notebook).read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    called = set(re.findall(r"\bex\d*\.(check_\w+)\(", code))
    registered = {e.check.__name__ for e in EXERCISES if e.lesson == lesson.number}
    assert len(registered) >= 3, "at least three exercises per lesson (CONTRIBUTING.md)"
    assert called == registered


def test_a_causal_mask_of_floats_is_accepted():
    assert lesson01.check_causal_mask(lambda n: torch.tril(torch.ones(n, n)))


def test_mean_pool_solution_returns_a_tensor():
    assert torch.is_tensor(lesson02.mean_pool(torch.ones(1, 2, 3), torch.ones(1, 2)))


@pytest.mark.parametrize("lesson", sorted({e.lesson for e in EXERCISES}))
def test_speaker_notes_name_the_exercises_the_notebook_has(lesson):
    """A deck's "Exercises:" note names exactly the lesson's registered exercises (in backticks)."""
    decks = sorted(SLIDES_DIR.glob(f"{lesson}_*.md"))
    notes = [line for d in decks for line in d.read_text().splitlines() if line.startswith("Note: Exercises:")]
    if not notes:
        pytest.skip(f"deck {lesson} has no exercises note")
    named = set(re.findall(r"`([A-Za-z_0-9]+)`", notes[0].split(". Transition")[0].split(". Close")[0]))
    registered = {e.name for e in EXERCISES if e.lesson == lesson}
    assert named == registered, f"deck {lesson}'s note names {sorted(named)}; the notebook has {sorted(registered)}"
