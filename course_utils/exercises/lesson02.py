"""Lesson 02's exercises (transfer learning): freeze the body, mean pooling, parameter groups; each
check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from course_utils import encoders, vision
from course_utils.exercises import Exercise, run_check


def check_freeze_body(freeze_body: Callable) -> bool:
    """Easy: ``freeze_body(model)`` stops gradients in ``model.body`` and returns the number of
    parameters left trainable (the head's)."""
    def check():
        model = vision.SmallCNN(5)
        n = freeze_body(model)
        head = sum(p.numel() for p in model.head.parameters())
        if any(p.requires_grad for p in model.body.parameters()):
            return False, "some body parameters still have requires_grad=True"
        if not all(p.requires_grad for p in model.head.parameters()):
            return False, "the head must stay trainable: only freeze model.body"
        if n != head:
            return False, f"you returned {n}, but {head} parameters are trainable (the head's)"
        return True, f"{head} trainable parameters out of {sum(p.numel() for p in model.parameters())}"
    return run_check("freeze the body", check)


def freeze_body(model: nn.Module) -> int:
    """Solution: freeze the pretrained body; return how many parameters stay trainable."""
    model.body.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def check_mean_pool(mean_pool: Callable) -> bool:
    """Medium: ``mean_pool(hidden, mask)`` averages token vectors over real (mask == 1) tokens."""
    def check():
        gen = torch.Generator().manual_seed(0)
        hidden = torch.randn(3, 5, 4, generator=gen)
        mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
        got = mean_pool(hidden, mask)
        want = encoders.mean_pool(hidden, mask)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            return False, f"expected a tensor of shape {tuple(want.shape)}, got {getattr(got, 'shape', type(got))}"
        if torch.allclose(got, hidden.mean(1), atol=1e-5):
            return False, "that is the plain mean over all positions: padding must not count"
        if not torch.allclose(got, want, atol=1e-5):
            return False, "values differ from the masked mean: sum(hidden * mask) / sum(mask) per sentence"
        return True, "padding ignored, one vector per sentence"
    return run_check("mean pooling", check)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Solution: the average of the real tokens' vectors (padding has mask 0)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1)


def check_param_groups(param_groups: Callable) -> bool:
    """Hard: ``param_groups(model, body_lr, head_lr)`` returns optimiser groups: the trainable
    body parameters at ``body_lr``, the head's at ``head_lr``, each parameter exactly once."""
    def check():
        for frozen in (False, True):
            model = vision.SmallCNN(5)
            if frozen:
                model.body.requires_grad_(False)
            groups = param_groups(model, 1e-4, 1e-2)
            seen: list[int] = []
            for g in groups:
                ids = [id(p) for p in g["params"]]
                seen += ids
                head_ids = {id(p) for p in model.head.parameters()}
                if ids and set(ids) <= head_ids and g.get("lr") != 1e-2:
                    return False, "the head's group must use head_lr"
                if ids and not set(ids) & head_ids and g.get("lr") != 1e-4:
                    return False, "the body's group must use body_lr"
                if set(ids) & head_ids and not set(ids) <= head_ids:
                    return False, "keep head and body parameters in separate groups"
            if len(seen) != len(set(seen)):
                return False, "a parameter appears in two groups"
            want = {id(p) for p in model.parameters() if p.requires_grad}
            if set(seen) != want:
                if set(seen) - want:
                    return False, "frozen parameters were included"
                return False, "some trainable parameters are missing"
            torch.optim.AdamW(groups)  # must be a valid optimiser spec
        return True, "the pretrained body moves slowly, the new head quickly, frozen weights are left out"
    return run_check("parameter groups", check)


def param_groups(model: nn.Module, body_lr: float, head_lr: float) -> list[dict]:
    """Solution: a slow group for the trainable body, a fast one for the new head."""
    head = [p for p in model.head.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": head, "lr": head_lr}]
    if body:
        groups.append({"params": body, "lr": body_lr})
    return groups


def _freeze_everything(model: nn.Module) -> int:
    model.requires_grad_(False)
    return 0


EXERCISES: tuple[Exercise, ...] = (
    Exercise("02", "freeze_body", check_freeze_body, freeze_body, wrong=(_freeze_everything,)),
    Exercise("02", "mean_pool", check_mean_pool, mean_pool, wrong=(lambda hidden, mask: hidden.mean(1),)),
    Exercise("02", "param_groups", check_param_groups, param_groups,
             wrong=(lambda model, body_lr, head_lr: [{"params": list(model.parameters()), "lr": head_lr}],
                    lambda model, body_lr, head_lr: param_groups(model, head_lr, body_lr))),  # swapped rates
)
