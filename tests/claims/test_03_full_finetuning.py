"""Lesson 03's claims, read from build/results/03_full_finetuning.json (written by the notebook).

The aims are issue 13's: full fine-tuning learns the task (>= 85% of the held-out questions) while
forgetting realistically (general-text perplexity at most 10x the base model's, not a model that can
no longer write a sentence), and rehearsal brings the perplexity back within 2x of the base model's.

Measured (tiny profile, one torch thread, lr 3e-4, 500 steps, 240 held-out questions), seeds 0/1/2:
full FT 90.8% / 90.4% / 90.0%, general perplexity 2.10 -> 20.4 / 20.0 / 18.4 (9.7x / 9.5x / 8.8x).
The old recipe (lr 2e-3) reached 87.5-96.7% at perplexity 17,625-79,568. Rehearsal, seed 0:
150 general texts 87.1% at 2.52 (1.2x); 400: 71.7% at 2.35; 800: 72.9% at 2.26.
Learning-rate sweep (40 steps), seed 0: see the notebook's printout.
"""
import itertools

from course_utils.results import metric

R = "03_full_finetuning"
FULL_MIN = 0.85              # the aim; seeds 0.900-0.908
FORGET_MIN_RATIO = 3.0       # forgetting is visible: seeds 8.8x-9.7x
FORGET_MAX_RATIO = 10.0      # ...and realistic: the aim
REHEARSAL_MAX_RATIO = 2.0    # the aim for rehearsal
REHEARSAL_ACC_MIN = 0.75      # seed 0: 0.871 (150 general texts)


def test_full_finetuning_lifts_accuracy_from_near_zero():
    base, full = metric(R, "base.task_accuracy"), metric(R, "full.task_accuracy")
    assert base <= 0.05, f"the base model should know almost none of the invented facts, got {base:.1%}"
    assert metric(R, "base.few_shot_task_accuracy") <= 0.10
    assert full >= FULL_MIN, (f"full fine-tuning reached {full:.1%} task accuracy (seeds: 90.0-90.8%; "
                              f"the aim is >= {FULL_MIN:.0%})")


def test_full_finetuning_forgets_measurably_but_does_not_destroy_general_text():
    base, full = metric(R, "base.general_perplexity"), metric(R, "full.general_perplexity")
    assert full > FORGET_MIN_RATIO * base, f"general perplexity {base:.2f} -> {full:.2f}: forgetting should be visible"
    assert full <= FORGET_MAX_RATIO * base, (
        f"general perplexity {base:.2f} -> {full:.2f} ({full / base:.1f}x): more than {FORGET_MAX_RATIO:g}x the base "
        f"model's is destruction, not forgetting (check the learning rate)")


def test_rehearsal_brings_perplexity_back_near_the_base_model():
    base, full = metric(R, "base.general_perplexity"), metric(R, "full.general_perplexity")
    reh = metric(R, "rehearsal.general_perplexity")
    assert reh < full, f"rehearsal {reh:.2f} should forget less than plain fine-tuning {full:.2f}"
    assert reh <= REHEARSAL_MAX_RATIO * base, f"rehearsal perplexity {reh:.2f} vs base {base:.2f}"
    assert metric(R, "rehearsal.task_accuracy") >= REHEARSAL_ACC_MIN


def test_lr_sweep_has_a_sweet_spot():
    sweep = {float(k): v for k, v in metric(R, "lr_sweep").items()}
    assert len(sweep) >= 3
    lrs = sorted(sweep)
    best = min(sweep, key=sweep.get)
    assert lrs[0] < best < lrs[-1], f"validation loss by learning rate {sweep}: the middle one should be best"


def test_forgetting_grows_with_the_learning_rate():
    ppl = {float(k): v for k, v in metric(R, "lr_sweep_perplexity").items()}
    by_lr = [ppl[lr] for lr in sorted(ppl)]
    assert len(by_lr) >= 3
    assert all(b > a for a, b in itertools.pairwise(by_lr)), f"general perplexity by learning rate: {ppl}"


def test_sft_copies_the_forum_habits_and_leaves_alignment_headroom():
    """Issue 12's headroom: the forum's habits (in 75% of their relations' demonstrations) show in
    most of the SFT model's answers to those relations and far less elsewhere, so its judge score
    sits well below its task accuracy, in the band 0.4-0.7."""
    habits = metric(R, "habits")
    with_habit = {rel: h for rel, h in habits.items() if h["in_demonstrations"] > 0}
    assert len(with_habit) == 3, habits
    assert all(h["in_answers"] >= 0.5 for h in with_habit.values()), with_habit
    # elsewhere far rarer than in the habits' own relations: clean-clone runs measured at most 0.15 on one
    # machine and 0.23 (pest) on another, against 1.0 in each habit relation
    lowest = min(h["in_answers"] for h in with_habit.values())
    assert all(h["in_answers"] <= 0.5 * lowest for rel, h in habits.items() if rel not in with_habit), habits
    assert 0.4 <= metric(R, "full.judge_score") <= 0.7
    assert metric(R, "full.task_accuracy") - metric(R, "full.judge_score") >= 0.2
