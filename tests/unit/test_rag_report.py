"""course_utils.rag (index, retrieval, updates, training rows) and course_utils.report (the course
table from records), on small inputs: right answers, and clear errors on bad input."""
from __future__ import annotations

import json

import pytest
import torch

from course_utils import generation, rag, report, results
from course_utils.datagen import agri
from course_utils.rlhf import reward


class FakeEncoder:
    """Embeds a text as counts of a few words: enough to test retrieval without a model."""

    WORDS = ("plant", "soil", "water", "maize", "rice", "peas")


def _fake_embed(self_or_pair, texts):
    vecs = torch.tensor([[t.lower().count(w) + 1e-3 for w in FakeEncoder.WORDS] for t in texts], dtype=torch.float)
    return torch.nn.functional.normalize(vecs, dim=1)


@pytest.fixture
def index(monkeypatch):
    monkeypatch.setattr(rag, "_embed", _fake_embed)
    docs = ["Plant maize in March.", "The best soil for rice is clay soil.", "Water peas every day."]
    return rag.build_index(["maize/planting_month", "rice/soil", "peas/watering"], docs, None, None)


def test_retrieve_and_recall(index):
    assert rag.retrieve(index, ["When should I plant maize?"], 1) == [[0]]
    recall = rag.recall_at_k(index, ["When should I plant maize?", "How often do I water peas?"],
                             ["maize/planting_month", "rice/soil"], ks=(1, 3))
    assert recall == {1: 0.5, 3: 1.0}
    with pytest.raises(ValueError, match="k must be between 1"):
        rag.retrieve(index, ["x"], 4)


def test_update_index_replaces_only_the_changed_documents(index):
    new = rag.update_index(index, {"rice/soil": "The best soil for rice is sandy soil."})
    assert new.docs[1].endswith("sandy soil.") and index.docs[1].endswith("clay soil.")  # the old index is untouched
    assert torch.equal(new.embeddings[0], index.embeddings[0])
    with pytest.raises(KeyError, match="not in the index"):
        rag.update_index(index, {"kale/soil": "x"})


def test_reading_rows_follow_the_notes(index):
    rows = [{"prompt": "When should I plant maize?", "crop": "maize", "relation": "planting_month", "value": "March",
             "gold": "Plant maize in March."}] * 20
    out = rag.reading_rows(index, rows, 1, share=0.5, seed=0)
    flipped = [r for r in out if r["counterfactual"]]
    assert 0 < len(flipped) < 20
    for r in out:
        note = r["prompt"].split("\n")[0]
        assert r["completion"] in note, r  # the answer is always the note's sentence
        assert r["counterfactual"] == ("March" not in r["completion"])


def test_distractor_rows_keep_the_gold_answer_under_another_crops_note(monkeypatch):
    monkeypatch.setattr(rag, "_embed", _fake_embed)
    docs = ["Plant maize in March.", "Plant rice in May.", "The best soil for rice is clay soil."]
    idx = rag.build_index(["maize/planting_month", "rice/planting_month", "rice/soil"], docs, None, None)
    rows = [{"prompt": "When should I plant maize?", "crop": "maize", "relation": "planting_month", "value": "March",
             "gold": "Plant maize in March."}] * 30
    plain = rag.reading_rows(idx, rows, 1, share=0.5, seed=0)
    mixed = rag.reading_rows(idx, rows, 1, share=0.5, distractor_share=0.5, seed=0)
    assert [r["counterfactual"] for r in plain] == [r["counterfactual"] for r in mixed]  # the same flips
    distract = [r for r in mixed if r["distractor"]]
    assert 0 < len(distract) < 30 and not any(r["counterfactual"] for r in distract)
    for r in distract:  # another crop's note of the same relation, and the answer the model memorised
        assert r["prompt"].startswith("Notes: Plant rice in May.") and r["completion"] == "Plant maize in March."
    with pytest.raises(ValueError, match="distractor_share"):
        rag.reading_rows(idx, rows, 1, distractor_share=1.5)


def test_changed_facts_and_update_rows():
    kb = agri.knowledge(__import__("random").Random(0))
    changes = rag.changed_facts(kb, 5, seed=1)
    assert len(changes) == 5
    old = {r["fact_id"]: r["value"] for r in kb}
    assert all(c["value"] != old[f] and c["value"] in c["answer"] for f, c in changes.items())
    train = [{"prompt": f"q {r['fact_id']}", "crop": r["crop"], "relation": r["relation"], "gold": r["answer"]}
             for r in kb]
    rows = rag.updated_training_rows(train, changes)
    assert len(rows) == 10
    with pytest.raises(ValueError, match="n must be between"):
        rag.changed_facts(kb, 0)


def _write(tmp_path, lesson, metrics):
    d = tmp_path / "results"
    d.mkdir(exist_ok=True)
    (d / f"{lesson}.json").write_text(json.dumps({"lesson": lesson, "metrics": metrics}))


def test_course_table_reads_the_records_and_names_a_missing_one(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    _write(tmp_path, "03_full_finetuning", {"n_eval": 240, "base": {"task_accuracy": 0.0},
                                            "full": {"task_accuracy": 0.9, "judge_score": 0.55, "train_seconds": 100.0},
                                            "rehearsal": {"task_accuracy": 0.8}})
    rows = report.course_table(lessons=["03_full_finetuning"])
    assert [r.stage for r in rows] == ["base model", "SFT (full fine-tuning)", "SFT + rehearsal"]
    assert rows[1].judge_score == 0.55 and rows[1].safe_rate is None and rows[1].n == 240
    lo, hi = rows[1].interval()
    assert lo < 0.9 < hi
    md = report.table_markdown(rows)
    assert "90.0%" in md and "| - |" in md
    with pytest.raises(results.ResultsError, match="notebooks/07_ppo.ipynb"):
        report.course_table(lessons=["07_ppo"])
    _write(tmp_path, "08_dpo", {"dpo": {"n_eval": 240}})
    with pytest.raises(results.ResultsError, match="no 'dpo.task_accuracy_after'"):
        report.course_table(lessons=["08_dpo"])


def test_best_of_n_keeps_the_answer_the_reward_model_scores_highest(monkeypatch):
    rows = [{"prompt": "When should I plant maize?", "crop": "maize", "relation": "planting_month", "value": "March"},
            {"prompt": "When should I plant rice?", "crop": "rice", "relation": "planting_month", "value": "May"}]
    draws = iter([["Plant maize in June.", "Plant rice in May."], ["Plant maize in March.", "Plant rice in July."]])
    monkeypatch.setattr(generation, "answer", lambda *a, **k: next(draws))
    # the stand-in reward model likes answers that name March or May
    monkeypatch.setattr(reward, "score", lambda rm, tok, prompts, answers: torch.tensor(
        [float("March" in a or "May" in a) for a in answers]))
    out = reward.best_of_n(None, None, None, rows, n=2)
    assert out["answers"] == ["Plant maize in March.", "Plant rice in May."]
    assert out["task_accuracy"] == 1.0 and out["single"]["task_accuracy"] == 0.5
    with pytest.raises(ValueError, match="at least 1 answer"):
        reward.best_of_n(None, None, None, rows, n=0)
