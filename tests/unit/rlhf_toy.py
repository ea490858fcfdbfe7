"""A toy world for the RLHF unit tests (seconds, not minutes): a word-level tokenizer
with the course's chat markers and tiny random Llama models (policy, reward/value shapes)."""
from __future__ import annotations

import torch
from tokenizers import Tokenizer, pre_tokenizers
from tokenizers.models import WordLevel
from transformers import LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification, PreTrainedTokenizerFast

from course_utils import chat

WORDS = ("yes no good bad maybe the a crop soil water rain sun seed leaf root plant grow dry wet "
         "field farm cow hen egg milk corn rice bean wheat").split()


def toy_tokenizer():
    """A word-level fast tokenizer: chat markers as special tokens, ``<|end|>`` as end token."""
    vocab = {t: i for i, t in enumerate([*chat.SPECIAL_TOKENS, "<unk>", *WORDS])}
    tok = Tokenizer(WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=chat.END, pad_token=chat.PAD, unk_token="<unk>",
                                   additional_special_tokens=[chat.USER, chat.ASSISTANT])
    fast.chat_template = chat.CHAT_TEMPLATE
    return fast


def _config(tokenizer, **overrides):
    kw = dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=128,
              pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
              tie_word_embeddings=False)
    kw.update(overrides)
    return LlamaConfig(**kw)


def toy_policy(tokenizer, seed: int = 0):
    """A tiny random causal LM (Llama architecture, ~20k parameters)."""
    torch.manual_seed(seed)
    return LlamaForCausalLM(_config(tokenizer)).eval()


def toy_scorer(tokenizer, seed: int = 0):
    """A tiny random sequence-classification model (one scalar): a reward or value model's shape."""
    torch.manual_seed(seed)
    return LlamaForSequenceClassification(_config(tokenizer, num_labels=1)).eval()


def toy_prompts(n: int = 32) -> list[str]:
    """``n`` chat-formatted prompts made of the toy words."""
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        words = [WORDS[int(i)] for i in torch.randint(len(WORDS), (3,), generator=g)]
        out.append(chat.format_prompt(" ".join(words)))
    return out
