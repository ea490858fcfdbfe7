"""Solutions to lesson 01's exercises."""
from __future__ import annotations

import math

import torch


def perplexity_from_loss(mean_loss: float) -> float:
    """Easy: perplexity is e to the mean next-token loss (in nats)."""
    return math.exp(mean_loss)


def causal_mask(n: int) -> torch.Tensor:
    """Medium: True where query i may attend key j, i.e. j <= i."""
    return torch.ones(n, n, dtype=torch.bool).tril()


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None) -> int:
    """Hard: scale by the temperature, keep the k largest logits, softmax, draw one id."""
    z = logits / temperature
    if top_k is not None:
        kth = torch.topk(z, top_k).values[-1]
        z = z.masked_fill(z < kth, float("-inf"))
    return int(torch.multinomial(torch.softmax(z, -1), 1, generator=generator))
