"""Checks for lesson 02's exercises (transfer learning). Each prints feedback and returns a bool."""
from __future__ import annotations

from typing import Callable

import torch

from course_utils.exercises import run_check


def check_freeze_body(freeze_body: Callable) -> bool:
    """Easy: ``freeze_body(model)`` stops gradients in ``model.body`` and returns the number of
    parameters left trainable (the head's)."""
    def check():
        from course_utils import vision

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


def check_mean_pool(mean_pool: Callable) -> bool:
    """Medium: ``mean_pool(hidden, mask)`` averages token vectors over real (mask == 1) tokens."""
    def check():
        from course_utils import encoders

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


def check_param_groups(param_groups: Callable) -> bool:
    """Hard: ``param_groups(model, body_lr, head_lr)`` returns optimiser groups: the trainable
    body parameters at ``body_lr``, the head's at ``head_lr``, each parameter exactly once."""
    def check():
        from course_utils import vision

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
                extra = "frozen parameters were included" if set(seen) - want else "some trainable parameters are missing"
                return False, extra
            torch.optim.AdamW(groups)  # must be a valid optimiser spec
        return True, "the pretrained body moves slowly, the new head quickly, frozen weights are left out"
    return run_check("parameter groups", check)
