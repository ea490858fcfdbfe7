"""Lesson 09's exercises (capstone): recall@k, top-k retrieval from embeddings, deciding where knowledge
should come from, and three questions (following changed facts, a reader that ignores its note, the number
of notes); each check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_utils.exercises import Exercise, ask, run_check, too_few_runs


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


# --------------------------------------------------------------------------- questions (issue 16)
UPDATE = {"A": "the SFT model fine-tuned on the update: training writes the new facts into the weights",
          "B": "RAG + SFT with the re-indexed notes: the reader copies the new value from its note",
          "C": "the SFT model handed the new notes: the new value is right there in its prompt"}


def check_predict_update(prediction: str | None, fine_tuned: tuple[float, float, float],
                         rag_reader: tuple[float, float, float], changed_notes: float, n: int) -> bool:
    """Predict, then run: which way of following changed facts answers the most changed questions right.
    ``fine_tuned`` and ``rag_reader`` are (accuracy on changed facts, on unchanged facts, update seconds)."""
    (c_ft, u_ft, s_ft), (c_rag, u_rag, s_rag) = fine_tuned, rag_reader
    correct = max(zip(("A", "B", "C"), (c_ft, c_rag, changed_notes), strict=True), key=lambda x: x[1])[0]
    why = (f"on the {n} held-out questions about changed facts, fine-tuning on the update was right on {c_ft:.0%} "
           f"after {s_ft:.0f} s of training, RAG + SFT on {c_rag:.0%} after {s_rag * 1000:.0f} ms of re-indexing, "
           f"and the SFT model with the new notes on {changed_notes:.0%}; on the unchanged facts fine-tuning kept "
           f"{u_ft:.0%} and RAG + SFT {u_rag:.0%}. Fine-tuning overwrites memorised values with gradient steps, and "
           "every step also moves the other facts (the unchanged rows mixed in only limit the damage); the trained "
           "reader copies the value from its note where it learnt to trust notes over memory; the SFT model was "
           "never trained on notes and answers from memory. At scale the costs part further: re-embedding a "
           "changed note costs the same for any generator, while a training run grows with the model.")
    return ask("predict_update", prediction, UPDATE, correct, why)


STALE = {"A": "re-index the knowledge base: the index must still hold the old note",
         "B": "train the reader on more notes that contradict its memory (counterfactual notes), so that it "
              "learns to follow its context",
         "C": "fine-tune the new value into the weights, and do so after every future change"}


def check_decide_stale_answer(answer: str | None) -> bool:
    """Decide: the retriever returns the updated note, yet the reader answers with the old value."""
    why = ("the retriever did its job, since the updated note was in the prompt, so the failure is the reader's: "
           "where its note and its memory disagree, it falls back on what it memorised. A reader learns to prefer "
           "its context from rows where only the note can be right, which is what the counterfactual rows of this "
           "lesson are. Longpre et al. (2021) found the same over-reliance on memory in question-answering readers, "
           "and that training on passages with substituted answers reduces it. Fine-tuning each change in works for "
           "one fact, at the cost of a training run per change.")
    return ask("decide_stale_answer", answer, STALE, "B", why,
               hints={"A": "The retriever returned the updated note: the index already holds the new fact.",
                      "C": "Every change would cost a training run, the slow route this lesson timed, and the "
                           "reader would still ignore the next changed note."})


NOTES = {"A": "more notes: more chances that the right one is among them",
         "B": "fewer notes: the extra ones distract the reader", "C": "about the same (within 3 points)"}


def check_experiment_notes(answer: str | None, runs: dict[int, float], recall: dict[int, float],
                           trained_k: int) -> bool:
    """Experiment: ``runs`` maps each number of notes k you tried to the trained reader's task accuracy
    (``recall``: the retriever's recall@k; ``trained_k``: the notes per prompt the reader was trained with)."""
    verdict = too_few_runs("experiment_notes", answer, runs, NOTES, "my_k")
    if verdict is not None:
        return verdict
    (few, a_few), (many, a_many) = min(runs.items()), max(runs.items())
    correct = "C" if abs(a_many - a_few) <= 0.03 else "A" if a_many > a_few else "B"
    rec = (f" (recall@{few} {recall[few]:.1%}, recall@{many} {recall[many]:.1%})" if few in recall and many in recall
           else "")
    new = (f", and the reader was trained with {trained_k} note(s) per prompt, so a prompt with {many} is new to it"
           if many > trained_k else "")
    here = {"A": "Here the extra chances to retrieve the right note were worth more than the distraction.",
            "B": "Here the extra notes cost more than they added: they are other crops' facts, often with the same "
                 f"relation{new}.",
            "C": "Here the gain in recall and the extra distraction roughly cancelled."}[correct]
    why = (f"with {few} note(s) the reader answered {a_few:.1%} right, with {many}, {a_many:.1%}{rec}. More notes "
           "raise the chance that the right fact is in the prompt, but where the retriever is usually right at "
           "k=1 the extra notes are mostly wrong ones, and a small reader may copy from the wrong one. "
           f"{here} The RAFT paper (Zhang et al., 2024) trains readers with distractor notes for this reason; "
           "real systems tune k on held-out questions, often with a re-ranker that orders the notes first.")
    return ask("experiment_notes", answer, NOTES, correct, why)


EXERCISES += (
    Exercise("09", "predict_update", check_predict_update, "A", wrong=("B", "C"), kind="predict",
             measured=((0.92, 0.75, 18.6), (0.46, 0.88, 0.06), 0.0, 24)),
    Exercise("09", "decide_stale_answer", check_decide_stale_answer, "B", wrong=("A", "C"), kind="decide",
             feedback=(("A", "index already holds"),)),
    Exercise("09", "experiment_notes", check_experiment_notes, "B", wrong=("A", "C"), kind="experiment",
             measured=({1: 0.88, 3: 0.49}, {1: 0.94, 3: 0.996}, 1)),
)
