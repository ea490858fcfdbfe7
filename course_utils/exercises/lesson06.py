"""Lesson 06's exercises (reward modeling): the Bradley-Terry probability and loss, accuracy per defect;
each check with its solution and wrong answers."""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils.exercises import Exercise, close, run_check
from course_utils.rlhf import reward


def check_preference_probability(fn: Callable[[float, float], float]) -> bool:
    """Easy: ``fn(r_a, r_b)`` is the Bradley-Terry probability that answer A is preferred to B."""
    cases = [(2.0, 0.0), (0.0, 2.0), (1.5, 1.5), (-3.0, 1.0)]

    def check():
        for a, b in cases:
            got, want = float(fn(a, b)), 1 / (1 + math.exp(-(a - b)))
            if close(got, 1 - want, 1e-4) and a != b:
                return False, f"for r_a={a}, r_b={b} you give P(B preferred): swap the difference"
            if not close(got, want, 1e-4):
                return False, f"for r_a={a}, r_b={b} expected {want:.4f}, got {got:.4f} (hint: sigmoid of a difference)"
        return True, "only the difference of rewards matters: adding a constant to both changes nothing"
    return run_check("Bradley-Terry preference probability", check)


def preference_probability(r_a: float, r_b: float) -> float:
    """Solution: the sigmoid of the reward difference."""
    return 1 / (1 + math.exp(-(r_a - r_b)))


def check_bt_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Medium: ``fn(r_chosen, r_rejected)`` is the mean Bradley-Terry loss (a scalar tensor)."""
    def check():
        g = torch.Generator().manual_seed(6)
        rc, rr = torch.randn(64, generator=g) * 3, torch.randn(64, generator=g) * 3
        got, want = fn(rc, rr), reward.bradley_terry_loss(rc, rr)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            return False, "return one number as a tensor: the mean over the pairs"
        if close(got, reward.bradley_terry_loss(rr, rc), 1e-5):
            return False, "you rewarded the rejected answer: the loss is -log sigmoid(r_chosen - r_rejected)"
        if close(got, -torch.sigmoid(rc - rr).log().sum(), 1e-3):
            return False, "that is the sum; take the mean over pairs"
        return close(got, want, 1e-5), ("matches trl's RewardTrainer formula" if close(got, want, 1e-5)
                                        else f"expected {float(want):.5f}, got {float(got):.5f}")
    return run_check("Bradley-Terry loss", check)


def bt_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Solution: the mean of -log sigmoid(r_chosen - r_rejected)."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def check_accuracy_by_defect(fn: Callable[[Sequence[float], Sequence[float], Sequence[str]], dict]) -> bool:
    """Hard: ``fn(r_chosen, r_rejected, defects)`` gives pairwise accuracy for each defect kind."""
    rc = [1.0, 0.5, 2.0, -1.0, 0.0, 3.0, 0.2]
    rr = [0.0, 1.5, 1.0, -2.0, 0.0, 1.0, 0.1]
    defects = ["wrong", "wrong", "rude", "rude", "unsafe", "unsafe", "rambling"]
    want = {"wrong": 0.5, "rude": 1.0, "unsafe": 0.5, "rambling": 1.0}

    def check():
        got = fn(rc, rr, defects)
        if not isinstance(got, dict) or set(got) != set(want):
            return False, f"return a dict with one entry per defect kind: {sorted(want)}"
        for k, v in want.items():
            if not close(got[k], v, 1e-6):
                hint = " (a tie is not a win: use >)" if k == "unsafe" else ""
                return False, f"accuracy for {k!r}: expected {v}, got {got[k]}{hint}"
        return True, "now you can see which defects the reward model misses"
    return run_check("pairwise accuracy per defect kind", check)


def accuracy_by_defect(r_chosen: Sequence[float], r_rejected: Sequence[float], defects: Sequence[str]) -> dict:
    """Solution: per defect kind, the share of pairs where the chosen answer scores higher."""
    wins = defaultdict(list)
    for c, r, d in zip(r_chosen, r_rejected, defects, strict=True):
        wins[d].append(c > r)
    return {d: sum(w) / len(w) for d, w in wins.items()}


EXERCISES: tuple[Exercise, ...] = (
    Exercise("06", "preference_probability", check_preference_probability, preference_probability,
             feedback=((lambda a, b: preference_probability(b, a), "swap"),)),
    Exercise("06", "bt_loss", check_bt_loss, bt_loss,
             wrong=(lambda c, r: bt_loss(r, c),),
             feedback=((lambda c, r: -torch.sigmoid(c - r).log().sum(), "sum"),)),
    Exercise("06", "accuracy_by_defect", check_accuracy_by_defect, accuracy_by_defect,
             wrong=(lambda c, r, d: accuracy_by_defect([x + 1e-9 for x in c], r, d),  # a tie counts as a win
                    lambda c, r, d: [])),
)
