"""course_utils.encoders: offline MiniLM, mean pooling, the classifier head, Trainer fine-tuning."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from course_utils import encoders


@pytest.fixture(scope="module")
def tokenizer():
    return encoders.load_tokenizer()


@pytest.fixture()
def tiny_encoder(tokenizer):
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    return BertModel(cfg, add_pooling_layer=False)


def test_sources():
    folder = Path(encoders.model_source("tiny"))
    assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
    assert encoders.model_source("hub") == encoders.HUB_ID
    with pytest.raises(ValueError, match="unknown profile"):
        encoders.model_source("huge")


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])
    assert torch.allclose(encoders.mean_pool(hidden, torch.tensor([[1, 1, 0]])), torch.tensor([[2.0, 2.0]]))


def test_random_encoder_has_the_pretrained_architecture():
    scratch = encoders.load_encoder(pretrained=False)
    pre = encoders.load_encoder(pretrained=True)
    assert encoders.count_trainable(scratch) == encoders.count_trainable(pre) > 20_000_000
    w = "embeddings.word_embeddings.weight"
    assert not torch.equal(scratch.state_dict()[w], pre.state_dict()[w])


def test_pretrained_embeddings_know_meaning(tokenizer):
    enc = encoders.load_encoder(pretrained=True)
    candidates = ["water the field", "sell the crop", "fix the tractor"]
    top = encoders.nearest("moisten the soil", candidates, tokenizer, enc, k=1)
    assert top[0][0] == "water the field"
    emb = encoders.embed(["a", "b c"], tokenizer, enc)
    assert emb.shape == (2, 384) and torch.allclose(emb.norm(dim=-1), torch.ones(2), atol=1e-5)
    with pytest.raises(ValueError, match="non-empty"):
        encoders.embed("just a string", tokenizer, enc)


def test_classifier_trains_with_the_trainer(tokenizer, tiny_encoder, tmp_path):
    model = encoders.EncoderClassifier(tiny_encoder, 2)
    texts, labels = ["good crop", "bad crop", "good field", "bad field"], [1, 0, 1, 0]
    groups = encoders.param_groups(model, 1e-4, 1e-2)
    assert [g["lr"] for g in groups] == [1e-4, 1e-2]
    before = model.head.weight.clone()
    info = encoders.train_classifier(model, tokenizer, texts, labels, steps=3, batch_size=4, output_dir=tmp_path)
    assert not torch.equal(before, model.head.weight)
    assert info["trainable"] == encoders.count_trainable(model) and info["seconds"] > 0
    assert encoders.predict(model, tokenizer, texts).shape == (4,)
    with pytest.raises(ValueError, match="same length"):
        encoders.train_classifier(model, tokenizer, texts, labels[:2], steps=1)


def test_head_from_probe(tokenizer, tiny_encoder):
    model = encoders.EncoderClassifier(tiny_encoder, 3)
    texts = ["one", "two", "three", "four", "five", "six"]
    labels = np.array([0, 1, 2, 0, 1, 2])
    probe = encoders.fit_linear_probe(encoders.embed(texts, tokenizer, tiny_encoder), labels)
    encoders.init_head_from_probe(model, probe)
    by_probe = probe.predict(encoders.embed(texts, tokenizer, tiny_encoder).numpy())
    assert (encoders.predict(model, tokenizer, texts) == by_probe).all()
    with pytest.raises(ValueError, match="head expects"):
        encoders.init_head_from_probe(encoders.EncoderClassifier(tiny_encoder, 2), probe)
