"""Lesson 09's exercises (capstone): recall@k, top-k retrieval from embeddings, and deciding where
knowledge should come from; each check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_utils.exercises import Exercise, run_check


def check_recall_at(fn: Callable[[list[list[str]], list[str], int], float]) -> bool:
    """Easy: ``fn(ranked_ids, gold_ids, k)`` is the share of questions whose gold id is in the first k."""
    ranked = [["a", "b", "c"], ["b", "a", "c"], ["c", "b", "a"], ["b", "c", "a"]]
    gold = ["a", "a", "a", "d"]
    want = {1: 0.25, 2: 0.5, 3: 0.75}

    def check():
        for k, v in want.items():
            got = fn(ranked, gold, k)
            if k == 1 and abs(float(got) - 0.5) < 1e-9:
                return False, "recall@1 looks at the first document only (ranked_ids[i][:k])"
            if abs(float(got) - v) > 1e-9:
                return False, f"recall@{k}: expected {v}, got {got} (a gold id never retrieved is a miss)"
        return True, "recall@k only grows with k: a generator given more notes has more chances, and more noise"
    return run_check("recall@k", check)


def recall_at(ranked_ids: list[list[str]], gold_ids: list[str], k: int) -> float:
    """Solution: the share of questions whose gold id is among their first ``k`` retrieved ids."""
    return sum(g in r[:k] for r, g in zip(ranked_ids, gold_ids, strict=True)) / len(gold_ids)


def check_top_k_docs(fn: Callable[[torch.Tensor, torch.Tensor, int], list[int]]) -> bool:
    """Medium: ``fn(q, D, k)`` returns the positions of the k rows of D most similar to q, best first."""
    def check():
        g = torch.Generator().manual_seed(9)
        D = torch.nn.functional.normalize(torch.randn(12, 8, generator=g), dim=1)
        q = torch.nn.functional.normalize(D[9] + 0.3 * D[2], dim=0)  # best first is not sorted order
        want = (D @ q).topk(3).indices.tolist()
        got = [int(i) for i in fn(q, D, 3)]
        if got == (D @ q).topk(3, largest=False).indices.tolist():
            return False, "those are the least similar documents: take the largest cosine similarities"
        if sorted(got) == sorted(want) and got != want:
            return False, f"the right documents in the wrong order: expected {want}, got {got} (most similar first)"
        if got != want:
            return False, f"expected positions {want}, got {got} (hint: D @ q gives one similarity per document)"
        return True, "the whole of a dense retriever: one matrix-vector product and a top-k"
    return run_check("top-k retrieval", check)


def top_k_docs(q: torch.Tensor, D: torch.Tensor, k: int) -> list[int]:
    """Solution: cosine similarity of unit vectors is a dot product; the k largest, best first."""
    return (D @ q).topk(k).indices.tolist()


#: Situations for the decide exercise, with the answer and why (the lesson's measurements behind each).
SITUATIONS: dict[str, tuple[str, str]] = {
    "The ministry changes its pesticide advice every month.":
        ("retrieve", "knowledge that changes: re-indexing takes milliseconds, retraining a run (the update section)"),
    "Answers must follow the advisory's one-sentence format and tone, and the facts never change.":
        ("fine-tune", "behaviour and format from demonstrations, stable facts: SFT (lesson 03), LoRA to save memory"),
    "The model already knows the task well; you only want it to list three bullet points.":
        ("prompt", "nothing new to learn: an instruction in the prompt costs nothing"),
    "Answers are correct but often rude or unsafe, copying the demonstrations' habits.":
        ("align", "how answers are given, not which facts: a reward model with PPO/GRPO, or DPO (lessons 06-08)"),
    "A chatbot must use the domain's format and cite facts from a catalogue updated daily.":
        ("retrieve+fine-tune", "format from fine-tuning, fresh facts from retrieval: a reader trained on notes"),
}
CHOICES = ("prompt", "retrieve", "fine-tune", "align", "retrieve+fine-tune")


def check_decide(fn: Callable[[str], str]) -> bool:
    """Hard: ``fn(situation)`` names where the knowledge or behaviour should come from."""
    def check():
        wrong = []
        for situation, (want, why) in SITUATIONS.items():
            got = fn(situation)
            if got not in CHOICES:
                return False, f"answer one of {CHOICES}, got {got!r}"
            if got != want:
                wrong.append(f"{situation!r}: {want}, because {why}")
        if wrong:
            return False, f"{len(SITUATIONS) - len(wrong)}/{len(SITUATIONS)} right. " + " | ".join(wrong)
        return True, "each tool for what it does best; most products combine two"
    return run_check("where should it come from?", check)


def decide(situation: str) -> str:
    """Solution: the lesson's answer for each listed situation."""
    return SITUATIONS[situation][0]


EXERCISES: tuple[Exercise, ...] = (
    Exercise("09", "recall_at", check_recall_at, recall_at,
             wrong=(lambda r, g, k: recall_at(r, g, k + 1),),
             feedback=((lambda r, g, k: 0.5 if k == 1 else recall_at(r, g, k), "first document only"),)),
    Exercise("09", "top_k_docs", check_top_k_docs, top_k_docs,
             wrong=(lambda q, D, k: (D @ q).topk(k, largest=False).indices.tolist(),),
             feedback=((lambda q, D, k: sorted((D @ q).topk(k).indices.tolist()), "wrong order"),)),
    Exercise("09", "decide", check_decide, decide,
             wrong=(lambda s: "fine-tune",),
             feedback=((lambda s: "retrieve", "right."), (lambda s: "nothing", "answer one of"))),
)
