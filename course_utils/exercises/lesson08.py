"""Lesson 08's exercises (DPO): the implicit reward, the DPO loss, the KL-regularised optimal policy;
each check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_utils.exercises import Exercise, close, run_check
from course_utils.rlhf import dpo


def check_implicit_reward(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """Easy: ``fn(policy_logps, ref_logps, beta)`` is DPO's implicit reward of each answer."""
    pol, ref = torch.tensor([-10.0, -4.0, -7.5]), torch.tensor([-12.0, -4.0, -5.0])

    def check():
        got = torch.as_tensor(fn(pol, ref, 0.1), dtype=torch.float)
        want = 0.1 * (pol - ref)
        if close(got, -want, 1e-6):
            return False, "the sign is flipped: the reward is beta * (log pi - log ref)"
        if close(got, pol - ref, 1e-6):
            return False, "almost: multiply by beta"
        return close(got, want, 1e-6), ("an answer the policy likes more than the reference gets a positive reward"
                                        if close(got, want, 1e-6) else f"expected {want.tolist()}")
    return run_check("implicit reward", check)


def implicit_reward(policy_logps: torch.Tensor, ref_logps: torch.Tensor, beta: float) -> torch.Tensor:
    """Solution: beta times the log-ratio of policy to reference."""
    return beta * (policy_logps - ref_logps)


def check_dpo_loss(fn: Callable[..., torch.Tensor]) -> bool:
    """Medium: ``fn(pc, pr, rc, rr, beta)`` is the mean sigmoid DPO loss from sequence log-likelihoods."""
    def check():
        g = torch.Generator().manual_seed(8)
        pc, pr, rc, rr = (-20 + 5 * torch.randn(32, generator=g) for _ in range(4))
        got = torch.as_tensor(fn(pc, pr, rc, rr, 0.2), dtype=torch.float)
        want = dpo.dpo_loss(pc, pr, rc, rr, 0.2)["loss"]
        if got.numel() != 1:
            return False, "return the mean over pairs, one number"
        if close(got, dpo.dpo_loss(pr, pc, rr, rc, 0.2)["loss"], 1e-5):
            return False, "chosen and rejected are swapped"
        if close(got, -torch.nn.functional.logsigmoid(0.2 * (pc - pr)).mean(), 1e-5):
            return False, "you left out the reference model: use log-ratios log pi - log ref"
        ok = close(got, want, 1e-5)
        return ok, ("the same formula as trl's DPOTrainer (loss_type='sigmoid')" if ok
                    else f"expected {float(want):.5f}, got {float(got):.5f}")
    return run_check("DPO loss", check)


def dpo_loss(pc: torch.Tensor, pr: torch.Tensor, rc: torch.Tensor, rr: torch.Tensor, beta: float) -> torch.Tensor:
    """Solution: -log sigmoid of beta times the chosen minus the rejected log-ratio, averaged."""
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def check_optimal_policy(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """Hard: ``fn(ref_probs, rewards, beta)`` is the optimum of max E[r] - beta KL(pi || ref) over a
    few answers: pi*(y) = ref(y) exp(r(y) / beta) / Z."""
    ref = torch.tensor([0.5, 0.3, 0.15, 0.05])
    r = torch.tensor([0.0, 1.0, 2.0, -1.0])

    def check():
        for beta in (0.5, 2.0):
            got = torch.as_tensor(fn(ref, r, beta), dtype=torch.float)
            want = ref * torch.exp(r / beta)
            want = want / want.sum()
            if not close(got.sum(), 1.0, 1e-5):
                return False, "the probabilities must sum to 1: divide by Z"
            if not close(got, want, 1e-5):
                return False, f"beta={beta}: expected {[round(x, 4) for x in want.tolist()]}"
        return True, "small beta: all mass on the best answer; large beta: stays at the reference"
    return run_check("the KL-regularised optimal policy", check)


def optimal_policy(ref_probs: torch.Tensor, rewards: torch.Tensor, beta: float) -> torch.Tensor:
    """Solution: reweight the reference by exp(r / beta), then normalise."""
    unnormalised = ref_probs * torch.exp(rewards / beta)
    return unnormalised / unnormalised.sum()


EXERCISES: tuple[Exercise, ...] = (
    Exercise("08", "implicit_reward", check_implicit_reward, implicit_reward,
             feedback=((lambda p, r, b: p - r, "beta"),)),
    Exercise("08", "dpo_loss", check_dpo_loss, dpo_loss,
             wrong=(lambda pc, pr, rc, rr, b: -F.logsigmoid(b * (pc - pr)).mean(),),  # no reference model
             feedback=((lambda pc, pr, rc, rr, b: dpo_loss(pr, pc, rr, rc, b), "swapped"),)),
    Exercise("08", "optimal_policy", check_optimal_policy, optimal_policy,
             wrong=(lambda ref, r, b: torch.softmax(r / b, 0),),  # forgets the reference
             feedback=((lambda ref, r, b: ref * torch.exp(r / b), "sum to 1"),)),  # not normalised
)
