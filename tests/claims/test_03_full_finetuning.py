"""Lesson 03's claims, read from build/results/03_full_finetuning.json (written by the notebook).

Thresholds were set from measured runs (see the lesson's closing note) with margin."""
import pytest

from course_utils.results import metric

R = "03_full_finetuning"
#: Measured (tiny profile, 500 steps, 240 held-out questions): base 0.0%, 3-shot 0.0%, full FT 95.0%,
#: rehearsal 89.6%; general perplexity base 2.10, full FT 15,998, rehearsal 6.60.
FULL_MIN = 0.80
FORGET_MIN_RATIO = 3.0
REHEARSAL_MIN_GAIN = 0.9
REHEARSAL_ACC_MIN = 0.70


def test_full_finetuning_lifts_accuracy_from_near_zero():
    base, full = metric(R, "base.task_accuracy"), metric(R, "full.task_accuracy")
    assert base <= 0.05, f"the base model should know almost none of the invented facts, got {base:.1%}"
    assert metric(R, "base.few_shot_task_accuracy") <= 0.10
    assert full >= FULL_MIN, f"full fine-tuning reached {full:.1%} task accuracy (measured 95%; the aim is >= {FULL_MIN:.0%})"




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
