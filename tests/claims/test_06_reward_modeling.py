"""Lesson 06 claims, from build/results/06_reward_modeling.json (written by the notebook).

Each threshold names the spread over seeds 0, 1, 2 it was set from (`make seeds`,
build/seeds/spread.md; tiny profile, one torch thread). Agreement with trl: float32 precision
(measured 0.0 for every seed).

What training adds is measured against 64 random heads on the same body, not one: a single
untrained head ranked 22.9%, 48.5%, 61.0% of the pairs (seeds 0/1/2; one draw ranked 85% in an
earlier run), while the 64 heads average 48.1%, 52.0%, 49.0% (the best of them 71.9%, 86.3%,
75.8%). The style defects (rude, unsafe, rambling) are learned perfectly; wrong facts are not seen
at all (42.5%, 48.3%, 50.0%): the pairs are easy on style and give the model nothing to learn
facts from (issue 12). Overall accuracy is 0.75 + wrong / 4, so its threshold sits below the
issue's 85% aim.
"""
from course_utils.results import metric

LESSON = "06_reward_modeling"
ACCURACY_MIN = 0.80     # held-out pairwise accuracy; seeds: 0.856, 0.871, 0.875
OVER_LUCK_MIN = 0.25    # trained minus the mean of 64 random heads; seeds: 0.375, 0.351, 0.385
STYLE_MIN = 0.95        # each style defect; seeds: 1.0 for all three kinds, every seed
WRONG_MAX = 0.70        # wrong facts stay near a coin flip; seeds: 0.425, 0.483, 0.500


def test_reward_model_ranks_held_out_pairs_well():
    assert metric(LESSON, "rm.heldout_pair_accuracy") >= ACCURACY_MIN


def test_training_beats_what_random_heads_get_by_luck():
    luck = metric(LESSON, "rm.random_heads")
    assert luck["n"] >= 32 and 0.3 <= luck["mean"] <= 0.7, f"64 random heads should average near 50%: {luck}"
    assert metric(LESSON, "rm.heldout_pair_accuracy") >= luck["mean"] + OVER_LUCK_MIN


def test_style_defects_are_learned_and_wrong_facts_are_not():
    per_defect = metric(LESSON, "rm.per_defect")
    assert all(per_defect[d] >= STYLE_MIN for d in ("rude", "unsafe", "rambling")), per_defect
    assert per_defect["wrong"] <= WRONG_MAX, per_defect


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
