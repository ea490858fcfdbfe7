"""Lesson 03's exercises (full fine-tuning): loss masking, the completion-only loss, one SFT step;
each check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from course_utils.exercises import Exercise, ask, run_check, too_few_runs


def _tiny_model():
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    return LlamaForCausalLM(cfg)


def check_mask_prompt(mask_prompt: Callable) -> bool:
    """Easy: ``mask_prompt(prompt_ids, completion_ids) -> (input_ids, labels)`` with -100 on the prompt."""
    def check():
        for p, c in [([5, 6, 7], [8, 9]), ([1], [2, 3, 4, 5]), ([10, 11], [12])]:
            ids, labels = mask_prompt(list(p), list(c))
            if list(ids) != p + c:
                return False, f"input_ids for prompt {p} + completion {c} should be {p + c}, got {list(ids)}"
            want = [-100] * len(p) + c
            if list(labels) != want:
                return False, f"labels should be {want} (prompt masked with -100), got {list(labels)}"
        return True, "the prompt is masked: only the answer is graded"
    return run_check("mask the prompt", check)


def mask_prompt(prompt_ids: list[int], completion_ids: list[int]) -> tuple[list[int], list[int]]:
    """Solution: the model reads prompt + completion, but only the completion is graded."""
    return prompt_ids + completion_ids, [-100] * len(prompt_ids) + completion_ids


def check_completion_loss(completion_loss: Callable) -> bool:
    """Medium: ``completion_loss(logits, labels)``: next-token cross-entropy ignoring -100 labels."""
    def check():
        torch.manual_seed(1)
        logits = torch.randn(2, 6, 11)
        labels = torch.randint(0, 11, (2, 6))
        labels[:, :3] = -100
        want = F.cross_entropy(logits[:, :-1].reshape(-1, 11), labels[:, 1:].reshape(-1), ignore_index=-100)
        got = completion_loss(logits, labels)
        got = float(got)
        if abs(got - float(want)) < 1e-5:
            return True, f"loss {got:.4f} matches (shifted by one, prompt ignored)"
        unshifted = F.cross_entropy(logits.reshape(-1, 11), labels.reshape(-1), ignore_index=-100)
        if abs(got - float(unshifted)) < 1e-5:
            return False, "position t predicts token t+1: shift logits[:, :-1] against labels[:, 1:]"
        return False, f"expected {float(want):.4f}, got {got:.4f}; ignore positions whose label is -100"
    return run_check("completion-only loss", check)


def completion_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Solution: position t predicts token t+1; -100 labels (the prompt, padding) are ignored."""
    vocab = logits.size(-1)
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), labels[:, 1:].reshape(-1), ignore_index=-100)


def _unshifted_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100)


def _reference_step(model, optimizer, batch) -> float:
    out = model(**batch)
    out.loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return out.loss.item()


def check_sft_step(sft_step: Callable) -> bool:
    """Hard: ``sft_step(model, optimizer, batch) -> float`` does one training step (forward with the
    masked labels, backward, optimizer step, zero the gradients) and returns the loss."""
    def check():
        torch.manual_seed(2)
        ids = torch.randint(0, 50, (4, 12))
        labels = ids.clone()
        labels[:, :6] = -100
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
        ours, ref = _tiny_model(), _tiny_model()
        opt_o = torch.optim.AdamW(ours.parameters(), lr=1e-2)
        opt_r = torch.optim.AdamW(ref.parameters(), lr=1e-2)
        losses = []
        for _ in range(3):
            got = sft_step(ours, opt_o, {k: v.clone() for k, v in batch.items()})
            want = _reference_step(ref, opt_r, batch)
            if not isinstance(got, (float, int)) and not torch.is_tensor(got):
                return False, f"return the loss as a number, got {type(got).__name__}"
            if abs(float(got) - want) > 1e-4:
                return False, (f"loss {float(got):.4f} differs from the reference {want:.4f}: "
                               "did you zero the gradients?")
            losses.append(want)
        if any(p.grad is not None and p.grad.abs().sum() > 0 for p in ours.parameters()):
            return False, "gradients are left over after the step: call optimizer.zero_grad()"
        diff = max((a - b).abs().max().item() for a, b in zip(ours.parameters(), ref.parameters(), strict=True))
        if diff > 1e-4:
            return False, f"weights differ from the reference by {diff:.2e} after 3 steps"
        return True, f"3 steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}, same weights as the reference"
    return run_check("one SFT step", check)


