"""Solutions to lesson 02's exercises (transfer learning)."""
from __future__ import annotations

import torch


def freeze_body(model) -> int:
    """Easy: freeze the pretrained body; return how many parameters stay trainable."""
    model.body.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Medium: the average of the real tokens' vectors (padding has mask 0)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1)


def param_groups(model, body_lr: float, head_lr: float) -> list[dict]:
    """Hard: a slow group for the trainable body, a fast one for the new head."""
    head = [p for p in model.head.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": head, "lr": head_lr}]
    if body:
        groups.append({"params": body, "lr": body_lr})
    return groups
