"""The course's chat format: one definition, used by data loaders, SFT, judges and RLHF.

A turn is ``<|user|>\\n{question}<|end|>\\n<|assistant|>\\n{answer}<|end|>``. The tiny model's
tokenizer has these markers as special tokens and ``<|end|>`` as its end-of-sequence token.
A Hub tokenizer does not know them (they would be split into plain-text pieces, and generation
would stop only at the model's own end token): :func:`add_chat_tokens` adds them the same way.
"""
from __future__ import annotations

USER = "<|user|>"
ASSISTANT = "<|assistant|>"
END = "<|end|>"
PAD = "<|pad|>"
SPECIAL_TOKENS = [END, PAD, USER, ASSISTANT]

#: The same format as a Jinja chat template, for ``tokenizer.apply_chat_template``.
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{{ '<|' + m['role'] + '|>\\n' + m['content'] + '<|end|>' }}"
    "{% if not loop.last or m['role'] != 'assistant' %}{{ '\\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


def format_prompt(question: str) -> str:
    """The text a model sees before it answers ``question``."""
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"question must be a non-empty string, got {question!r}")
    return f"{USER}\n{question.strip()}{END}\n{ASSISTANT}\n"


def format_completion(answer: str) -> str:
    """The answer as the model should write it, ending with the end-of-turn marker."""
    return f"{answer.strip()}{END}"


def strip_completion(generated: str) -> str:
    """The answer text of a generation: everything before the first end marker, trimmed."""
    return generated.split(END, 1)[0].replace(PAD, "").strip()


def add_chat_tokens(model, tokenizer) -> int:
    """Teach a Hub model and tokenizer the course's chat format, in place: the four markers
    become special tokens (one id each), ``<|end|>`` the end-of-sequence token and ``<|pad|>``
    the padding token; the embeddings grow to the new vocabulary (new rows start at the mean
    of the old ones) and generation stops at ``<|end|>``. Returns how many tokens were added
    (0 for a tokenizer that already speaks the format, like the tiny model's)."""
    added = tokenizer.add_special_tokens({"eos_token": END, "pad_token": PAD},
                                         replace_extra_special_tokens=False)
    added += tokenizer.add_tokens([USER, ASSISTANT], special_tokens=True)
    if model is not None and len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    if model is not None:
        for cfg in (model.config, getattr(model, "generation_config", None)):
            if cfg is not None:
                cfg.eos_token_id, cfg.pad_token_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    return added
