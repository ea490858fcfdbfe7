"""The course's chat format: one definition, used by data loaders, SFT, judges and RLHF.

A turn is ``<|user|>\\n{question}<|end|>\\n<|assistant|>\\n{answer}<|end|>``. The tiny model's
tokenizer has these markers as special tokens and ``<|end|>`` as its end-of-sequence token;
for Hub models they are plain text, which works the same way.
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
