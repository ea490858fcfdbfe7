"""The agriculture domain data: deterministic, the right sizes, splits that test what they claim."""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from course_utils import chat, data, judges, paths
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
    w = agri.WRONG_PAIRS_PER_QUESTION
    assert {k: len(v) for k, v in built["preferences"].items()} == {"train": 720 * (w + 1), "test": 960}
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
            assert r["gold"] == agri.answer_for(r["crop"], r["relation"], r["value"])
            assert r["completion"] == agri.forum_answer(r["gold"], r["habit"])
    assert all(r["habit"] is None for r in inst["test"])  # graded only: the gold answer is its reference


def test_forum_habits_are_the_regulars_and_their_share(built):
    """SFT data with realistic flaws: only the regulars' relations carry a habit, about
    FORUM_HABIT_SHARE of their rows, always the regular's one catchphrase; the facts stay right."""
    rows = built["instructions"]["train"] + built["instructions"]["validation"]
    for relation, habit in agri.FORUM_HABITS.items():
        mine = [r for r in rows if r["relation"] == relation]
        share = sum(r["habit"] == habit for r in mine) / len(mine)
        assert abs(share - agri.FORUM_HABIT_SHARE) < 0.06, (relation, share)
        assert {r["habit"] for r in mine} == {habit, None}
    assert all(r["habit"] is None for r in rows if r["relation"] not in agri.FORUM_HABITS)
    for r in rows:
        verdict = judges.judge(r, r["completion"])
        assert verdict["correct"] and verdict["score"] == (0.0 if r["habit"] else 1.0), (r, verdict)
    with pytest.raises(ValueError, match="unknown habit"):
        agri.forum_answer("Plant maize in March.", "grumpy")


def test_alignment_prompts_are_never_sft_training_questions(built):
    """Preference and RL prompts are the validation phrasings (plain and wrapped), not SFT train
    questions; the evaluation prompts (held-out phrasings) are in neither."""
    sft_q = {r["prompt"] for r in built["instructions"]["train"]}
    eval_q = {r["prompt"] for r in built["rl_prompts"]["test"]} | {r["prompt"] for r in built["preferences"]["test"]}
    for rows in (built["preferences"]["train"], built["rl_prompts"]["train"]):
        qs = {r["prompt"] for r in rows}
        assert not qs & sft_q and not qs & eval_q
        assert all("/train/" in r["template"] for r in rows)
    assert len({r["prompt"] for r in built["preferences"]["train"]}) == 720  # 3 per fact: wrong pairs and a style pair


def test_rows_stay_short(built):
    """Short rows fit lesson 03's 64-token SFT window and a 128-token preference window
    (measured with the course tokenizer, chat format included: at most 62 tokens for a forum
    demonstration and 100 for a preference pair; ~2.3 characters a token)."""
    for split in built["instructions"].values():
        assert max(len(r["prompt"]) + len(r["completion"]) for r in split) <= 170
    for split in built["preferences"].values():
        assert max(len(r["prompt"]) + len(r["rejected"]) for r in split) <= 320


def test_preferences_balanced_and_disjoint(built):
    prefs = built["preferences"]
    w = agri.WRONG_PAIRS_PER_QUESTION
    expected = {"train": {"wrong": 720 * w, "unsafe": 240, "rude": 240, "rambling": 240},
                "test": {"wrong": 480, "unsafe": 160, "rude": 160, "rambling": 160}}
    for split, rows in prefs.items():
        assert dict(Counter(r["defect"] for r in rows)) == expected[split], split
        assert all(r["chosen"] != r["rejected"] for r in rows)
        by_q = Counter(r["prompt"] for r in rows if r["defect"] == "wrong")
        assert set(by_q.values()) == {w if split == "train" else 1}, split  # every question has its wrong pairs
    assert not {r["prompt"] for r in prefs["train"]} & {r["prompt"] for r in prefs["test"]}
    rambling = [r for r in prefs["train"] if r["defect"] == "rambling"]
    assert min(len(r["rejected"]) for r in rambling) > 2 * max(len(r["chosen"]) for r in rambling)


def test_rl_prompts_carry_gold_metadata(built):
    rl = built["rl_prompts"]
    assert not {r["prompt"] for r in rl["train"]} & {r["prompt"] for r in rl["test"]}
    for r in rl["train"] + rl["test"]:
        assert r["answer"] == agri.answer_for(r["crop"], r["relation"], r["value"])
    assert all(r["chosen"] == agri.answer_for(r["crop"], r["relation"], r["value"])
               for rows in built["preferences"].values() for r in rows)


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
