"""Lesson 07 claims, from build/results/07_ppo.json (written by the notebook).

Thresholds from seed 0 (tiny profile, one torch thread; issue 12's data with forum habits and
lesson 06's reward model at 78.5% on wrong facts): PPO at lr 2e-5 with KL coefficient 3.0 for 48
steps moved the judge score 0.550 -> 0.883 on 240 held-out questions (95% intervals 0.487-0.612
and 0.837-0.918) at task accuracy 0.900 -> 0.883 and KL 0.23 nats per answer. Probes with this
reward model: lr 5e-5 lost 5.4 (24 steps), 6.2 (16) and 5.4 (12) points of accuracy at
coefficient 3.0, 2.9 at 5.0 but gained only +0.17; lr 3e-5 for 32 steps lost 4.6. Sampled at
temperature 1 (one answer per question) the judge score rose 0.267 -> 0.383. trl's GRPO with
the judges as reward: 0.862 at accuracy 0.879, KL 0.20 (sampled 0.313). The hacking experiment
(no KL penalty, lr 2e-4, 24 steps): reward-model score -0.58 -> +0.87 while the judge score fell
to 0.063 (KL 14.8 nats; answers such as "Grow rice every two days." to a question about beans).
Seeds 1 and 2 (`make seeds`): PPO 0.558 -> 0.867 and 0.583 -> 0.896 at accuracy -1.2 points both,
KL 0.34 / 0.27, sampled judge 0.258 -> 0.333 and 0.288 -> 0.346; GRPO 0.871 / 0.804 at accuracy
88.7% / 88.3%; the hacking run's judge score 0.037 / 0.004 with the reward up 1.6 / 4.5, KL 10.3 /
17.9; KL after the clip sweep 0.76 / 2.03 / 14.45 and 0.50 / 1.04 / 2.07.
Those figures are from the recipe with 10-step sweeps and a 24-step hacking run, and an earlier state
of the course's models. Issue 15 cut both runs to fit the lesson in 180 s (sweeps 6 steps, hacking
12). Seed 0 with that recipe
(2026-12-07): PPO 0.579 -> 0.904 (intervals 0.516-0.640 and 0.860-0.935) at accuracy 0.925 -> 0.904,
KL 0.21, sampled 0.292 -> 0.338; GRPO 0.896 at accuracy 0.896, KL 0.28 (sampled 0.317); hacking
reward -0.36 -> +1.37, judge 0.021 (interval 0.009-0.048), KL 14.8; KL after the clip sweep
0.47 / 1.04 / 1.38; the KL sweep's KL 0.99 / 0.91 / 0.54 at coefficients 0 / 0.2 / 3. Seeds 1 and 2
of this recipe were not run yet (`make seeds`).
"""
from course_utils.evaluation import interval
from course_utils.results import metric

LESSON = "07_ppo"
KL_MAX = 20.0  # nats per answer of at most 16 tokens; seeds: 5.78, 2.85, 1.55


def test_ppo_raises_the_judge_score_and_keeps_the_facts():
    """Issue 12's aim: +0.2 judge score over the SFT model on held-out prompts, with the two 95%
    intervals apart, and task accuracy within 5 points."""
    p = metric(LESSON, "ppo")
    assert metric(LESSON, "n_eval") >= 240
    assert p["judge_score_after"] - p["judge_score_before"] >= 0.2, p
    assert p["judge_interval_after"][0] > p["judge_interval_before"][1], p
    assert p["task_accuracy_after"] >= p["task_accuracy_before"] - 0.05, p


def test_kl_to_the_reference_stays_bounded():
    assert 0.0 <= metric(LESSON, "ppo.kl_final") <= KL_MAX


def test_a_wider_clip_range_lets_the_policy_move_further():
    # KL to the reference after the sweep's short runs, by clip range 0.05 / 0.2 / 10: 0.46 / 1.41 / 7.32,
    # 1.23 / 2.60 / 6.75, 0.52 / 3.62 / 7.88 nats (seeds 0/1/2, 10 steps); 0.47 / 1.04 / 1.38 (seed 0, 6 steps)
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


def test_grpo_holds_two_models_where_ppo_holds_four():
    # one update each, measured tensor by tensor: PPO holds policy, reference, value and reward model and
    # trains the policy and the value model; GRPO with the judges as reward holds policy and reference
    # and trains the policy alone (seed 0, MB: see the notebook's table)
    p, g = metric(LESSON, "ppo.memory"), metric(LESSON, "trl.memory")
    assert g["weights_mb"] < 0.6 * p["weights_mb"], (p, g)
    assert g["gradients_mb"] + g["optimizer_mb"] < 0.6 * (p["gradients_mb"] + p["optimizer_mb"]), (p, g)
    assert metric(LESSON, "trl.peak_memory_mb") < metric(LESSON, "ppo.peak_memory_mb")


def test_the_hacking_experiment_raises_the_reward_while_the_judges_score_falls():
    """Issue 12: without the KL penalty (and with big steps) the reward-model score rises and the
    judge score falls beyond the noise, with samples recorded to show how."""
    h, p = metric(LESSON, "hack"), metric(LESSON, "ppo")
    assert h["kl_coef"] == 0.0, h
    assert h["reward_after"] >= h["reward_before"] + 1.0, h
    assert h["judge_interval_after"][1] < p["judge_interval_before"][0], (h, p)
    assert h["kl_final"] > 5 * p["kl_final"], (h["kl_final"], p["kl_final"])
    assert len(h["examples"]) >= 1 and all(e["hacked"] != e["sft"] for e in h["examples"]), h["examples"]


def test_sampled_answers_are_judged_and_do_not_get_worse():
    """Greedy and sampled: the sampled judge score is recorded for every stage (n = the greedy n),
    and PPO and GRPO do not lower it beyond the noise."""
    p, g = metric(LESSON, "ppo"), metric(LESSON, "trl")
    before = p["sampled_before"]
    for after in (p["sampled_after"], g["sampled_after"]):
        assert after["n"] == before["n"] >= 240
        lo_b, _ = interval(before["judge_score"], before["n"])
        _, hi_a = interval(after["judge_score"], after["n"])
        assert hi_a >= lo_b, (before, after)
