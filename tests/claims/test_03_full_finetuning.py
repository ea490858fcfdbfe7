"""Lesson 03's claims, read from build/results/03_full_finetuning.json (written by the notebook).

Thresholds were set from measured runs (see the lesson's closing note) with margin."""
import pytest

from course_utils.results import metric

R = "03_full_finetuning"
#: Measured (tiny profile, 300 steps, 240 held-out questions): base 0.0%, 3-shot 0.0%, full FT 38.3%,
#: rehearsal 40.4%; general perplexity base 2.07, full FT 189,702, rehearsal 5.34.
FULL_MIN = 0.25
FORGET_MIN_RATIO = 3.0
REHEARSAL_MIN_GAIN = 0.9
REHEARSAL_ACC_MIN = 0.25


def test_full_finetuning_lifts_accuracy_from_near_zero():
    base, full = metric(R, "base.task_accuracy"), metric(R, "full.task_accuracy")
    assert base <= 0.05, f"the base model should know almost none of the invented facts, got {base:.1%}"
    assert metric(R, "base.few_shot_task_accuracy") <= 0.10
    assert full >= FULL_MIN, f"full fine-tuning reached {full:.1%} task accuracy (measured 38%; >= {FULL_MIN:.0%})"


@pytest.mark.xfail(strict=True, reason="aim not reached: measured 38.3% on held-out phrasings after the 300-step "
                   "recipe that fits the CPU time budget")
def test_full_finetuning_reaches_the_80_percent_aim():
    assert metric(R, "full.task_accuracy") >= 0.80


def test_forgetting_is_visible_and_rehearsal_reduces_it():
    base, full = metric(R, "base.general_perplexity"), metric(R, "full.general_perplexity")
    reh = metric(R, "rehearsal.general_perplexity")
    assert full > base * FORGET_MIN_RATIO, f"general perplexity {base:.2f} -> {full:.2f}: forgetting should be visible"
    assert reh < full - REHEARSAL_MIN_GAIN * (full - base), (
        f"rehearsal should undo a good part of the forgetting: base {base:.2f}, full {full:.2f}, rehearsal {reh:.2f}")
    assert metric(R, "rehearsal.task_accuracy") >= REHEARSAL_ACC_MIN


def test_lr_sweep_has_a_sweet_spot():
    sweep = {float(k): v for k, v in metric(R, "lr_sweep").items()}
    assert len(sweep) >= 3
    lrs = sorted(sweep)
    best = min(sweep, key=sweep.get)
    assert lrs[0] < best < lrs[-1], f"validation loss by learning rate {sweep}: the middle one should be best"
