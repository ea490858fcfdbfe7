"""Direct Preference Optimization: the loss from scratch, implicit rewards, preference accuracy,
and training with trl's ``DPOTrainer``.

The RLHF objective max E[r] - beta KL(pi || ref) has the closed-form optimum
pi*(y|x) = ref(y|x) exp(r(x, y) / beta) / Z(x). Solving for r gives the *implicit reward*
r(x, y) = beta log(pi(y|x) / ref(y|x)) + beta log Z(x); in the Bradley-Terry loss the Z(x)
cancels between the chosen and the rejected answer, leaving
``-log sigmoid(beta [log pi/ref (chosen) - log pi/ref (rejected)])`` (Rafailov et al., 2023).
"""
from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from course_utils import chat, devices, generation, judges, memory
from course_utils.rlhf.common import completion_logps, quiet, trainer_args


def dpo_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
             ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
             beta: float = 0.1) -> dict[str, torch.Tensor]:
    """The sigmoid DPO loss from sequence log-likelihoods (one value per pair in each tensor).

    Returns the mean ``loss``, the per-pair ``losses``, the implicit rewards
    ``chosen_rewards`` / ``rejected_rewards`` = beta * log(pi / ref), their ``margins``, and
    ``accuracy`` (how often the chosen answer has the higher implicit reward)."""
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    logps = (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps)
    shapes = {tuple(t.shape) for t in logps}
    if len(shapes) != 1:
        raise ValueError(f"the four log-likelihood tensors must have one shape, got {sorted(shapes)}")
    chosen_rewards = beta * (policy_chosen_logps - ref_chosen_logps)
    rejected_rewards = beta * (policy_rejected_logps - ref_rejected_logps)
    margins = chosen_rewards - rejected_rewards
    losses = -F.logsigmoid(margins)
    return {"loss": losses.mean(), "losses": losses, "chosen_rewards": chosen_rewards.detach(),
            "rejected_rewards": rejected_rewards.detach(), "margins": margins.detach(),
            "accuracy": (margins > 0).float().mean().detach()}


