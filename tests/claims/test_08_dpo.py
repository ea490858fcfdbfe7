"""Lesson 08 claims, from build/results/08_dpo.json (written by the notebook).

Thresholds: the issue's aim for preference accuracy (>= 80%); agreement with trl at float32
precision (measured 3.7e-8 on the course tokenizer in a development run)."""
import pytest

from course_utils.results import metric

LESSON = "08_dpo"


def test_dpo_raises_held_out_preference_accuracy():
    assert metric(LESSON, "dpo.pref_accuracy_before") == 0.5  # policy == reference: every pair a tie
    assert metric(LESSON, "dpo.pref_accuracy_after") >= 0.80


@pytest.mark.xfail(strict=True, reason="aim not reached: preference accuracy rose 50% -> 95.6%, but the judge score fell "
                   "0.958 -> 0.406 with KL 36 nats to the reference (beta 0.1, 120 steps: over-optimisation)")
def test_dpo_raises_the_judge_score():
    assert metric(LESSON, "dpo.judge_score_after") > metric(LESSON, "dpo.judge_score_before")


def test_margins_grow_and_kl_is_recorded():
    assert metric(LESSON, "dpo.margin_after") > metric(LESSON, "dpo.margin_before")
    assert metric(LESSON, "dpo.kl_final") >= 0.0


def test_scratch_dpo_loss_matches_trl():
    assert metric(LESSON, "dpo_scratch_vs_trl_abs_diff") <= 1e-4


def test_frontier_has_both_methods_with_their_compute():
    frontier = metric(LESSON, "frontier")
    assert {p["method"] for p in frontier} == {"DPO", "PPO"}
    assert all(p["seconds"] > 0 for p in frontier)
