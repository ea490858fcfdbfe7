"""Lesson 07 claims, from build/results/07_ppo.json (written by the notebook).

Directional claims of the issue (reward and judge score up, KL bounded, a larger KL coefficient
keeps the policy closer); the KL bound is generous: answers are at most 16 tokens."""
from course_utils.results import metric

LESSON = "07_ppo"


def test_ppo_raises_the_reward_model_score():
    assert metric(LESSON, "ppo.reward_after") > metric(LESSON, "ppo.reward_before")


def test_ppo_raises_the_judge_score():
    assert metric(LESSON, "ppo.judge_score_after") > metric(LESSON, "ppo.judge_score_before")


def test_kl_to_the_reference_stays_bounded():
    assert 0.0 <= metric(LESSON, "ppo.kl_final") <= 20.0


def test_a_larger_kl_coefficient_keeps_the_policy_closer():
    sweep = sorted(metric(LESSON, "kl_sweep"), key=lambda p: p["kl_coef"])
    assert sweep[-1]["kl"] < sweep[0]["kl"]


def test_trl_grpo_raises_the_reward_model_score():
    assert metric(LESSON, "trl.reward_after") > metric(LESSON, "trl.reward_before")