def pair_logps(model, tokenizer, rows: Sequence[dict[str, Any]],
               batch_size: int = 16, grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(chosen | prompt) and log p(rejected | prompt) for every preference pair (no gradient
    unless ``grad=True``)."""
    prompts = [r["prompt"] for r in rows]
    return (completion_logps(model, tokenizer, prompts, [r["chosen"] for r in rows], batch_size, grad),
            completion_logps(model, tokenizer, prompts, [r["rejected"] for r in rows], batch_size, grad))


def step_memory(policy, ref, tokenizer, rows: Sequence[dict[str, Any]], beta: float = 0.1) -> dict[str, float]:
    """One DPO step's memory on ``rows`` (a batch of pairs), part by part
    (:func:`course_utils.memory.measure_step_memory`): the policy's and the frozen reference's
    weights, the policy's gradients and AdamW state, and the activations of the chosen and
    rejected answers. Two models, not PPO's four: DPO needs no reward or value model."""
    def loss_fn() -> torch.Tensor:
        return dpo_loss(*pair_logps(policy, tokenizer, rows, len(rows), grad=True),
                        *pair_logps(ref, tokenizer, rows, len(rows)), beta=beta)["loss"]
    return memory.measure_step_memory([policy, ref], loss_fn)


def preference_eval(policy, ref, tokenizer, rows: Sequence[dict[str, Any]], beta: float = 0.1) -> dict[str, Any]:
    """Held-out preference accuracy by implicit reward (a tie counts half, so the reference
    itself scores exactly 0.5), overall and per defect kind, with the mean reward margin and the
    DPO loss. ``logp_accuracy``: how often the policy's own log-likelihood ranks chosen first."""
    if not rows:
        raise ValueError("preference_eval needs at least one preference pair")
    pc, pr = pair_logps(policy, tokenizer, rows)
    rc, rr = pair_logps(ref, tokenizer, rows)
    out = dpo_loss(pc, pr, rc, rr, beta)
    right = (out["margins"] > 0).float() + 0.5 * (out["margins"] == 0).float()
    per_defect = {}
    for d in sorted({r.get("defect", "all") for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.get("defect", "all") == d]
        per_defect[d] = float(right[idx].mean())
    return {"accuracy": float(right.mean()), "per_defect": per_defect, "margin": float(out["margins"].mean()),
            "chosen_reward": float(out["chosen_rewards"].mean()),
            "rejected_reward": float(out["rejected_rewards"].mean()),
            "loss": float(out["loss"]), "logp_accuracy": float((pc > pr).float().mean()), "n": len(rows)}


def failed_check(verdict: dict[str, Any]) -> str | None:
    """The first check a judged answer fails (``"correct"``, ``"safe"``, ``"on_format"``), or None."""
    return next((k for k in ("correct", "safe", "on_format") if not verdict[k]), None)


def on_policy_pairs(model, tokenizer, rows: Sequence[dict[str, Any]], k: int = 4, *, max_new_tokens: int = 24,
                    seed: int = 0, batch_size: int = 64) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Preference pairs made from the model's own answers: ``k`` sampled answers per question
    (temperature 1), ranked by the judges (the course's stand-in for human labellers), one pair
    per question that has a failing answer: a passing sample as ``chosen`` (the gold answer when
    none passes, as a labeller would write it), the first failing one as ``rejected``.

    Returns ``(pairs, stats)``; pairs are chat-formatted like ``data.load("preferences")``, with
    ``defect`` = the check the rejected answer fails; stats count samples, passes and pairs."""
    if k < 2:
        raise ValueError(f"k must be at least 2 answers per question to compare, got {k}")
    rows = list(rows)
    if not rows:
        raise ValueError("on_policy_pairs needs at least one question row (e.g. data.load_rows('rl_prompts', 'train'))")
    prompts = [chat.format_prompt(judges.question_of(r)) for r in rows]
    samples = generation.sample_answers(model, tokenizer, prompts, k, seed=seed, max_new_tokens=max_new_tokens,
                                        batch_size=batch_size)
    pairs, n_pass, n_some_pass = [], 0, 0
    for i, row in enumerate(rows):
        answers = [s[i] for s in samples]
        verdicts = [judges.judge(row, a) for a in answers]
        good = [a for a, v in zip(answers, verdicts, strict=True) if v["score"] == 1.0]
        bad = [(a, v) for a, v in zip(answers, verdicts, strict=True) if v["score"] < 1.0]
        n_pass += len(good)
        n_some_pass += bool(good)
        if bad:
            chosen = good[0] if good else row.get("answer") or row["gold"]
            pairs.append({"prompt": prompts[i], "chosen": chat.format_completion(chosen),
                          "rejected": chat.format_completion(bad[0][0]), "defect": failed_check(bad[0][1]),
                          "chosen_is_sample": bool(good)})
    stats = {"questions": len(rows), "samples": k * len(rows), "sample_pass_rate": n_pass / (k * len(rows)),
             "questions_with_a_pass": n_some_pass, "pairs": len(pairs),
             "chosen_from_samples": sum(p["chosen_is_sample"] for p in pairs)}
    return pairs, stats


def dpo_config(output_dir: str, *, steps: int, batch_size: int, learning_rate: float, beta: float,
               max_length: int = 256, seed: int = 0, logging_steps: int = 10):
    """trl's ``DPOConfig`` with the course's defaults (sigmoid loss, CPU-friendly, nothing saved)."""
    return DPOConfig(output_dir=output_dir, max_steps=steps, per_device_train_batch_size=batch_size,
                     learning_rate=learning_rate, beta=beta, max_length=max_length, loss_type=["sigmoid"],
                     lr_scheduler_type="linear", warmup_steps=max(1, steps // 10), logging_steps=logging_steps,
                     seed=seed, **trainer_args())


def train_dpo(model, ref_model, tokenizer, train_dataset, *, steps: int, batch_size: int, learning_rate: float,
              beta: float, max_length: int = 256, seed: int = 0, logging_steps: int = 10):
    """Train ``model`` (in place) with ``DPOTrainer`` against the frozen ``ref_model``;
    returns ``(model, trainer)``."""
    missing = {"prompt", "chosen", "rejected"} - set(train_dataset.column_names)
    if missing:
        raise ValueError(f"the preference data set lacks column(s) {sorted(missing)}; "
                         f"use course_utils.data.load('preferences', 'train')")
    torch.manual_seed(seed)
    for p in model.parameters():  # full fine-tuning; a copy of a model once used as a frozen reference has none
        p.requires_grad_(True)
    devices.for_training(model)  # trained weights are fp32; the trainer's autocast gives the speed
    args = dpo_config(tempfile.mkdtemp(prefix="course-dpo-"), steps=steps, batch_size=batch_size,
                      learning_rate=learning_rate, beta=beta, max_length=max_length, seed=seed,
                      logging_steps=logging_steps)
    keep = train_dataset.select_columns(["prompt", "chosen", "rejected"])
    trainer = quiet(DPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=keep,
                               processing_class=tokenizer))
    trainer.train()
    model.eval()
    return model, trainer


def dpo_vs_trl(policy, ref, tokenizer, rows: Sequence[dict[str, Any]], beta: float = 0.1) -> dict[str, float]:
    """The from-scratch DPO loss (our tokenization, our log-likelihoods) next to
    ``DPOTrainer.compute_loss`` on the same pairs."""
    ds = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    args = dpo_config(tempfile.mkdtemp(prefix="course-dpo-check-"), steps=1, batch_size=len(rows),
                      learning_rate=0.0, beta=beta)
    trainer = DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=ds, processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    policy.eval()
    with torch.no_grad():
        trl_loss = float(trainer.compute_loss(policy, dict(batch)))
    pc, pr = pair_logps(policy, tokenizer, rows)
    rc, rr = pair_logps(ref, tokenizer, rows)
    ours = float(dpo_loss(pc, pr, rc, rr, beta)["loss"])
    return {"trl_loss": trl_loss, "scratch_loss": ours, "abs_diff": abs(trl_loss - ours)}
