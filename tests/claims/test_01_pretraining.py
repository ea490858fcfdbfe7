"""Lesson 01 claims, from build/results/01_pretraining.json (written by the notebook in the same run).

Each threshold names the spread over seeds 0, 1, 2 it was set from (`make seeds`, build/seeds/spread.md;
tiny profile, one torch thread). The base model and the fill-a-blank scores do not depend on the seed."""
from course_utils.results import metric

LESSON = "01_pretraining"


def test_validation_loss_falls_by_a_wide_margin():
    # Seeds 0/1/2: 7.589 -> 1.200, 7.600 -> 1.176, 7.586 -> 1.014 (nats per token), the short run.
    start, end = metric(LESSON, "val_loss_start"), metric(LESSON, "val_loss_end")
    assert end < start - 4.0
    assert end < 0.5 * start


def test_perplexity_under_the_lessons_bar():
    # The lesson's run is shorter and smaller than the base model's (see models.BASE_RECIPE), so its
    # bar is its own: seeds 0/1/2 3.16, 3.09, 2.63; uniform over the vocabulary would be ~1,700.
    assert metric(LESSON, "val_perplexity") < 4.0


def test_full_recipe_beats_the_short_run():
    assert metric(LESSON, "base_model_val_perplexity") < metric(LESSON, "val_perplexity")


def test_from_scratch_objective_matches_transformers():
    assert metric(LESSON, "loss_from_scratch_abs_diff") < 1e-4
    assert metric(LESSON, "attention_from_scratch_abs_diff") < 1e-5


def test_bigger_models_learn_more_from_the_same_tokens():
    params, losses = metric(LESSON, "scaling.params"), metric(LESSON, "scaling.val_loss")
    assert params == sorted(params) and len(params) >= 3
    assert losses[-1] < losses[0] - 0.8  # seeds 0/1/2: 6.04 -> 4.75, 6.05 -> 4.64, 6.05 -> 4.63


def test_dedup_removes_copies():
    d = metric(LESSON, "dedup")
    assert d["raw"] > d["after_cleaning"] > d["after_exact"] > d["after_near"] > 0


def test_model_size_is_in_the_lessons_range():
    # throughput is `make bench`'s to report (a `> 0` check could not fail)
    assert 100_000 < metric(LESSON, "params") < 10_000_000


def test_a_causal_model_fills_a_blank_by_scoring_whole_sentences():
    # The base model (no seed): dog -15.5, cat -18.2, horse -18.9, cow -19.9 (log-probabilities).
    scores = metric(LESSON, "fill_blank.scores")
    assert metric(LESSON, "fill_blank.best") == "dog"
    assert scores["dog"] > max(v for k, v in scores.items() if k != "dog") + 2.0
