"""Lesson 06 claims, from build/results/06_reward_modeling.json (written by the notebook).

Agreement with trl: float32 precision (measured 0.0 for every seed). What training adds is
measured against 64 random heads on the same body, not one: a single untrained head ranks
anywhere from 23% to 85% of the pairs by luck, the 64 heads average near 50%.

The style defects (rude, unsafe, rambling) are learned perfectly. Wrong facts need the body's
knowledge of the facts (issue 12). Seed 0, lr 1e-4 for 400 steps on 2,880 pairs (three fresh
wrong answers per question): 78.5% of the 480 held-out wrong-fact pairs (95% interval about
74.6-82.0%), 89.3% overall. Probes with other data orders and mixes: 79.1% to 80.3% on 960
freshly drawn wrong answers. Before (one wrong pair for every other question, lr 5e-4, 150
steps) wrong facts were a coin flip, 51.7%; with that data and a better recipe 70.8% on the 120
held-out wrong pairs but 50.7% on 960 fresh ones: the reward model had memorised the rejected
sentences. Seeds 0/1/2 (`make seeds`): wrong facts 78.5% / 74.8% / 76.0%, overall 89.3% / 87.4% /
88.0%, untrained head on wrong facts 45.6% / 51.7% / 53.3%. The issue's 75% aim is met by the
mean and by seeds 0 and 2; seed 1 misses it by 0.2 points, inside one standard error (2 points),
so the threshold sits below the spread.
"""
from course_utils.results import metric

LESSON = "06_reward_modeling"
ACCURACY_MIN = 0.85     # held-out pairwise accuracy (issue 12's aim); seeds: 0.893, 0.874, 0.880
OVER_LUCK_MIN = 0.30    # trained minus the mean of 64 random heads; earlier seeds: 0.375, 0.351, 0.385
STYLE_MIN = 0.95        # each style defect; seeds: 1.0 for all three kinds, every seed
WRONG_MIN = 0.72        # wrong facts (issue 12's aim is 0.75); seeds: 0.785, 0.748, 0.760 on 480 pairs


def test_reward_model_ranks_held_out_pairs_well():
    assert metric(LESSON, "rm.n_eval") >= 960  # every held-out question, once wrong and once with a style defect
    assert metric(LESSON, "rm.heldout_pair_accuracy") >= ACCURACY_MIN


def test_training_beats_what_random_heads_get_by_luck():
    luck = metric(LESSON, "rm.random_heads")
    assert luck["n"] >= 32 and 0.3 <= luck["mean"] <= 0.7, f"64 random heads should average near 50%: {luck}"
    assert metric(LESSON, "rm.heldout_pair_accuracy") >= luck["mean"] + OVER_LUCK_MIN


def test_style_defects_are_learned_and_wrong_facts_are_seen():
    per_defect = metric(LESSON, "rm.per_defect")
    assert all(per_defect[d] >= STYLE_MIN for d in ("rude", "unsafe", "rambling")), per_defect
    assert per_defect["wrong"] >= WRONG_MIN, per_defect
    untrained = metric(LESSON, "rm.untrained_per_defect")["wrong"]
    assert per_defect["wrong"] >= untrained + 0.2, (per_defect, untrained)


def test_every_defect_kind_is_recorded():
    per_defect = metric(LESSON, "rm.per_defect")
    assert set(per_defect) == {"wrong", "unsafe", "rude", "rambling"}
    assert all(0.0 <= v <= 1.0 for v in per_defect.values())


def test_scratch_bradley_terry_loss_matches_trl():
    assert metric(LESSON, "bt_scratch_vs_trl_abs_diff") <= 1e-5
    assert metric(LESSON, "bt_pipeline_vs_trl_abs_diff") <= 1e-4


def test_a_case_where_the_reward_model_is_fooled_was_found():
    # either a held-out rejected answer above the median chosen reward, or an adversarial answer above gold
    fooled = metric(LESSON, "hack.n_fooled")
    probe = metric(LESSON, "hack.probe")
    beats_gold = max(v["beats_gold"] for k, v in probe.items() if k != "gold")
    assert fooled >= 1 or beats_gold > 0.0
    assert all(v["judge"] == 0.0 for k, v in probe.items() if k != "gold")  # the judges mark them all bad
