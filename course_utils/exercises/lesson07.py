"""Lesson 07's exercises (PPO): the k3 KL estimate, the clipped objective, GAE; each check with its
solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from course_utils.exercises import Exercise, close, run_check
from course_utils.rlhf import ppo


def check_k3(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Easy: ``fn(logp, ref_logp)`` is the per-token k3 estimate of KL(pi || ref)."""
    logp = torch.log(torch.tensor([0.5, 0.2, 0.9, 0.05]))
    ref = torch.log(torch.tensor([0.25, 0.4, 0.9, 0.3]))

    def check():
        got = torch.as_tensor(fn(logp, ref), dtype=torch.float)
        k1, k3 = ppo.kl_estimates(logp, ref)
        if got.shape != k3.shape:
            return False, f"return one value per token, shape {tuple(k3.shape)}"
        if close(got, k1, 1e-5):
            return False, "that is k1 = log pi - log ref; k3 is (r - 1) - log r with r = ref / pi"
        if (got < -1e-6).any():
            return False, "k3 can never be negative: check which way round the ratio goes (r = ref / pi)"
        ok = close(got, k3, 1e-5)
        return ok, "never negative and unbiased" if ok else "not yet: r = exp(ref_logp - logp)"
    return run_check("the k3 KL estimate", check)


def k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Solution: (r - 1) - log r with r = ref / pi, per token."""
    log_r = ref_logp - logp
    return (log_r.exp() - 1) - log_r


def check_clipped_objective(fn: Callable[[np.ndarray, float, float], np.ndarray]) -> bool:
    """Medium: ``fn(ratio, advantage, eps)`` is PPO's clipped surrogate objective per token."""
    ratio = np.linspace(0.1, 3.0, 30)

    def check():
        for adv in (2.0, -1.5):
            got = np.asarray(fn(ratio, adv, 0.2), dtype=float)
            want = ppo.clipped_objective(ratio, adv, 0.2)
            if close(got, ratio * adv, 1e-6):
                return False, "that is the unclipped objective r * A: clip the ratio to [1 - eps, 1 + eps]"
            if close(got, np.clip(ratio, 0.8, 1.2) * adv, 1e-6):
                return False, f"with A={adv} you always clip; PPO takes the minimum of the clipped and unclipped terms"
            if not close(got, want, 1e-6):
                return False, f"with A={adv} the values differ from min(r A, clip(r) A)"
        return True, "a pessimistic bound: no gain beyond the clip, but every loss counts"
    return run_check("the clipped objective", check)


def clipped_objective(ratio: np.ndarray, advantage: float, eps: float) -> np.ndarray:
    """Solution: the minimum of the unclipped and the clipped term."""
    return np.minimum(ratio * advantage, np.clip(ratio, 1 - eps, 1 + eps) * advantage)


def check_gae(fn: Callable[[Sequence[float], Sequence[float], float, float], Sequence[float]]) -> bool:
    """Hard: ``fn(rewards, values, gamma, lam)`` gives GAE advantages of one answer (lists of floats)."""
    cases = [([0.0, 0.0, 1.0], [0.1, 0.2, 0.3], 1.0, 0.95), ([1.0, -0.5, 0.2, 2.0], [0.5, 0.0, -0.3, 1.0], 0.9, 0.7),
             ([0.3], [1.0], 1.0, 1.0)]

    def check():
        for r, v, g, lam in cases:
            got = [float(x) for x in fn(r, v, g, lam)]
            want, _ = ppo.gae(torch.tensor([r]), torch.tensor([v]), torch.ones(1, len(r)), g, lam)
            want = want[0].tolist()
            if len(got) != len(want):
                return False, f"one advantage per token: expected {len(want)}, got {len(got)}"
            if not close(got, want, 1e-5):
                return False, (f"rewards={r}, values={v}, gamma={g}, lam={lam}: expected "
                               f"{[round(x, 4) for x in want]}, got {[round(x, 4) for x in got]} "
                               f"(go backwards; the value after the last token is 0)")
        return True, "with lam=1 this is reward-to-go minus the value; with lam=0 it is the one-step TD error"
    return run_check("generalised advantage estimation", check)



def gae(rewards: Sequence[float], values: Sequence[float], gamma: float, lam: float) -> list[float]:
    """Solution: backwards from the last token, whose next value is 0."""
    advantages, next_adv = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(values) else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        next_adv = delta + gamma * lam * next_adv
        advantages[t] = next_adv
    return advantages


EXERCISES: tuple[Exercise, ...] = (
    Exercise("07", "k3", check_k3, k3,
             wrong=(lambda lp, ref: k3(ref, lp),),  # the ratio the wrong way round
             feedback=((lambda lp, ref: lp - ref, "k1"),)),
    Exercise("07", "clipped_objective", check_clipped_objective, clipped_objective,
             wrong=(lambda r, a, e: np.maximum(r * a, np.clip(r, 1 - e, 1 + e) * a),),
             feedback=((lambda r, a, e: r * a, "unclipped"),)),
    Exercise("07", "gae", check_gae, gae,
             wrong=(lambda r, v, g, lam: [x - y for x, y in zip(r, v, strict=True)],
                    lambda r, v, g, lam: gae(r, v, g, 1.0))),  # ignores lambda
)
