"""Retrieval-augmented generation (lesson 09): index the knowledge base with a sentence encoder,
retrieve the facts nearest a question, and put them in the prompt the model answers.

* :func:`build_index` embeds one document per fact (the knowledge base's answer sentences) with
  the course's encoder (the installed MiniLM, or the Hub one in the hub profile);
  :func:`update_index` re-embeds only the documents that changed: updating a RAG system's
  knowledge costs seconds, not a training run.
* :func:`retrieve` returns the ``k`` nearest documents of each question (cosine similarity);
  :func:`recall_at_k` measures how often the right fact is among them.
* :func:`with_context` writes the prompt a RAG model answers: the retrieved notes, then the
  question. :func:`rag_rows` turns question rows into such rows, for training or evaluation.
* :func:`changed_facts` draws the capstone's "updated advisory": some facts with a new value.
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from course_utils import chat, encoders
from course_utils.datagen.agri import RELATION_BY_NAME, answer_for


@dataclass(frozen=True)
class Index:
    """Documents and their unit-length embeddings, row for row, and the encoder that made them."""

    ids: tuple[str, ...]          # one id per document (the fact_id)
    docs: tuple[str, ...]         # the documents' text
    embeddings: torch.Tensor      # (n_docs, dim), L2-normalised
    tokenizer: Any
    encoder: Any

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.docs) or len(self.docs) != self.embeddings.shape[0]:
            raise ValueError(f"an index needs one id and one embedding per document: {len(self.ids)} ids, "
                             f"{len(self.docs)} docs, {self.embeddings.shape[0]} embeddings")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("document ids must be unique")


def _embed(index_or_encoder: Index | tuple, texts: Sequence[str]) -> torch.Tensor:
    tok, enc = (index_or_encoder.tokenizer, index_or_encoder.encoder) if isinstance(index_or_encoder, Index) \
        else index_or_encoder
    return encoders.embed(list(texts), tok, enc, max_length=64)  # (n, dim), unit length


def knowledge_docs(kb_rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str]]:
    """The knowledge base as documents: ``(ids, texts)``, one fact's answer sentence each."""
    if not kb_rows:
        raise ValueError("no knowledge rows: load them with data.read_jsonl(data.path_of('knowledge', 'train'))")
    return [r["fact_id"] for r in kb_rows], [r["answer"] for r in kb_rows]


def build_index(ids: Sequence[str], docs: Sequence[str], tokenizer, encoder) -> Index:
    """Embed every document once: the whole cost of indexing."""
    if not docs:
        raise ValueError("nothing to index: docs is empty")
    return Index(tuple(ids), tuple(docs), _embed((tokenizer, encoder), docs), tokenizer, encoder)


def update_index(index: Index, changes: Mapping[str, str]) -> Index:
    """A new index where the documents of ``changes`` (id -> new text) are replaced and re-embedded;
    every other embedding is kept. Unknown ids are an error (add documents with build_index)."""
    unknown = set(changes) - set(index.ids)
    if unknown:
        raise KeyError(f"update_index changes documents that are not in the index: {sorted(unknown)[:5]}")
    if not changes:
        return index
    rows = [index.ids.index(i) for i in changes]
    emb = index.embeddings.clone()
    emb[rows] = _embed(index, [changes[index.ids[r]] for r in rows])
    docs = list(index.docs)
    for r in rows:
        docs[r] = changes[index.ids[r]]
    return replace(index, docs=tuple(docs), embeddings=emb)


def retrieve(index: Index, questions: Sequence[str], k: int = 2) -> list[list[int]]:
    """For each question, the positions of its ``k`` most similar documents, best first."""
    if not 1 <= k <= len(index.docs):
        raise ValueError(f"k must be between 1 and the number of documents ({len(index.docs)}), got {k}")
    sims = _embed(index, questions) @ index.embeddings.T   # (n_questions, n_docs) cosine similarities
    return sims.topk(k, dim=1).indices.tolist()


def recall_at_k(index: Index, questions: Sequence[str], gold_ids: Sequence[str],
                ks: Sequence[int] = (1, 2, 3, 5)) -> dict[int, float]:
    """Share of questions whose right document is among the ``k`` retrieved, for each k."""
    if len(questions) != len(gold_ids):
        raise ValueError(f"one gold id per question: {len(questions)} questions, {len(gold_ids)} ids")
    top = retrieve(index, questions, max(ks))
    ranked = [[index.ids[j] for j in row] for row in top]
    return {k: sum(g in r[:k] for r, g in zip(ranked, gold_ids, strict=True)) / len(ranked) for k in ks}


def with_context(question: str, notes: Sequence[str]) -> str:
    """The question a RAG model sees: the retrieved notes first, then the question."""
    return "Notes: " + " ".join(n.strip() for n in notes) + "\nQuestion: " + question.strip()


