"""Lesson 09's claims, read from build/results/09_capstone.json (written by the notebook).

Thresholds are set from the first measured runs (tiny profile, one torch thread; see the closing
note of issue 14), with margin; seed 1 was run once (every claim holds; figures in brackets), seed 2
not yet. Seed 0 measured:
retriever recall@1 94.2%, recall@5 100% (the same); 24 changed facts (24 held-out questions about them,
216 about the others [17, 223]): SFT not updated 4.2% [0.0%] on the changed facts, the SFT model given
the new notes 0.0% [0.0%], the reader trained on counterfactual notes 45.8% [58.8%] (unchanged 88.9%
[86.1%]), fine-tuning on the update 91.7% [88.2%] (unchanged 74.5% [70.9%]) in about 13 s against about
0.1 s of re-indexing; continued pretraining
lowered SFT's validation loss after the same 120 steps (0.708 vs 0.870 [0.691 vs 0.857]); RAG alone
(the base model with its note) 0.0% task accuracy and judge score [the same]; best-of-4 judge score
0.433 against one sample's 0.271 [0.450 vs 0.308].
"""
import math

from course_utils.results import metric

R = "09_capstone"


def test_the_retriever_finds_the_right_fact():
    recall = {int(k): v for k, v in metric(R, "retrieval.recall").items()}
    ks = sorted(recall)
    assert recall[1] >= 0.85, f"recall@1 {recall[1]:.1%}"
    assert all(recall[a] <= recall[b] for a, b in zip(ks, ks[1:], strict=False)), recall
    assert recall[ks[-1]] >= 0.95, recall


def test_a_model_not_trained_to_read_ignores_changed_notes():
    up = metric(R, "update")
    assert up["SFT, not updated"]["changed"] <= 0.15, up["SFT, not updated"]
    assert up["SFT + new notes (never trained to read)"]["changed"] <= 0.15, up


def test_a_reader_trained_on_counterfactual_notes_follows_them_and_keeps_the_rest():
    up = metric(R, "update")
    reader, untrained = up["RAG + SFT, re-indexed"], up["SFT + new notes (never trained to read)"]
    assert reader["changed"] >= untrained["changed"] + 0.25, (reader, untrained)
    # clean-clone runs, unchanged facts / all questions with notes: 86.1% / -, 88.9%, 88.4% on one machine;
    # 79.6% / 81.2% on another (numerically different arithmetic, the same seed)
    assert reader["unchanged"] >= 0.75, reader
    assert metric(R, "rag.reader") >= 0.75


def test_rag_beats_the_fine_tuned_model_on_changed_facts():
    """Issue 14: the hybrid (retrieval + a reader fine-tuned on notes), re-indexed, against the fine-tuned
    model that was not retrained."""
    up = metric(R, "update")
    rag, ft = up["RAG + SFT, re-indexed"], up["SFT, not updated"]
    assert rag["changed"] >= ft["changed"] + 0.25, (rag, ft)


def test_the_fine_tuned_model_beats_rag_alone_on_behaviour():
    """The base model handed notes has the fact in front of it but was never taught to answer a question: it
    continues the text (seed 0: 0.0% task accuracy and judge score, though 88.8% of its replies pass the judges'
    shape-only format check). Behaviour, the fine-tuned model's, is answering: judge score 0.562."""
    stages = {s["stage"]: s for s in metric(R, "stages")}
    alone, sft = stages["RAG alone (base model + notes)"], stages["SFT (full fine-tuning)"]
    assert sft["judge_score"] >= alone["judge_score"] + 0.3, (sft, alone)
    assert sft["task_accuracy"] >= alone["task_accuracy"] + 0.5, (sft, alone)


