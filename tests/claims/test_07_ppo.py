"""Lesson 07 claims, from build/results/07_ppo.json (written by the notebook).

Each threshold names the spread over seeds 0, 1, 2 it was set from (`make seeds`,
build/seeds/spread.md; tiny profile, one torch thread). Kept: the claims that hold for every seed.

Left out, because they flip between seeds (sentences to reword, not claims: the notebook prints
what its own run did, from the record):
- "PPO raises the reward-model score": greedy RM score 2.195 -> 2.353, 2.075 -> 1.873, 4.207 -> 4.231;
- "GRPO raises the reward-model score": 2.195 -> 2.206, 2.075 -> 2.073, 4.207 -> 4.212;
- "a larger KL coefficient keeps the policy closer": KL after the 10-step sweeps at coefficients
  0 / 0.05 / 0.5 was 0.48 / 2.66 / 0.30, 2.61 / 2.85 / 0.22, 3.63 / 3.49 / 5.95 nats. With whitened
  advantages each update has the same size whatever the coefficient, so ten steps mostly drift.
Issue 12 gives preference learning something to fix; until then PPO mostly drifts (the judge score).
"""
import pytest

from course_utils.results import metric

LESSON = "07_ppo"
KL_MAX = 20.0  # nats per answer of at most 16 tokens; seeds: 5.78, 2.85, 1.55


@pytest.mark.xfail(strict=True, reason="aim not reached for any seed: the judge score falls (0.875 -> 0.469, "
                   "0.875 -> 0.573, 0.958 -> 0.729; from lesson 03's lr-3e-4 SFT model, seed 0: 0.896 -> "
                   "0.042 at KL 9.3); the "
                   "reward model cannot see wrong facts (lesson 06: 50.8% on them), so PPO trades correctness for "
                   "reward (issue 12)")
def test_ppo_raises_the_judge_score():
    assert metric(LESSON, "ppo.judge_score_after") > metric(LESSON, "ppo.judge_score_before")


def test_kl_to_the_reference_stays_bounded():
    assert 0.0 <= metric(LESSON, "ppo.kl_final") <= KL_MAX


def test_a_wider_clip_range_lets_the_policy_move_further():
    # KL to the reference after the sweep's short runs, by clip range 0.05 / 0.2 / 10: 0.46 / 1.41 / 7.32,
    # 1.23 / 2.60 / 6.75, 0.52 / 3.62 / 7.88 nats (seeds 0/1/2)
    sweep = sorted(metric(LESSON, "clip_sweep"), key=lambda p: p["cliprange"])
    kls = [p["kl"] for p in sweep]
    assert kls == sorted(kls) and kls[-1] > 2 * kls[0], [(p["cliprange"], round(p["kl"], 2)) for p in sweep]
