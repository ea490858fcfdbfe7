"""Lesson 03's exercises (full fine-tuning): loss masking, the completion-only loss, one SFT step;
each check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from course_utils.exercises import Exercise, run_check


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