def rag_rows(index: Index, rows: Sequence[Mapping[str, Any]], k: int = 2, completion_key: str | None = None,
             chat_format: bool = False) -> list[dict[str, Any]]:
    """Copies of question ``rows`` whose ``prompt`` carries the ``k`` retrieved notes. With
    ``completion_key`` (e.g. "gold") the completion is that field; ``chat_format`` wraps both the
    way the SFT trainer wants them (prompt/completion only)."""
    questions = [r["prompt"] for r in rows]
    top = retrieve(index, questions, k)
    out = []
    for r, idx in zip(rows, top, strict=True):
        prompt = with_context(r["prompt"], [index.docs[j] for j in idx])
        if chat_format:
            out.append({"prompt": chat.format_prompt(prompt), "completion": chat.format_completion(r[completion_key])})
        else:
            out.append({**r, "prompt": prompt, **({"completion": r[completion_key]} if completion_key else {})})
    return out


def changed_facts(kb_rows: Sequence[Mapping[str, Any]], n: int, seed: int = 0) -> dict[str, dict[str, Any]]:
    """An "updated advisory": ``n`` facts (drawn with ``seed``) with a new value of their relation,
    as fact_id -> the fact's row with its new ``value`` and ``answer``."""
    if not 0 < n <= len(kb_rows):
        raise ValueError(f"n must be between 1 and the number of facts ({len(kb_rows)}), got {n}")
    rng = random.Random(seed)
    out = {}
    for row in rng.sample(list(kb_rows), n):
        new = rng.choice([v for v in RELATION_BY_NAME[row["relation"]].values if v != row["value"]])
        out[row["fact_id"]] = {**row, "value": new, "answer": answer_for(row["crop"], row["relation"], new)}
    return out


def reading_rows(index: Index, rows: Sequence[Mapping[str, Any]], k: int = 1, *, share: float = 0.5,
                 distractor_share: float = 0.0, seed: int = 0) -> list[dict[str, Any]]:
    """Training rows for a generator that reads its notes: each question with its ``k`` retrieved
    notes and the gold answer. In a ``share`` of them the question's own fact is given a new value
    in the notes and the answer follows the notes (``counterfactual`` True), so memory alone cannot
    get those rows right; where retrieval missed the fact, the counterfactual note replaces the
    first. In a ``distractor_share`` of the others the notes are about other crops (the same
    relation: the kind of note a retriever gets wrong) and the answer is the gold one
    (``distractor`` True): a note that does not answer the question is to be ignored, as
    retrieval-augmented fine-tuning with distractor documents teaches (RAFT, Zhang et al. 2024)."""
    if not 0 <= share <= 1 or not 0 <= distractor_share <= 1:
        raise ValueError(f"share and distractor_share must be between 0 and 1, got {share} and {distractor_share}")
    rng = random.Random(seed)
    rng_distract = random.Random(f"distractors-{seed}")  # its own draws: share's rows stay as they were
    top = retrieve(index, [r["prompt"] for r in rows], k)
    by_relation: dict[str, list[int]] = {}
    for j, fid in enumerate(index.ids):
        by_relation.setdefault(fid.split("/", 1)[1], []).append(j)
    out = []
    for r, idx in zip(rows, top, strict=True):
        notes, answer, flipped = [index.docs[j] for j in idx], r["gold"], rng.random() < share
        fid = f"{r['crop']}/{r['relation']}"
        if flipped:
            value = rng.choice([v for v in RELATION_BY_NAME[r["relation"]].values if v != r["value"]])
            answer = answer_for(r["crop"], r["relation"], value)
            ids = [index.ids[j] for j in idx]
            notes = [answer if i == fid else n for i, n in zip(ids, notes, strict=True)] if fid in ids \
                else [answer, *notes[1:]]
        distract = not flipped and rng_distract.random() < distractor_share
        if distract:
            others = [j for j in by_relation.get(r["relation"], []) if index.ids[j] != fid]
            notes = [index.docs[j] for j in rng_distract.sample(others, min(len(notes), len(others)))]
        out.append({"prompt": with_context(r["prompt"], notes), "completion": answer, "counterfactual": flipped,
                    "distractor": distract})
    return out


def updated_training_rows(train_rows: Sequence[Mapping[str, Any]], changes: Mapping[str, Mapping[str, Any]],
                          n_kept: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """Chat-formatted SFT rows that teach an update: every training question about a changed fact
    with its new answer, plus as many questions about unchanged facts (``n_kept``; their gold
    answers), so the model rehearses what did not change."""
    changed = [r for r in train_rows if f"{r['crop']}/{r['relation']}" in changes]
    if not changed:
        raise ValueError("no training question asks about a changed fact: check the fact ids of `changes`")
    kept = [r for r in train_rows if f"{r['crop']}/{r['relation']}" not in changes]
    rng = random.Random(seed)
    kept = rng.sample(kept, min(len(kept), n_kept if n_kept is not None else len(changed)))
    rows = [{"prompt": chat.format_prompt(r["prompt"]),
             "completion": chat.format_completion(changes[f"{r['crop']}/{r['relation']}"]["answer"])} for r in changed]
    rows += [{"prompt": chat.format_prompt(r["prompt"]), "completion": chat.format_completion(r["gold"])} for r in kept]
    rng.shuffle(rows)
    return rows
