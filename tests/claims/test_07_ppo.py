"""Lesson 07 claims, from build/results/07_ppo.json (written by the notebook).

Each threshold names the spread over seeds 0, 1, 2 it was set from (`make seeds`,
build/seeds/spread.md; tiny profile, one torch thread). Kept: the claims that hold for every seed.

Left out, because they flip between seeds (a sentence to reword, not a claim: the notebook prints
what its own run did, from the record): "PPO raises the reward-model score" (greedy RM score
SEED_RM) and "GRPO raises the reward-model score" (SEED_GRPO). Issue 12 gives preference learning
something to fix; until then PPO mostly drifts (see the judge score below).
"""
import pytest

from course_utils.results import metric

LESSON = "07_ppo"
KL_MAX = 20.0  # nats per answer of at most 16 tokens; seeds: SEED_KL


@pytest.mark.xfail(strict=True, reason="aim not reached for any seed: the judge score falls (SEED_JUDGE); the "
                   "reward model cannot see wrong facts (lesson 06), so PPO trades correctness for reward (issue 12)")
def test_ppo_raises_the_judge_score():
    assert metric(LESSON, "ppo.judge_score_after") > metric(LESSON, "ppo.judge_score_before")


def test_kl_to_the_reference_stays_bounded():
    assert 0.0 <= metric(LESSON, "ppo.kl_final") <= KL_MAX


def test_the_largest_kl_coefficient_keeps_the_policy_closest():
    # KL to the reference after the sweep's short runs, by coefficient 0 / 0.05 / 0.5: SEED_KLSWEEP
    sweep = sorted(metric(LESSON, "kl_sweep"), key=lambda p: p["kl_coef"])
    assert sweep[-1]["kl"] < min(p["kl"] for p in sweep[:-1]), [(p["kl_coef"], round(p["kl"], 2)) for p in sweep]


def test_a_wider_clip_range_lets_the_policy_move_further():
    # KL to the reference after the sweep's short runs, by clip range 0.05 / 0.2 / 10: SEED_CLIP
    sweep = sorted(metric(LESSON, "clip_sweep"), key=lambda p: p["cliprange"])
    kls = [p["kl"] for p in sweep]
    assert kls == sorted(kls) and kls[-1] > 2 * kls[0], [(p["cliprange"], round(p["kl"], 2)) for p in sweep]
