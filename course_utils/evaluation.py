"""One evaluation for every model of the course: base, SFT, LoRA, QLoRA, PPO, GRPO, DPO.

:func:`evaluate` answers held-out questions greedily (:func:`course_utils.generation.answer`)
and grades them with the rule-based judges (:mod:`course_utils.judges`): task accuracy, safe,
on format, judge score. On request it adds what a lesson measures beside them:

* ``perplexity_blocks``: general-text perplexity (forgetting, lessons 03-05);
* ``reward_model``: the reward model's mean score of the same answers (lessons 06-08);
* ``ref`` (with a reward model): reward and KL(policy || ref) on *sampled* answers, the two
  axes of the reward-vs-KL frontier (lessons 07, 08).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from course_utils import chat, data, generation, judges, sft
from course_utils.rlhf import ppo, reward
from course_utils.rlhf.common import forward_response


def interval(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson 95% interval of a rate measured as a share of ``n`` yes/no verdicts (a judge
    score, an accuracy): two runs' scores differ only where their intervals say so."""
    if n < 1:
        raise ValueError(f"n must be a positive number of verdicts, got {n}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be a share in [0, 1], got {rate}")
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def summary_line(name: str, ev: dict[str, Any]) -> str:
    """One printable line of an :func:`evaluate` result: the judge score with its 95% interval,
    the three checks, and the reward-model score and KL when they were measured."""
    lo, hi = interval(ev["judge_score"], ev["n"])
    line = (f"{name:11s} judge score {ev['judge_score']:.3f} (95% interval {lo:.3f}-{hi:.3f}), task accuracy "
            f"{ev['task_accuracy']:.1%}, safe {ev['safe_rate']:.1%}, on format {ev['format_rate']:.1%} (n = {ev['n']})")
    if "rm_score" in ev:
        line += f", reward model {ev['rm_score']:+.3f}"
    if "kl" in ev:
        line += f", KL {ev['kl']:.2f}"
    if "sampled" in ev:
        s = ev["sampled"]
        lo, hi = interval(s["judge_score"], s["n"])
        line += (f"\n{'':11s} sampled at temperature 1: judge score {s['judge_score']:.3f} (95% interval "
                 f"{lo:.3f}-{hi:.3f}), task accuracy {s['task_accuracy']:.1%}")
    return line


def change_verdict(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Whether the judge score moved beyond the noise between two :func:`evaluate` results: a
    change counts only where the two 95% intervals do not overlap."""
    lo_b, hi_b = interval(before["judge_score"], before["n"])
    lo_a, hi_a = interval(after["judge_score"], after["n"])
    if lo_a > hi_b:
        return "a real improvement (the 95% intervals do not overlap)"
    if hi_a < lo_b:
        return "a real loss (the 95% intervals do not overlap)"
    return "within the noise (the 95% intervals overlap)"


def prompts_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Chat-formatted prompts of data rows (loaded with or without the chat format)."""
    return [chat.format_prompt(judges.question_of(r)) for r in rows]


def evaluate(model, tokenizer, rows: Sequence[dict[str, Any]] | None = None, *, split: str = "test",
             n: int | None = None, batch_size: int = 64, max_new_tokens: int = 24, n_samples: int = 5,
             perplexity_blocks: int | None = None, reward_model=None, ref=None) -> dict[str, Any]:
    """Grade ``model``'s greedy answers to ``rows`` (default: the instruction data's ``split``;
    ``n`` keeps the first ``n``: the files are shuffled, so a prefix mixes crops and relations).

    Returns :func:`course_utils.judges.evaluate_answers`' metrics (``task_accuracy``,
    ``safe_rate``, ``format_rate``, ``judge_score``, ``n``, ``by_relation``, ``samples``) and
    ``answers``; plus ``general_perplexity``, ``rm_score``, ``sample_reward`` and ``kl`` when asked.
    With ``ref``, the sampled answers (temperature 1, one per row) are judged too: ``sampled`` holds
    their ``judge_score``, ``task_accuracy``, ``safe_rate``, ``format_rate`` and ``n``; greedy
    decoding shows a model's habit, sampling the whole spread of what it may say."""
    if rows is None:
        rows = data.load_rows("instructions", split, chat_format=False)
    rows = list(rows)
    if n is not None:
        if n < 1:
            raise ValueError(f"n must be a positive number of questions, got {n}")
        rows = rows[:n]
    if ref is not None and reward_model is None:
        raise ValueError("the reward-vs-KL point needs a reward model: pass reward_model= with ref=")
    answers = generation.answer_questions(model, tokenizer, [judges.question_of(r) for r in rows],
                                          batch_size=batch_size, max_new_tokens=max_new_tokens)
    ev = judges.evaluate_answers(rows, answers, n_samples=n_samples)
    ev["answers"] = answers
    if perplexity_blocks:
        ev["general_perplexity"] = sft.general_perplexity(model, tokenizer, perplexity_blocks)
    if reward_model is not None:
        ev["rm_score"] = float(reward.score(reward_model, tokenizer, prompts_of(rows), answers).mean())
    if ref is not None:
        drawn = sampled_reward_and_kl(model, ref, tokenizer, reward_model, prompts_of(rows), max_new_tokens)
        sampled = judges.evaluate_answers(rows, drawn.pop("sample_answers"), n_samples=0)
        ev["sampled"] = {k: sampled[k] for k in ("judge_score", "task_accuracy", "safe_rate", "format_rate", "n")}
        ev.update(drawn)
    return ev


@torch.no_grad()
def sampled_reward_and_kl(policy, ref, tokenizer, rm, prompts: Sequence[str], max_new_tokens: int = 20,
                          batch_size: int = 32, seed: int = 0) -> dict[str, float]:
    """Sample one answer per prompt (temperature 1), and return the reward model's mean score,
    the mean KL(policy || ref) per answer (sum over tokens of log pi - log ref) and the answers'
    text (``sample_answers``, for the judges)."""
    was_training = policy.training
    policy.eval()
    torch.manual_seed(seed)
    scores, kls, texts = [], [], []
    end_ids = set(generation.end_token_ids(tokenizer))
    for i in range(0, len(prompts), batch_size):
        p_ids = [tokenizer(p)["input_ids"] for p in prompts[i:i + batch_size]]
        qr, attn, ctx = generation.sample(policy, tokenizer, p_ids, max_new_tokens)
        lp, _ = forward_response(policy, qr, attn, ctx)
        ref_lp, _ = forward_response(ref, qr, attn, ctx)
        m = attn[:, ctx:].float()
        kls.append(((lp - ref_lp) * m).sum(-1).cpu())
        responses = [r[mm.bool()].tolist() for r, mm in zip(qr[:, ctx:].cpu(), attn[:, ctx:].cpu(), strict=True)]
        scores.append(ppo.reward_model_fn(rm, tokenizer.pad_token_id)(p_ids, responses))
        texts += [chat.strip_completion(tokenizer.decode([t for t in r if t not in end_ids], skip_special_tokens=True))
                  for r in responses]
    policy.train(was_training)
    return {"sample_reward": float(torch.cat(scores).mean()), "kl": float(torch.cat(kls).mean()),
            "sample_answers": texts}
