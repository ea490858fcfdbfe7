"""Lesson 01's exercise checks: each solution passes, wrong answers fail (and nothing raises)."""
import math
from pathlib import Path

import torch

from course_utils.exercises import lesson01 as ex
from course_utils.exercises import load_solutions

sol = load_solutions("01")


def _not_started(*args, **kwargs):
    raise NotImplementedError


def test_perplexity():
    assert ex.check_perplexity(sol.perplexity_from_loss)
    assert not ex.check_perplexity(lambda loss: 2 ** loss)
    assert not ex.check_perplexity(lambda loss: math.log(loss + 1))
    assert not ex.check_perplexity(_not_started)


def test_causal_mask():
    assert ex.check_causal_mask(sol.causal_mask)
    assert ex.check_causal_mask(lambda n: torch.tril(torch.ones(n, n)))  # 0/1 floats are fine
    assert not ex.check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool).triu())
    assert not ex.check_causal_mask(lambda n: torch.ones(n, n, dtype=torch.bool))
    assert not ex.check_causal_mask(lambda n: ~torch.ones(n, n, dtype=torch.bool).tril())
    assert not ex.check_causal_mask(_not_started)


def test_sample_next():
    assert ex.check_sample_next(sol.sample_next)
    assert not ex.check_sample_next(lambda logits, t, k, g: int(logits.argmax()))  # greedy only
    assert not ex.check_sample_next(  # forgets the temperature
        lambda logits, t, k, g: sol.sample_next(logits, 1.0, k, g))
    assert not ex.check_sample_next(  # forgets top-k
        lambda logits, t, k, g: sol.sample_next(logits, t, None, g))
    assert not ex.check_sample_next(lambda logits, t, k, g: 99)
    assert not ex.check_sample_next(_not_started)
