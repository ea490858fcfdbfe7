"""The intents data set: balanced, reproducible, and its test split really uses unseen words."""
from __future__ import annotations

from collections import Counter

import pytest

from course_utils import data
from course_utils.datagen import intents


@pytest.fixture(scope="module")
def splits():
    return {s: data.load_rows("intents", s) for s in ("train", "test")}


def test_shipped_files_match_the_generator(splits):
    built = intents.build()
    assert splits["train"] == built["train"], "data/intents/train.jsonl is stale: run `make data`"
    assert splits["test"] == built["test"], "data/intents/test.jsonl is stale: run `make data`"


def test_balanced_and_labelled(splits):
    for name, per in (("train", intents.TRAIN_PER_INTENT), ("test", intents.TEST_PER_INTENT)):
        counts = Counter(r["label"] for r in splits[name])
        assert set(counts) == set(intents.INTENTS)
        assert set(counts.values()) == {per}, counts
    assert len({r["text"] for r in splits["train"]}) == len(splits["train"]), "duplicate train questions"


def test_test_cue_words_never_appear_in_train(splits):
    train_vocab = {w for r in splits["train"] for w in intents.words(r["text"])}
    for r in splits["test"]:
        cue = intents.cue_words(r["cue"])
        assert cue, f"test cue {r['cue']!r} has no content word"
        assert not cue & train_vocab, f"{r['text']!r}: cue words {cue & train_vocab} appear in train"


def test_train_and_test_share_no_question_and_no_crop(splits):
    assert not {r["text"] for r in splits["train"]} & {r["text"] for r in splits["test"]}
    assert not set(intents.CROPS["train"]) & set(intents.CROPS["test"])


def test_the_generator_refuses_a_leaky_lexicon(monkeypatch):
    leaky = {k: {s: dict(v) for s, v in d.items()} for k, d in intents.LEXICON.items()}
    leaky["watering"]["test"]["topic"] = ["irrigation"]  # a train word in the test lexicon
    monkeypatch.setattr(intents, "LEXICON", leaky)
    with pytest.raises(ValueError, match="irrigation"):
        intents.build()
