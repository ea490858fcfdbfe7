"""The tiny base model's claims, from build/results/base_model.json (written by
`python -m course_utils.models`, which `make test` runs before the notebooks) and from the cached
model itself: big enough corpus, a few million parameters, low held-out perplexity, fluent samples."""
import re

import pytest

from course_utils import data, generation, models
from course_utils.results import metric

RECORD = "base_model"


def test_corpus_has_a_million_tokens():
    assert metric(RECORD, "corpus_tokens") >= 1_000_000


def test_a_few_million_parameters():
    assert 1_000_000 <= metric(RECORD, "params") <= 10_000_000


def test_heldout_perplexity_is_low():
    # Measured 1.91 (400 steps, 819k tokens) on data/general validation (uniform over the vocabulary would be ~1,700).
    assert metric(RECORD, "val_perplexity") < 2.5


@pytest.fixture(scope="module")
def base():
    folder = models.base_model_dir()
    if not folder.exists():
        pytest.fail(f"no cached base model in {folder}: run `python -m course_utils.models` first")
    return models.load_base_model("tiny", device="cpu", log=None)


def test_samples_are_fluent_corpus_english(base):
    """Sampled words come from the corpus's vocabulary, and samples form whole sentences."""
    model, tok = base
    vocab = {w for r in data.load_rows("general", "train") for w in re.findall(r"[a-z]+", r["text"].lower())}
    samples = generation.continue_text(model, tok, "", max_new_tokens=80, temperature=0.8, top_k=40, n=8, seed=0)
    words = [w for s in samples for w in re.findall(r"[a-z]+", s.lower())]
    known = sum(w in vocab for w in words) / len(words)
    # measured: 100% known words, 61 sentences in 8 samples of 80 tokens
    assert known > 0.97, f"only {known:.1%} of sampled words are English words of the corpus"
    sentences = [s for text in samples for s in re.findall(r"[A-Z][^.!?]*[.!?]", text)]
    assert len(sentences) >= 3 * len(samples), samples
