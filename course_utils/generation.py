"""Every way the course gets text out of a model, in one module.

* :func:`sample`: token level. Left-padded prompt ids in; prompt + answer ids, a mask that ends
  at each answer's first end token, and the prompt width out. PPO's rollouts and the KL
  estimates use it.
* :func:`answer`: chat prompts in, answer strings out (greedy unless ``do_sample``); every
  evaluation of the course goes through it (:mod:`course_utils.evaluation`).
* :func:`answer_questions`: raw questions, put in the chat format first.
* :func:`continue_text`: free text after a prompt, with temperature and top-k (lesson 01).

Inputs always go to the model's device (:mod:`course_utils.devices`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from course_utils import chat, devices


def end_token_ids(tokenizer) -> list[int]:
    """The ids generation stops at: the end-of-sequence token and ``<|end|>`` (one id on the tiny
    tokenizer, where they are the same; both on a tokenizer that keeps its own eos)."""
    ids = []
    if tokenizer.eos_token_id is not None:
        ids.append(int(tokenizer.eos_token_id))
    end = tokenizer.convert_tokens_to_ids(chat.END)
    if isinstance(end, int) and end != tokenizer.unk_token_id and end not in ids:
        ids.append(end)
    if not ids:
        raise ValueError("the tokenizer has no eos token and no '<|end|>' token: generation could not stop; "
                         "use chat.add_chat_tokens(model, tokenizer)")
    return ids


def first_eos_mask(responses: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 on every response token up to and including the first end-of-sequence token, 0 after.
    A response with no end token keeps all of its tokens."""
    is_eos = responses == eos_id
    after = (is_eos.long().cumsum(-1) - is_eos.long()) > 0  # strictly after the first eos
    return (~after).long()


def pad(seqs: Sequence[Sequence[int]], pad_id: int, side: str = "right") -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token-id lists into ``(input_ids, attention_mask)``; ``side`` is "left" (for
    generation: every prompt ends at the same column) or "right"."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if not seqs or any(len(s) == 0 for s in seqs):
        raise ValueError("pad needs a non-empty list of non-empty sequences")
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        sl = slice(width - len(s), width) if side == "left" else slice(0, len(s))
        ids[i, sl] = torch.as_tensor(list(s), dtype=torch.long)
        mask[i, sl] = 1
    return ids, mask


@torch.no_grad()
def sample(model, tokenizer, prompt_ids: Sequence[Sequence[int]], max_new_tokens: int, *,
           do_sample: bool = True, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Generate responses to a batch of tokenized prompts.

    Returns ``(query_response_ids, attention_mask, context_len)``: prompts left-padded to
    ``context_len``, responses after them, everything after a response's first end token padded."""
    ids, mask = pad(prompt_ids, tokenizer.pad_token_id, side="left")
    dev = devices.device_of(model)
    ids, mask = ids.to(dev), mask.to(dev)
    gen_kwargs = dict(do_sample=do_sample, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                      eos_token_id=tokenizer.eos_token_id)
    if do_sample:
        gen_kwargs.update(temperature=temperature, top_k=0, top_p=1.0)
    out = model.generate(input_ids=ids, attention_mask=mask, **gen_kwargs)
    context_len = ids.shape[1]
    resp = out[:, context_len:]
    resp_mask = first_eos_mask(resp, tokenizer.eos_token_id)
    resp = resp.masked_fill(resp_mask == 0, tokenizer.pad_token_id)
    return torch.cat([ids, resp], 1), torch.cat([mask, resp_mask], 1), context_len


def answer(model, tokenizer, prompts: Iterable[str], *, max_new_tokens: int = 24, batch_size: int = 16,
           do_sample: bool = False, temperature: float = 1.0) -> list[str]:
    """The model's answer to each chat-formatted prompt, up to its end marker (greedy by default),
    in left-padded batches of ``batch_size``."""
    prompts = [str(p) for p in prompts]
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    end_ids = end_token_ids(tokenizer)
    old_side, set_pad = tokenizer.padding_side, tokenizer.pad_token is None
    was_training = model.training
    tokenizer.padding_side = "left"
    if set_pad:
        tokenizer.pad_token = tokenizer.eos_token
    sampling = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if do_sample else dict(do_sample=False)
    answers: list[str] = []
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(prompts), batch_size):
                enc = tokenizer(prompts[i:i + batch_size], return_tensors="pt", padding=True)
                enc = enc.to(devices.device_of(model))
                out = model.generate(**enc, max_new_tokens=max_new_tokens, eos_token_id=end_ids,
                                     pad_token_id=tokenizer.pad_token_id, **sampling)
                for seq in out[:, enc["input_ids"].shape[1]:].tolist():
                    cut = next((j for j, t in enumerate(seq) if t in end_ids), len(seq))
                    answers.append(chat.strip_completion(tokenizer.decode(seq[:cut], skip_special_tokens=True)))
    finally:
        tokenizer.padding_side = old_side
        if set_pad:
            tokenizer.pad_token = None
        model.train(was_training)
    return answers


def sample_answers(model, tokenizer, prompts: Sequence[str], k: int, *, seed: int = 0, max_new_tokens: int = 24,
                   batch_size: int = 64) -> list[list[str]]:
    """``k`` sampled answers (temperature 1) to each chat-formatted prompt, seeded: ``out[j][i]`` is
    prompt i's j-th answer. What on-policy pairs (lesson 08) and best-of-n (lesson 09) choose from."""
    if k < 1:
        raise ValueError(f"k must be at least 1 answer per prompt, got {k}")
    torch.manual_seed(seed)
    return [answer(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size, do_sample=True)
            for _ in range(k)]


def answer_questions(model, tokenizer, questions: Iterable[str], **kwargs) -> list[str]:
    """:func:`answer` for raw questions (each put in the course's chat format first)."""
    return answer(model, tokenizer, [chat.format_prompt(str(q)) for q in questions], **kwargs)


@torch.no_grad()
def continue_text(model, tokenizer, prompt: str = "", max_new_tokens: int = 60, temperature: float = 0.8,
                  top_k: int | None = 40, seed: int = 0, n: int = 1) -> list[str]:
    """``n`` continuations of ``prompt`` (an empty prompt starts a new document after the end token).

    temperature 0 means greedy decoding; ``top_k`` keeps only the k likeliest next tokens."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1 or None, got {top_k}")
    ids = [tokenizer.eos_token_id] + tokenizer(prompt, add_special_tokens=False)["input_ids"]
    x = torch.tensor([ids] * n, device=devices.device_of(model))
    torch.manual_seed(seed)
    if temperature > 0:
        kwargs = dict(do_sample=True, temperature=temperature, top_k=top_k or 0)
    else:
        kwargs = dict(do_sample=False)
    was_training = model.training
    model.eval()
    out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=max_new_tokens,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         top_p=1.0, **kwargs)
    model.train(was_training)
    return [prompt + tokenizer.decode(row[len(ids):], skip_special_tokens=True) for row in out]
