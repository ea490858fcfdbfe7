"""Lesson 02's claims, read from build/results/02_transfer_learning.json (run the notebook first).

Spread over seeds 0, 1, 2 (`make seeds`; tiny profile, one torch thread):
CNN at 1 label per class, mean of 5 draws: frozen - scratch +0.186, +0.176, +0.173; fine-tune -
scratch +0.211, +0.177, +0.184; the gap at 10 labels +0.046, +0.079, -0.055. Text at 4 labels per
class on the unseen-words test split: scratch 0.116, 0.097, 0.141; frozen 0.519, 0.606, 0.606;
fine-tuned - frozen +0.094, +0.075, +0.031; the nearest train cue of a test cue has the right intent
69% of the time with the pretrained encoder, 22-25% with the scratch one. The lesson's claim:
transfer beats scratch by at least 15 points at few labels.
"""
from __future__ import annotations

from course_utils.results import metric

LESSON = "02_transfer_learning"
CLAIM = 0.15  # transfer beats scratch by at least 15 points at few labels


def test_cnn_transfer_beats_scratch_at_few_labels():
    scratch = metric(LESSON, "cnn.scratch_accuracy")
    assert metric(LESSON, "cnn.labels_per_class") <= 2
    finetune, frozen = metric(LESSON, "cnn.finetune_accuracy"), metric(LESSON, "cnn.frozen_accuracy")
    assert finetune - scratch >= CLAIM, f"CNN fine-tune {finetune:.3f} vs scratch {scratch:.3f}"
    assert frozen - scratch >= CLAIM, f"CNN frozen {frozen:.3f} vs scratch {scratch:.3f}"


def test_cnn_gap_closes_with_more_labels():
    curve = metric(LESSON, "cnn.curve")
    gap_first = curve["frozen"][0] - curve["scratch"][0]
    gap_last = max(curve["frozen"][-1], curve["finetune"][-1]) - curve["scratch"][-1]
    assert gap_last < gap_first, "transfer's advantage should shrink as labels grow"
    assert curve["scratch"][-1] > curve["scratch"][0] + 0.2, "scratch should learn with more labels"


def test_text_transfer_beats_scratch_on_unseen_words():
    scratch = metric(LESSON, "text.scratch_accuracy")
    assert scratch < 0.3, f"scratch should be near chance (0.125) on unseen words, got {scratch:.3f}"
    for m in ("frozen", "finetune"):
        acc = metric(LESSON, f"text.{m}_accuracy")
        assert acc - scratch >= CLAIM, f"text {m} {acc:.3f} vs scratch {scratch:.3f}"
    assert metric(LESSON, "text.frozen_accuracy") > 0.4


def test_fine_tuning_improves_on_the_probe_it_started_from():
    assert metric(LESSON, "text.finetune_accuracy") >= metric(LESSON, "text.frozen_accuracy") + 0.02


def test_pretrained_embeddings_bridge_unseen_words():
    pre = metric(LESSON, "text.nearest_cue_accuracy")
    scratch = metric(LESSON, "text.nearest_cue_accuracy_scratch")
    assert pre >= 0.5 and pre - scratch >= 0.25, f"pretrained {pre:.3f} vs scratch {scratch:.3f}"


def test_frozen_trains_orders_of_magnitude_fewer_parameters():
    t = metric(LESSON, "text.trainable")
    assert t["finetune"] > 1000 * t["frozen"] and t["scratch"] == t["finetune"]
