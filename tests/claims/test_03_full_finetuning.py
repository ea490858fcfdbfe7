"""Lesson 03's claims, read from build/results/03_full_finetuning.json (written by the notebook).

Thresholds were set from measured runs (see the lesson's closing note) with margin."""

from course_utils.results import metric

R = "03_full_finetuning"
#: Spread over seeds 0, 1, 2 (`make seeds`; tiny profile, one torch thread, 500 steps, 240 held-out
#: questions): base 0.0% (3-shot 0.0%) for every seed; full FT 87.5%, 89.6%, 96.7%; rehearsal 92.1%,
#: 98.8%, 99.6%; general perplexity base 2.10, full FT 30,296, 17,625, 79,568 (destruction rather
#: than forgetting at lr 2e-3: issue 13), rehearsal 6.55, 6.56, 6.53. Validation loss by learning
#: rate 2e-4 / 2e-3 / 2e-2: 2.40 / 1.00 / 3.32, 2.41 / 1.06 / 3.03, 2.39 / 1.00 / 3.44.
FULL_MIN = 0.80
FORGET_MIN_RATIO = 3.0
REHEARSAL_MIN_GAIN = 0.9
REHEARSAL_ACC_MIN = 0.70


def test_full_finetuning_lifts_accuracy_from_near_zero():
    base, full = metric(R, "base.task_accuracy"), metric(R, "full.task_accuracy")
    assert base <= 0.05, f"the base model should know almost none of the invented facts, got {base:.1%}"
    assert metric(R, "base.few_shot_task_accuracy") <= 0.10
    assert full >= FULL_MIN, (f"full fine-tuning reached {full:.1%} task accuracy (seeds: 87.5-96.7%; "
                              f"the aim is >= {FULL_MIN:.0%})")




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
