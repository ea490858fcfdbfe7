"""Lesson 06 claims, from build/results/06_reward_modeling.json (written by the notebook).

Thresholds: the issue's aim for accuracy (>= 85%); agreement with trl at float32 precision
(measured 0.0 on the toy models of the unit tests and on the course tokenizer)."""
from course_utils.results import metric

LESSON = "06_reward_modeling"


def test_reward_model_ranks_held_out_pairs_well():
    assert metric(LESSON, "rm.heldout_pair_accuracy") >= 0.85


def test_training_beats_the_untrained_head_by_a_wide_margin():
    assert metric(LESSON, "rm.heldout_pair_accuracy") >= metric(LESSON, "rm.untrained_pair_accuracy") + 0.2


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
