"""Lesson 01's exercises (pretraining): perplexity from a loss, the causal mask, one step of sampling
with temperature and top-k; each check with its solution and wrong answers."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from course_utils.exercises import Exercise, ask, close, run_check, too_few_runs


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


# --------------------------------------------------------------------------- questions (issue 16)
SCALING = {"A": "the largest model reaches the lowest loss: a bigger model learns more from the same tokens",
           "B": "a smaller model reaches the lowest loss: a bigger one needs more steps to get going",
           "C": "all about the same (within 0.05): the loss depends on the data, not the model's size"}


NOT_THE_USUAL = {"A": "", "B": " This run did not show it: after so few steps a larger model can still be catching up.",
                 "C": " This run barely showed it: after so few steps every model is still near its start."}


def check_predict_scaling(prediction: str | None, scaling: dict[int, tuple[int, float]], tokens: int) -> bool:
    """Predict, then run: ``scaling`` maps each width to (parameters, validation loss) after ``tokens`` tokens."""
    runs = sorted(scaling.values())
    losses = [loss for _, loss in runs]
    correct = "C" if max(losses) - min(losses) < 0.05 else "A" if losses[-1] == min(losses) else "B"
    (p_small, l_small), (p_big, l_big) = runs[0], runs[-1]
    why = (f"from {p_small:,} to {p_big:,} parameters ({p_big / p_small:.1f}x) the validation loss went from "
           f"{l_small:.2f} to {l_big:.2f}, each model after the same {tokens:,} tokens. A model with more parameters "
           "has more features to fit the patterns of the text, and each token it reads lowers its loss more: Kaplan "
           "et al. (2020) measured the loss falling as a smooth power law in the parameters, as long as data and "
           "steps are not the limit." + NOT_THE_USUAL[correct]
           + f" The largest model here saw {tokens / p_big:.1f} tokens per parameter; Chinchilla (Hoffmann et al., "
           "2022) found that for a fixed compute budget parameters and tokens should grow together, "
           "about 20 tokens per parameter, so 'bigger' pays only with enough data to go with it.")
    return ask("predict_scaling", prediction, SCALING, correct, why)


PERPLEXITY_UNITS = {"A": "the model with the smallest vocabulary", "B": "the model with the largest vocabulary",
                    "C": "neither can be said: models with different tokenizers cannot be compared"}


def check_decide_perplexity_units(answer: str | None, tokens_per_word: dict[str, float]) -> bool:
    """Decide: per-token perplexity 2.0 (smallest vocabulary) against 4.0 (largest): which model is better?"""
    (v_small, tpw_small), (v_big, tpw_big) = (min(tokens_per_word.items(), key=lambda kv: int(kv[0])),
                                              max(tokens_per_word.items(), key=lambda kv: int(kv[0])))
    word_small, word_big = 2.0 ** tpw_small, 4.0 ** tpw_big
    correct = "B" if word_big < word_small else "A"
    why = (f"a perplexity is per token, and the tokens differ: the {v_small}-token vocabulary needed {tpw_small:.2f} "
           f"tokens per word of the validation text, the {v_big}-token one {tpw_big:.2f}. Losses add up over the "
           "tokens of a word, so the perplexity per word is the perplexity per token to the power tokens per word: "
           f"2.0 ** {tpw_small:.2f} = {word_small:.1f} against 4.0 ** {tpw_big:.2f} = {word_big:.1f}, and the "
           f"{'largest' if correct == 'B' else 'smallest'}-vocabulary model predicts the text better. To compare "
           "models with different tokenizers, measure the same text in units every tokenizer shares: per word, per "
           "character or per byte (the GPT-2 paper reports bits per byte or per character on enwik8 and text8).")
    return ask("decide_perplexity_units", answer, PERPLEXITY_UNITS, correct, why,
               hints={"A": "A lower perplexity per token says little when the tokens are shorter.",
                      "B": "Longer tokens are harder to guess, but here not enough to make up for 4.0 per token.",
                      "C": "They can be compared: on the same text, in units that do not depend on the tokenizer."})


TEMPERATURE = {"A": "the higher temperature", "B": "the lower temperature", "C": "about the same (within 0.05)"}


def check_experiment_temperature(answer: str | None, runs: dict[float, tuple[float, float]]) -> bool:
    """Experiment: ``runs`` maps each temperature you tried to (share of distinct words, share of made-up words)."""
    verdict = too_few_runs("experiment_temperature", answer, runs, TEMPERATURE, "my_temperature")
    if verdict is not None:
        return verdict
    (cold, (d_cold, m_cold)), (hot, (d_hot, m_hot)) = min(runs.items()), max(runs.items())
    correct = "C" if abs(d_hot - d_cold) <= 0.05 else "A" if d_hot > d_cold else "B"
    why = (f"at temperature {cold:g} the samples had {d_cold:.0%} distinct words and {m_cold:.0%} made-up ones; at "
           f"{hot:g}, {d_hot:.0%} and {m_hot:.0%}. Dividing the logits by a temperature below 1 sharpens the softmax "
           "toward the likeliest token, so different samples repeat the same safe words; above 1 it flattens it, "
           "and unlikely tokens get a real chance: more variety, then pieces that make no word. Holtzman et al. "
           "(2020) found the same with GPT-2: low-temperature text degenerates into repetition, high-temperature "
           "text into incoherence, which is why generation usually runs near 0.7-1.0 with top-k or top-p "
           "(nucleus) truncation of the unlikely tail." + (" Your two temperatures were too close to show it: try 0.3 "
                                                         "and 1.5." if correct == "C" else ""))
    return ask("experiment_temperature", answer, TEMPERATURE, correct, why)


EXERCISES += (
    Exercise("01", "predict_scaling", check_predict_scaling, "A", wrong=("B", "C"), kind="predict",
             measured=({32: (88832, 6.04), 64: (230912, 5.36), 128: (674816, 4.75)}, 122880)),
    Exercise("01", "decide_perplexity_units", check_decide_perplexity_units, "B", wrong=("A", "C"), kind="decide",
             feedback=(("C", "same text"),), measured=({"300": 3.46, "700": 1.86, "1939": 1.21},)),
    Exercise("01", "experiment_temperature", check_experiment_temperature, "A", wrong=("B", "C"), kind="experiment",
             measured=({0.5: (0.35, 0.0), 1.5: (0.78, 0.08)},)),
)
