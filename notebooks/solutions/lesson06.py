"""Solutions to the exercises of 06_reward_modeling.ipynb."""
import math
from collections import defaultdict

import torch
import torch.nn.functional as F


def preference_probability(r_a: float, r_b: float) -> float:
    return 1 / (1 + math.exp(-(r_a - r_b)))


def bt_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def accuracy_by_defect(r_chosen, r_rejected, defects) -> dict:
    wins = defaultdict(list)
    for c, r, d in zip(r_chosen, r_rejected, defects):
        wins[d].append(c > r)
    return {d: sum(w) / len(w) for d, w in wins.items()}
