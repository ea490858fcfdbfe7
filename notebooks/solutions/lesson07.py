"""Solutions to the exercises of 07_ppo.ipynb."""
import numpy as np
import torch


def k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    log_r = ref_logp - logp
    return (log_r.exp() - 1) - log_r


def clipped_objective(ratio: np.ndarray, advantage: float, eps: float) -> np.ndarray:
    return np.minimum(ratio * advantage, np.clip(ratio, 1 - eps, 1 + eps) * advantage)


def gae(rewards, values, gamma, lam):
    advantages, next_adv = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(values) else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        next_adv = delta + gamma * lam * next_adv
        advantages[t] = next_adv
    return advantages
