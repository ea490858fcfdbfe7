"""The agriculture domain data: deterministic, the right sizes, splits that test what they claim."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from course_utils import chat, data, paths
from course_utils.datagen import agri


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "domain").rglob("*.jsonl"))}


@pytest.fixture(scope="module")
def built():
    return agri.build()


def test_write_is_deterministic_and_matches_shipped_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    written = agri.write(a)
    agri.write(b)
    assert len(written) == 8 and _digests(a) == _digests(b)
    assert _digests(a) == _digests(paths.DATA_DIR), "data/domain is stale: run `make data`"
    assert sum(p.stat().st_size for p in written) < 3_000_000


def test_sizes(built):
    n_facts = len(agri.CROPS) * len(agri.RELATIONS)
    assert len(built["knowledge"]) == n_facts == 240
    sizes = {k: len(v) for k, v in built["instructions"].items()}
    assert sizes == {"train": 3360, "validation": 240, "test": 480}
    assert {k: len(v) for k, v in built["preferences"].items()} == {"train": 3600, "test": 480}
    assert {k: len(v) for k, v in built["rl_prompts"].items()} == {"train": 480, "test": 240}


def test_relations_have_enough_phrasings_with_a_shared_cue():
    for rel in agri.RELATIONS:
        assert len(rel.train_templates) >= 4 and len(rel.test_templates) >= 2
        assert not set(rel.train_templates) & set(rel.test_templates)
        for t in rel.train_templates + rel.test_templates:
            assert "{crop}" in t and rel.cue in t.lower(), (rel.name, t)
        assert len(set(rel.values)) == len(rel.values) >= 6


def test_values_are_balanced_over_crops(built):
    for rel in agri.RELATIONS:
        counts = Counter(f["value"] for f in built["knowledge"] if f["relation"] == rel.name)
        assert max(counts.values()) - min(counts.values()) <= 1, (rel.name, counts)


def test_train_covers_every_fact_and_test_uses_only_unseen_phrasings(built):
    inst = built["instructions"]
    facts = {(f["crop"], f["relation"]) for f in built["knowledge"]}
    assert {(r["crop"], r["relation"]) for r in inst["train"]} == facts
    assert {(r["crop"], r["relation"]) for r in inst["test"]} == facts
    train_q = {r["prompt"] for r in inst["train"]}
    train_templates = {r["template"] for r in inst["train"] + inst["validation"]}
    assert all("/train/" in t for t in train_templates)
    for r in inst["test"]:
        assert "/test/" in r["template"] and r["prompt"] not in train_q and not r["wrapped"]
        assert r["crop"] in r["prompt"]
        assert not any(r["prompt"].startswith(p) for p in agri.PREFIXES)
        assert not any(r["prompt"].endswith(s) for s in agri.SUFFIXES)
    # train: every (fact, phrasing) once plain and once wrapped in a greeting / sign-off
    assert Counter(r["wrapped"] for r in inst["train"]) == {True: 1680, False: 1680}
    # validation: train phrasings, but (fact, phrasing) pairs never seen in train
    assert not {r["prompt"] for r in inst["validation"]} & train_q
    for split in inst.values():
        for r in split:
            assert r["completion"] == agri.answer_for(r["crop"], r["relation"], r["value"])


def test_rows_stay_short(built):
    """Short rows fit lesson 03's 64-token SFT window and a 128-token preference window
    (measured with the course tokenizer: at most 62 and 115 tokens; ~2.3 characters a token)."""
    for split in built["instructions"].values():
        assert max(len(r["prompt"]) + len(r["completion"]) for r in split) <= 130
    for split in built["preferences"].values():
        assert max(len(r["prompt"]) + len(r["rejected"]) for r in split) <= 320


def test_preferences_balanced_and_disjoint(built):
    prefs = built["preferences"]
    for split, rows in prefs.items():
        counts = Counter(r["defect"] for r in rows)
        assert set(counts) == set(agri.DEFECTS) and max(counts.values()) - min(counts.values()) <= 1, (split, counts)
        assert all(r["chosen"] != r["rejected"] for r in rows)
    assert not {r["prompt"] for r in prefs["train"]} & {r["prompt"] for r in prefs["test"]}
    rambling = [r for r in prefs["train"] if r["defect"] == "rambling"]
    assert min(len(r["rejected"]) for r in rambling) > 2 * max(len(r["chosen"]) for r in rambling)


def test_rl_prompts_carry_gold_metadata(built):
    rl = built["rl_prompts"]
    assert not {r["prompt"] for r in rl["train"]} & {r["prompt"] for r in rl["test"]}
    for r in rl["train"] + rl["test"]:
        assert r["answer"] == agri.answer_for(r["crop"], r["relation"], r["value"])


def test_loaders_return_chat_formatted_datasets():
    ds = data.load("instructions", "train")
    row = ds[0]
    assert row["prompt"] == chat.format_prompt(row["question"])
    assert row["completion"].endswith(chat.END)
    pref = data.load("preferences", "test")[0]
    assert pref["chosen"].endswith(chat.END) and pref["rejected"].endswith(chat.END)
    assert set(data.load("rl_prompts", "train").column_names) >= {"prompt", "question", "crop", "relation", "value"}
    assert len(data.load("knowledge", "all")) == 240


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown defect"):
        agri.rejected_answer(__import__("random").Random(0), "maize", "soil", "sandy", "boring")