def sft_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: dict) -> float:
    """Solution: one step of supervised fine-tuning in plain PyTorch."""
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def _no_zero_grad(model: nn.Module, optimizer: torch.optim.Optimizer, batch: dict) -> float:
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    return loss.item()


def _no_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: dict) -> float:
    return model(**batch).loss.item()


EXERCISES: tuple[Exercise, ...] = (
    Exercise("03", "mask_prompt", check_mask_prompt, mask_prompt, wrong=(lambda p, c: (p + c, p + c),)),
    Exercise("03", "completion_loss", check_completion_loss, completion_loss, wrong=(_unshifted_loss,)),
    Exercise("03", "sft_step", check_sft_step, sft_step, wrong=(_no_zero_grad, _no_step)),
)


# --------------------------------------------------------------------------- questions (issue 16)
REHEARSAL = {"A": "about as high as without rehearsal: 150 texts among 3,360 task rows are too few to matter",
             "B": "much closer to the base model's than without rehearsal",
             "C": "higher than without rehearsal: the extra texts distract the model"}


def check_predict_rehearsal(prediction: str | None, base_ppl: float, full_ppl: float, rehearsal_ppl: float) -> bool:
    """Predict, then run: general-text perplexity after rehearsal, against full fine-tuning's."""
    rise = full_ppl - base_ppl
    taken_back = (full_ppl - rehearsal_ppl) / rise if rise > 0 else 0.0
    correct = "C" if rehearsal_ppl > full_ppl else "B" if taken_back >= 0.5 else "A"
    why = (f"general-text perplexity went from {base_ppl:.2f} (base model) to {full_ppl:.2f} after fine-tuning and "
           f"to {rehearsal_ppl:.2f} with rehearsal, which took back {taken_back:.0%} of the rise. Forgetting is "
           "the direction of the updates: every batch of task rows pulls the weights toward the task, and a "
           "batch that also holds general text pulls part of the way back. A few percent of old data is the "
           "memory replay of continual learning; the cost is the task accuracy you measured beside it.")
    return ask("predict_rehearsal", prediction, REHEARSAL, correct, why)


OVERFITTING = {"A": "train for more epochs: the training loss is still falling",
               "B": "keep the step with the lowest validation loss, and get more (or more varied) data",
               "C": "raise the learning rate so the model learns faster"}


def check_decide_overfitting(answer: str | None) -> bool:
    """Decide: the validation loss has stopped falling while the training loss races to zero."""
    why = ("a training loss far below the validation loss means the model is memorising its few rows. More "
           "epochs widen that gap, and a higher learning rate gets there sooner and forgets more general text "
           "besides. Keep the checkpoint with the lowest validation loss (early stopping; Trainer's "
           "load_best_model_at_end does it) and give the model more, or more varied, examples; weight decay "
           "helps only at the margin, as the runs above showed.")
    return ask("decide_overfitting", answer, OVERFITTING, "B", why,
               hints={"A": "The training loss falling is the symptom, not the goal.",
                      "C": "A larger step size memorises faster; it does not generalise better."})


STEPS = {"A": "the longer run", "B": "the shorter run", "C": "about the same (within 10%)"}


def check_experiment_steps(answer: str | None, runs: dict[int, float]) -> bool:
    """Experiment: ``runs`` maps the steps of each of your runs to its general-text perplexity."""
    verdict = too_few_runs("experiment_steps", answer, runs, STEPS, "my_steps")
    if verdict is not None:
        return verdict
    (short, p_short), (long, p_long) = min(runs.items()), max(runs.items())
    correct = "C" if abs(p_long - p_short) <= 0.1 * p_short else "A" if p_long > p_short else "B"
    why = (f"{short} steps left a general-text perplexity of {p_short:.2f}, {long} steps {p_long:.2f}. Each step "
           "moves the weights further toward the task, so forgetting grows with the number of steps as well as "
           "with the learning rate: the full recipe (500 steps) forgot more than any short run. That is why "
           "fine-tuning recipes for real models use few epochs (1-3) and small rates.")
    return ask("experiment_steps", answer, STEPS, correct, why)


EXERCISES += (
    Exercise("03", "predict_rehearsal", check_predict_rehearsal, "B", wrong=("A", "C"), kind="predict",
             measured=(2.10, 19.6, 2.54)),
    Exercise("03", "decide_overfitting", check_decide_overfitting, "B", wrong=("A", "C"), kind="decide",
             feedback=(("A", "symptom"),)),
    Exercise("03", "experiment_steps", check_experiment_steps, "A", wrong=("B", "C"), kind="experiment",
             measured=({40: 8.0, 160: 18.5},)),
)