def test_the_hybrid_is_as_accurate_as_either_on_unchanged_facts_up_to_the_noise():
    """At least as accurate as RAG alone and as the fine-tuned model on the facts that did not change,
    up to the evaluation's sampling noise: the 95% interval of (best other - hybrid) must reach 0.

    Met at the edge since 2026-12-07, when the reader's run moved a little (that day SFT began to
    compute its loss on the labelled positions only, sft.completion_loss: the same loss up to float
    rounding; the evaluation's batch size, also changed, was checked and moves nothing): seed 0 gives the hybrid
    87.0% against the SFT model's 92.6% on 216 questions, a gap of 5.6 points whose interval runs
    from -0.1 to 11.2. Before, it was a strict xfail: 86.1% vs 92.6% (interval 0.7 to 12.3) and seed 1
    86.1% vs 91.5%. A lower reader learning rate (3e-4 instead of 1e-3) left the unchanged facts at
    87.0% and cut the changed ones from 50% to 21%. Seeds 1 and 2 of this recipe (2026-12-07, lesson 09
    alone at each seed, the other lessons' records from seed 0): hybrid 89.2% vs SFT 91.5% and 87.7% vs
    87.7%. Why the hybrid trails (the notebook's split by retrieval, reader_by_retrieval): with the right
    note first the reader matches the SFT model at seeds 1 and 2 (91.4 vs 91.4%, 89.8 vs 87.4%) but not at
    seed 0 (87.8 vs 92.7%); with a wrong note (11-13 questions) it follows it (54-73% vs the SFT model's
    91-92%), which costs 0.9, 2.2 and 2.2 points at seeds 0, 1, 2 of gaps of 5.6, 2.3 and 0.0."""
    up = metric(R, "update")
    n = metric(R, "update.n_kept_questions")
    hybrid = up["RAG + SFT, re-indexed"]["unchanged"]
    others = {k: up[k]["unchanged"] for k in ("SFT, not updated", "base model + new notes (RAG alone)")}
    best = max(others.values())
    se = math.sqrt(best * (1 - best) / n + hybrid * (1 - hybrid) / n)
    assert (best - hybrid) - 1.96 * se <= 0, (hybrid, others, n)


def test_fine_tuning_learns_the_update_but_retrieval_updates_far_cheaper():
    up = metric(R, "update")
    ft, rag = up["SFT, fine-tuned on the update"], up["RAG + SFT, re-indexed"]
    assert ft["changed"] >= 0.7, ft
    assert ft["seconds"] >= 10 * rag["seconds"], \
        f"update cost: fine-tuning {ft['seconds']:.2f} s, RAG {rag['seconds']:.2f} s"


def test_continued_pretraining_gives_sft_a_head_start_without_destroying_general_text():
    cpt = metric(R, "cpt")
    assert cpt["sft_from_cpt"]["final_val_loss"] < cpt["sft_from_base"]["final_val_loss"], cpt
    assert cpt["cpt_general_perplexity"] <= 2 * cpt["base_general_perplexity"], cpt


def test_best_of_n_beats_one_sample():
    bon = metric(R, "best_of_n")
    assert bon["judge_score"] > bon["single_judge_score"], bon


def test_the_course_table_has_every_stage_on_the_same_questions():
    stages = {s["stage"]: s for s in metric(R, "stages")}
    want = {"base model", "SFT (full fine-tuning)", "SFT + rehearsal", "LoRA", "QLoRA", "PPO (from SFT)",
            "GRPO (from SFT)", "DPO (from SFT)", "RAG + SFT (trained to read)", "RAG alone (base model + notes)"}
    assert want <= set(stages), sorted(want - set(stages))
    assert any(s.startswith("continued pretraining + short SFT") for s in stages), sorted(stages)
    assert all(s["n"] >= 240 for s in stages.values()), {k: s["n"] for k, s in stages.items()}
    assert all(0 <= s["task_accuracy"] <= 1 for s in stages.values())


def test_every_trained_stage_states_its_cost():
    # trainable parameters as each lesson recorded them: LoRA and QLoRA train the adapters, PPO the policy
    # and its value model (more than full fine-tuning's one model), GRPO and DPO the whole policy
    stages = {s["stage"]: s for s in metric(R, "stages")}
    trained = ("SFT (full fine-tuning)", "LoRA", "QLoRA", "PPO (from SFT)", "GRPO (from SFT)", "DPO (from SFT)")
    params = {k: stages[k]["trainable_params"] for k in trained}
    assert all(p for p in params.values()), params
    full = params["SFT (full fine-tuning)"]
    assert params["LoRA"] == params["QLoRA"] < 0.1 * full, params
    assert params["GRPO (from SFT)"] == params["DPO (from SFT)"] == full, params
    assert params["PPO (from SFT)"] > full, params
    cpt = next(k for k in stages if k.startswith("continued pretraining + short SFT"))
    measured = trained + ("SFT + rehearsal", cpt, "RAG + SFT (trained to read)")
    missing = {k: (stages[k]["peak_memory_mb"], stages[k]["train_seconds"]) for k in measured
               if not (stages[k]["peak_memory_mb"] and stages[k]["train_seconds"])}
    assert not missing, f"stages without peak memory or training seconds: {missing}"
    mem = {k: stages[k]["peak_memory_mb"] for k in measured}
    # GRPO holds two models (policy and reference), PPO four (and trains two); LoRA keeps no state for
    # the frozen weights
    assert mem["GRPO (from SFT)"] < mem["PPO (from SFT)"], mem
    assert mem["QLoRA"] <= mem["LoRA"] < mem["SFT (full fine-tuning)"], mem
