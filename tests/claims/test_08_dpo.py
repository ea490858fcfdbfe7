"""Lesson 08 claims, from build/results/08_dpo.json (written by the notebook).

Each threshold names the spread over seeds 0, 1, 2 it was set from (`make seeds`,
build/seeds/spread.md; tiny profile, one torch thread): held-out preference accuracy after DPO
94.0%, 91.9%, 92.7% (the issue's aim: >= 80%); reward margin 0 -> 13.6, 14.5, 15.0; agreement with
trl's loss at float32 precision (0.0 to 7.5e-9). The judge score falls for every seed (0.875 ->
0.521, 0.875 -> 0.313, 0.958 -> 0.156, at KL 7.3, 35.5, 25.6 nats): with deterministic
preferences DPO pushes the rejected answers' probability toward zero (issue 12).
"""
import pytest

from course_utils.results import metric

LESSON = "08_dpo"


def test_dpo_raises_held_out_preference_accuracy():
    # before training the policy is the reference, so every pair ties (0.5 by construction:
    # tests/unit/test_dpo.py checks it); the claim is what training reaches
    assert metric(LESSON, "dpo.pref_accuracy_after") >= 0.80


@pytest.mark.xfail(strict=True, reason="aim not reached for any seed: the judge score falls (0.875 -> 0.521, 0.875 -> "
                   "0.313, 0.958 -> 0.156; from lesson 03's lr-3e-4 SFT model, seed 0: 0.896 -> 0.042 at KL "
                   "18.0, preference "
                   "accuracy 87.3%) with KL 7-35 nats to the reference (beta 0.1, 120 steps: over-optimisation)")
def test_dpo_raises_the_judge_score():
    assert metric(LESSON, "dpo.judge_score_after") > metric(LESSON, "dpo.judge_score_before")


def test_margins_grow_and_kl_is_recorded():
    assert metric(LESSON, "dpo.margin_after") > metric(LESSON, "dpo.margin_before")
    assert metric(LESSON, "dpo.kl_final") >= 0.0


def test_scratch_dpo_loss_matches_trl():
    assert metric(LESSON, "dpo_scratch_vs_trl_abs_diff") <= 1e-4


def test_frontier_has_both_methods():
    frontier = metric(LESSON, "frontier")
    assert {p["method"] for p in frontier} == {"DPO", "PPO"}
