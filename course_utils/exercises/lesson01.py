"""Lesson 01's exercises (pretraining): perplexity from a loss, the causal mask, one step of sampling
with temperature and top-k; each check with its solution and wrong answers."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from course_utils.exercises import Exercise, close, run_check


def check_perplexity(perplexity_from_loss: Callable) -> bool:
    """Easy: ``perplexity_from_loss(mean_loss)`` for a mean next-token loss in nats."""
    def check():
        for loss in (0.0, 1.0, 2.0, math.log(50)):
            got = float(perplexity_from_loss(loss))
            if not close(got, math.exp(loss), tol=1e-3 * math.exp(loss)):
                hint = " (the loss is in nats: use e, not 2)" if close(got, 2 ** loss, 1e-3) else ""
                return False, f"loss {loss:.3f}: expected {math.exp(loss):.3f}, got {got:.3f}{hint}"
        return True, "exp(loss): a loss of log(50) means the model is as unsure as a fair 50-sided die"
    return run_check("perplexity from loss", check)


def perplexity_from_loss(mean_loss: float) -> float:
    """Solution: perplexity is e to the mean next-token loss (in nats)."""
    return math.exp(mean_loss)


def check_causal_mask(causal_mask: Callable) -> bool:
    """Medium: ``causal_mask(n)`` is an (n, n) boolean tensor, True where query i may attend key j."""
    def check():
        for n in (1, 4, 7):
            got = torch.as_tensor(causal_mask(n))
            if tuple(got.shape) != (n, n):
                return False, f"n={n}: expected shape ({n}, {n}), got {tuple(got.shape)}"
            want = torch.ones(n, n).tril().bool()
            got = got.bool()
            if torch.equal(got, want):
                continue
            if torch.equal(got, want.T):
                return False, "transposed: row i is the query, and it may look at keys j <= i (the past)"
            if torch.equal(got, ~want):
                return False, "inverted: True should mark what a position MAY see"
            return False, f"n={n}: position i must see positions 0..i and nothing after"
        return True, "lower triangular: every position sees itself and the past, never the future"
    return run_check("causal mask", check)


def causal_mask(n: int) -> torch.Tensor:
    """Solution: True where query i may attend key j, i.e. j <= i."""
    return torch.ones(n, n, dtype=torch.bool).tril()


def check_sample_next(sample_next: Callable) -> bool:
    """Hard: ``sample_next(logits, temperature, top_k, generator)`` returns one token id (int),
    drawn from softmax(logits / temperature) restricted to the ``top_k`` largest logits
    (``top_k=None``: all of them). Use ``torch.multinomial(..., generator=generator)``."""
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])

    def freqs(temperature, top_k, n=3000):
        g = torch.Generator().manual_seed(0)
        counts = torch.zeros(len(logits))
        for _ in range(n):
            i = int(sample_next(logits.clone(), temperature, top_k, g))
            if not 0 <= i < len(logits):
                raise ValueError(f"returned id {i}, outside 0..{len(logits) - 1}")
            counts[i] += 1
        return counts / n

    def expected(temperature, top_k):
        z = logits / temperature
        if top_k is not None:
            z = torch.where(z >= torch.topk(z, top_k).values[-1], z, torch.tensor(float("-inf")))
        return torch.softmax(z, -1)

    def check():
        for temperature, top_k in [(1.0, None), (0.5, None), (2.0, None), (1.0, 2), (1.0, 1)]:
            got, want = freqs(temperature, top_k), expected(temperature, top_k)
            if top_k is not None and got[want == 0].sum() > 0:
                return False, f"top_k={top_k}: you drew tokens outside the {top_k} likeliest"
            if (got - want).abs().max() > 0.04:
                return False, (f"temperature={temperature}, top_k={top_k}: frequencies {got.numpy().round(2)} "
                               f"should be close to {want.numpy().round(2)}")
        return True, "divide by the temperature, keep the top k, softmax, draw: what model.generate does"
    return run_check("sample next token", check)


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None) -> int:
    """Solution: scale by the temperature, keep the k largest logits, softmax, draw one id."""
    z = logits / temperature
    if top_k is not None:
        kth = torch.topk(z, top_k).values[-1]
        z = z.masked_fill(z < kth, float("-inf"))
    return int(torch.multinomial(torch.softmax(z, -1), 1, generator=generator))


EXERCISES: tuple[Exercise, ...] = (
    Exercise("01", "perplexity_from_loss", check_perplexity, perplexity_from_loss,
             wrong=(lambda loss: 2 ** loss, lambda loss: math.log(loss + 1))),
    Exercise("01", "causal_mask", check_causal_mask, causal_mask,
             wrong=(lambda n: torch.ones(n, n, dtype=torch.bool).triu(),
                    lambda n: torch.ones(n, n, dtype=torch.bool),
                    lambda n: ~torch.ones(n, n, dtype=torch.bool).tril())),
    Exercise("01", "sample_next", check_sample_next, sample_next,
             wrong=(lambda logits, t, k, g: int(logits.argmax()),  # greedy only
                    lambda logits, t, k, g: sample_next(logits, 1.0, k, g),  # forgets the temperature
                    lambda logits, t, k, g: sample_next(logits, t, None, g),  # forgets top-k
                    lambda logits, t, k, g: 99)),
)
