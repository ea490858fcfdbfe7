"""Lesson 07 claims, from build/results/07_ppo.json (written by the notebook).

Thresholds from seed 0 (tiny profile, one torch thread; issue 12's data with forum habits): PPO
at lr 5e-5 with KL coefficient 2.0 for 24 steps moved the judge score 0.550 -> 0.867 on 240
held-out questions (95% intervals 0.487-0.612 and 0.818-0.904) at task accuracy 0.900 -> 0.867
and KL 0.62 nats per answer. The KL-coefficient sweep (10 steps) is the hacking experiment:
coefficients 0 / 0.2 / 2.0 gave judge scores 0.537 / 0.646 / 0.817 at KL 2.19 / 1.38 / 0.83, the
reward-model score highest at 0. Seeds 1 and 2 are not measured yet with this recipe.
Earlier, with nothing to fix and lr 2e-4, the judge score fell for every seed (issue 12).
"""
from course_utils.results import metric

LESSON = "07_ppo"
KL_MAX = 20.0  # nats per answer of at most 16 tokens; seeds: 5.78, 2.85, 1.55


def test_ppo_raises_the_judge_score_and_keeps_the_facts():
    """Issue 12's aim: +0.2 judge score over the SFT model on held-out prompts, with the two 95%
    intervals apart, and task accuracy within 5 points (seed 0 probes: kl_coef 2.0 gave 0.55 ->
    0.867 at accuracy -3.3 points; kl_coef 0.5 gave -9 points, 0.2 gave -16)."""
    p = metric(LESSON, "ppo")
    assert metric(LESSON, "n_eval") >= 240
    assert p["judge_score_after"] - p["judge_score_before"] >= 0.2, p
    assert p["judge_interval_after"][0] > p["judge_interval_before"][1], p
    assert p["task_accuracy_after"] >= p["task_accuracy_before"] - 0.05, p


def test_kl_to_the_reference_stays_bounded():
    assert 0.0 <= metric(LESSON, "ppo.kl_final") <= KL_MAX


def test_a_wider_clip_range_lets_the_policy_move_further():
    # KL to the reference after the sweep's short runs, by clip range 0.05 / 0.2 / 10: 0.46 / 1.41 / 7.32,
    # 1.23 / 2.60 / 6.75, 0.52 / 3.62 / 7.88 nats (seeds 0/1/2)
    sweep = sorted(metric(LESSON, "clip_sweep"), key=lambda p: p["cliprange"])
    kls = [p["kl"] for p in sweep]
    assert kls == sorted(kls) and kls[-1] > 2 * kls[0], [(p["cliprange"], round(p["kl"], 2)) for p in sweep]


def test_grpo_with_the_judges_as_reward_raises_the_judge_score_and_keeps_the_facts():
    """The same aim for trl's GRPO with a verifiable reward (seed 0 probes, 240 held-out prompts:
    lr 5e-5 for 36 steps 0.550 -> 0.858 at accuracy -0.8 points; lr 2e-4 for 12 steps reached
    0.754 but lost 14.6 points of accuracy)."""
    p, g = metric(LESSON, "ppo"), metric(LESSON, "trl")
    assert g["judge_score_after"] - g["judge_score_before"] >= 0.2, g
    assert g["task_accuracy_after"] >= p["task_accuracy_before"] - 0.05, g
