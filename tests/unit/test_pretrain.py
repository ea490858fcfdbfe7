"""The pretraining recipe: tokenizer, packing, the objective, training, perplexity, sampling,
and that the model works with peft LoRA and bitsandbytes 4-bit like any Llama."""
from __future__ import annotations

import math

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

from course_utils import chat, generation, pretrain
from course_utils.datagen import corpus

CFG = pretrain.PretrainConfig(vocab_size=400, n_layer=2, d_model=32, n_head=2, d_ff=64, context=32,
                              steps=40, batch_size=8, lr=3e-3, warmup=4, seed=0)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return corpus.generate(120, seed=5)


@pytest.fixture(scope="module")
def tok(texts):
    return pretrain.train_tokenizer(texts, CFG.vocab_size)


@pytest.fixture(scope="module")
def model(tok):
    return pretrain.build_model(CFG, tok)


def test_tokenizer_round_trip(tok):
    for s in ["Once upon a time, Mia's dog barked.", "Unseen: café, 東京, 🙂 and tabs\tok", "  two  spaces "]:
        assert tok.decode(tok(s, add_special_tokens=False)["input_ids"]) == s
    assert len(tok) <= CFG.vocab_size


def test_special_tokens(tok):
    assert tok.eos_token == chat.END and tok.pad_token == chat.PAD
    for t in chat.SPECIAL_TOKENS:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and tok.convert_ids_to_tokens(ids[0]) == t
    text = tok.apply_chat_template([{"role": "user", "content": "When do we plant peas?"}],
                                   tokenize=False, add_generation_prompt=True)
    assert text == chat.format_prompt("When do we plant peas?")


def test_bpe_learns_whole_words(tok, texts):
    assert len(tok(" the and", add_special_tokens=False)["input_ids"]) == 2  # frequent words: one token
    n_tokens = len(tok(texts[0], add_special_tokens=False)["input_ids"])
    assert n_tokens < 0.6 * len(texts[0].encode())  # far fewer tokens than bytes


def test_encode_and_pack(tok):
    stream = pretrain.encode_documents(tok, ["Hens lay eggs.", "Bees make honey."])
    assert stream.count(tok.eos_token_id) == 2 and stream[-1] == tok.eos_token_id
    blocks = pretrain.pack_blocks(list(range(23)), 5)
    assert blocks.shape == (4, 5) and blocks.dtype == torch.long
    assert blocks.flatten().tolist() == list(range(20))  # order kept, ragged tail dropped
    with pytest.raises(ValueError, match="not enough"):
        pretrain.pack_blocks([1, 2], 5)
    with pytest.raises(ValueError, match="at least 2"):
        pretrain.pack_blocks([1, 2, 3], 1)


def test_from_scratch_loss_matches_the_model(model):
    x = torch.randint(0, model.config.vocab_size, (3, 16), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(input_ids=x, labels=x)
    assert torch.allclose(pretrain.causal_lm_loss(out.logits, x), out.loss, atol=1e-5)
    with pytest.raises(ValueError, match="expected logits"):
        pretrain.causal_lm_loss(out.logits[0], x)


def test_model_is_causal(model):
    x = torch.randint(0, model.config.vocab_size, (1, 12), generator=torch.Generator().manual_seed(1))
    y = x.clone()
    y[0, -1] = (y[0, -1] + 1) % model.config.vocab_size
    with torch.no_grad():
        a, b = model(input_ids=x).logits, model(input_ids=y).logits
    assert torch.allclose(a[0, :-1], b[0, :-1], atol=1e-5)  # the past never sees the future
    assert not torch.allclose(a[0, -1], b[0, -1])


def test_training_lowers_loss_and_perplexity(texts, tok):
    ids = pretrain.encode_documents(tok, texts)
    blocks = pretrain.pack_blocks(ids, CFG.context)
    train, val = blocks[:-8], blocks[-8:]
    m = pretrain.build_model(CFG, tok)
    hist = pretrain.train(m, train, CFG, val, eval_every=20)
    assert hist["val_step"] == [0, 20, 40] and len(hist["train_loss"]) == CFG.steps
    assert hist["val_loss"][-1] < hist["val_loss"][0] - 0.5  # measured: 6.00 -> 5.02
    assert hist["tokens_seen"] == CFG.steps * CFG.batch_size * CFG.context and hist["tokens_per_second"] > 0
    assert pretrain.perplexity(m, val) == pytest.approx(math.exp(pretrain.mean_loss(m, val)))
    with pytest.raises(ValueError, match="context"):
        pretrain.train(m, torch.zeros(2, CFG.context * 2, dtype=torch.long), CFG)


def test_sampling(model, tok):
    a = generation.continue_text(model, tok, "The cow", max_new_tokens=8, seed=3, n=2)
    assert a == generation.continue_text(model, tok, "The cow", max_new_tokens=8, seed=3, n=2)
    assert len(a) == 2 and all(s.startswith("The cow") for s in a)
    greedy = generation.continue_text(model, tok, "The cow", max_new_tokens=1, temperature=0)[0]
    ids = [tok.eos_token_id] + tok("The cow", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        nxt = model(input_ids=torch.tensor([ids])).logits[0, -1].argmax()
    assert greedy == "The cow" + tok.decode([int(nxt)], skip_special_tokens=True)
    with pytest.raises(ValueError, match="temperature"):
        generation.continue_text(model, tok, "x", temperature=-1)


def test_config_errors():
    with pytest.raises(ValueError, match="divisible"):
        pretrain.PretrainConfig(d_model=30, n_head=4)
    with pytest.raises(ValueError, match="vocab_size"):
        pretrain.PretrainConfig(vocab_size=100)
    with pytest.raises(ValueError, match="steps"):
        pretrain.PretrainConfig(steps=0)


def test_works_with_peft_lora(model):
    m = pretrain.build_model(CFG, pretrain.train_tokenizer(corpus.generate(30, seed=9), CFG.vocab_size))
    lora = get_peft_model(m, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    trainable = sum(p.numel() for p in lora.parameters() if p.requires_grad)
    assert 0 < trainable < 0.1 * sum(p.numel() for p in lora.parameters())
    x = torch.randint(0, 100, (1, 8))
    assert torch.isfinite(lora(input_ids=x, labels=x).loss)


def test_loads_in_4bit(tok, tmp_path):
    # bitsandbytes quantizes in blocks of 64 values: use a width that is a multiple of 64 (the base model's is 192)
    wide = pretrain.PretrainConfig(**{**CFG.to_dict(), "d_model": 64, "d_ff": 128})
    pretrain.build_model(wide, tok).save_pretrained(tmp_path, safe_serialization=True)
    q = AutoModelForCausalLM.from_pretrained(
        tmp_path, quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                         bnb_4bit_compute_dtype=torch.float32))
    assert "4bit" in type(q.model.layers[0].self_attn.q_proj).__name__
    x = torch.randint(0, 100, (1, 8))
    with torch.no_grad():
        assert torch.isfinite(q(input_ids=x, labels=x).loss)
