"""Solutions to the exercises of 08_dpo.ipynb."""
import torch
import torch.nn.functional as F


def implicit_reward(policy_logps: torch.Tensor, ref_logps: torch.Tensor, beta: float) -> torch.Tensor:
    return beta * (policy_logps - ref_logps)


def dpo_loss(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def optimal_policy(ref_probs: torch.Tensor, rewards: torch.Tensor, beta: float) -> torch.Tensor:
    unnormalised = ref_probs * torch.exp(rewards / beta)
    return unnormalised / unnormalised.sum()
