"""One evaluation for every aligned policy (SFT, PPO, GRPO, DPO): the reward model's score and
the judges' verdicts on greedy answers, and reward vs KL to the reference on sampled answers
(the axes of the reward-vs-KL frontier of lessons 07 and 08)."""
from __future__ import annotations

import time
from typing import Any, Sequence

import torch

from course_utils import chat, judges
from course_utils.rlhf import ppo, reward
from course_utils.rlhf.common import forward_response, fresh_copy, sample


def prompts_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Chat-formatted prompts of data rows (loaded with or without the chat format)."""
    return [chat.format_prompt(judges.question_of(r)) for r in rows]


@torch.no_grad()
def sampled_reward_and_kl(policy, ref, tokenizer, rm, prompts: Sequence[str], max_new_tokens: int = 20,
                          batch_size: int = 32, seed: int = 0) -> dict[str, float]:
    """Sample one answer per prompt (temperature 1), and return the reward model's mean score
    and the mean KL(policy || ref) per answer (sum over tokens of log pi - log ref)."""
    was_training = policy.training
    policy.eval()
    torch.manual_seed(seed)
    scores, kls = [], []
    for i in range(0, len(prompts), batch_size):
        p_ids = [tokenizer(p)["input_ids"] for p in prompts[i:i + batch_size]]
        qr, attn, ctx = sample(policy, tokenizer, p_ids, max_new_tokens)
        lp, _ = forward_response(policy, qr, attn, ctx)
        ref_lp, _ = forward_response(ref, qr, attn, ctx)
        m = attn[:, ctx:].float()
        kls.append(((lp - ref_lp) * m).sum(-1).cpu())
        responses = [r[mm.bool()].tolist() for r, mm in zip(qr[:, ctx:].cpu(), attn[:, ctx:].cpu())]
        scores.append(ppo.reward_model_fn(rm, tokenizer.pad_token_id)(p_ids, responses))
    policy.train(was_training)
    return {"sample_reward": float(torch.cat(scores).mean()), "kl": float(torch.cat(kls).mean())}


def evaluate_policy(policy, tokenizer, rm, rows: Sequence[dict[str, Any]], ref=None, max_new_tokens: int = 20,
                    n_samples: int = 3) -> dict[str, Any]:
    """Greedy answers to ``rows``: the reward model's mean score (``rm_score``) and the judges'
    metrics (``judge_score``, ``task_accuracy``, ...). With ``ref``, also the sampled reward and
    KL to the reference (``sample_reward``, ``kl``)."""
    rows = list(rows)
    answers = judges.generate_answers(policy, tokenizer, [judges.question_of(r) for r in rows],
                                      max_new_tokens=max_new_tokens)
    ev = judges.evaluate_answers(rows, answers, n_samples=n_samples)
    ev["rm_score"] = float(reward.score(rm, tokenizer, prompts_of(rows), answers).mean())
    ev["answers"] = answers
    if ref is not None:
        ev.update(sampled_reward_and_kl(policy, ref, tokenizer, rm, prompts_of(rows), max_new_tokens))
    return ev


def run_ppo(start, tokenizer, rm, prompts: Sequence[str], config: ppo.PPOConfig, log_every: int = 0):
    """Train a copy of ``start`` with the course's PPO against ``rm`` (value model: a copy of the
    reward model; reference: ``start`` itself, frozen). Returns ``(policy, trainer, seconds)``."""
    torch.manual_seed(config.seed)
    policy = fresh_copy(start)
    trainer = ppo.PPOTrainer(policy, start, ppo.value_model_from(rm), ppo.reward_model_fn(rm, tokenizer.pad_token_id),
                             tokenizer, prompts, config)
    t0 = time.time()
    trainer.train(log_every=log_every)
    return policy, trainer, time.time() - t0
