"""The general corpus: deterministic, big enough, cleanly split, and shaped like simple English."""
from __future__ import annotations

import json
import re

import pytest
from tokenizers import pre_tokenizers

from course_utils import paths
from course_utils.datagen import corpus


def _texts(split: str) -> list[str]:
    path = paths.DATA_DIR / "general" / f"{split}.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_generation_is_deterministic():
    assert corpus.generate(300) == corpus.generate(300)
    assert corpus.generate(300) != corpus.generate(300, seed=corpus.SEED + 1)


def test_write_reproduces_the_shipped_files(tmp_path):
    written = corpus.write(tmp_path)
    assert [p.name for p in written] == ["train.jsonl", "validation.jsonl"]
    for p in written:
        assert p.read_bytes() == (paths.DATA_DIR / "general" / p.name).read_bytes(), \
            f"data/general/{p.name} is stale: run `make data`"


def test_at_least_a_million_tokens():
    """Every pre-token (word or punctuation run) of the byte-level BPE is at least one token,
    so counting pre-tokens gives a lower bound on the course tokenizer's count."""
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False)
    n = sum(len(pre.pre_tokenize_str(t)) for t in _texts("train"))
    assert n >= 1_000_000, f"train has only {n:,} pre-tokens"


def test_splits_are_disjoint_and_sized():
    train, val = _texts("train"), _texts("validation")
    assert not set(train) & set(val)
    assert len(set(train)) == len(train) and len(set(val)) == len(val)
    assert 0.03 <= len(val) / (len(train) + len(val)) <= 0.05
    size_mb = sum((paths.DATA_DIR / "general" / f"{s}.jsonl").stat().st_size for s in ("train", "validation")) / 1e6
    assert 1 < size_mb < 10


def test_documents_look_like_sentences():
    texts = _texts("validation")
    chats = [t for t in texts if t.startswith("<|user|>")]
    assert 0.05 < len(chats) / len(texts) < 0.2, "some documents are chats in the course's format"
    for t in chats:
        assert t.endswith("<|end|>") and t.count("<|user|>") == t.count("<|assistant|>"), t
    for t in texts:
        if t in chats:
            continue
        assert t[0].isupper() and t.rstrip()[-1] in '.!?"', t
        assert "  " not in t and "{" not in t and "}" not in t, t
        assert not re.search(r"\b(a|an) (a|an|the)\b", t), t
        assert not re.search(r"\b(his|her) the\b", t), t
    # varied: many distinct openings and a sizeable vocabulary
    assert len({" ".join(t.split()[:4]) for t in texts}) > 100
    assert len({w for t in texts for w in re.findall(r"[a-z]+", t.lower())}) > 500


def test_articles():
    assert corpus._a("apple") == "an apple" and corpus._a("dog") == "a dog"


def test_raw_sample_is_messy():
    docs = corpus.raw_sample(200)
    assert docs == corpus.raw_sample(200)
    assert len(docs) > len(set(docs))  # exact duplicates to remove
    assert any("<p>" in d for d in docs)
    with pytest.raises(ValueError, match="at least 10"):
        corpus.raw_sample(3)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="n_docs"):
        corpus.generate(0)
    with pytest.raises(ValueError, match="validation_fraction"):
        corpus.split(["a", "b"], validation_fraction=1.5)
