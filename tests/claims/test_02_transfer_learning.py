"""Lesson 02's claims, read from build/results/02_transfer_learning.json (run the notebook first).

Thresholds come from measured runs (tiny profile, CPU), with margin:
CNN at 1 label per class: scratch ~0.26, frozen ~0.50, fine-tune ~0.49 (3 draws averaged);
text at 4 labels per class on the unseen-words test split: scratch ~0.13, frozen ~0.52,
fine-tuned ~0.60. The lesson claims at least 15 accuracy points for transfer over scratch.
"""
from __future__ import annotations

from course_utils.results import metric

LESSON = "02_transfer_learning"
MARGIN = 0.15  # the lesson's claim: transfer beats scratch by at least 15 points at few labels


def test_cnn_transfer_beats_scratch_at_few_labels():
    scratch = metric(LESSON, "cnn.scratch_accuracy")
    assert metric(LESSON, "cnn.labels_per_class") <= 2
    for m in ("frozen", "finetune"):
        acc = metric(LESSON, f"cnn.{m}_accuracy")
        assert acc - scratch >= MARGIN, f"CNN {m} {acc:.3f} vs scratch {scratch:.3f}"


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
        assert acc - scratch >= MARGIN, f"text {m} {acc:.3f} vs scratch {scratch:.3f}"
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
