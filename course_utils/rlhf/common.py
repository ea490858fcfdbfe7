"""Small tensor helpers shared by the reward model, PPO and DPO code: masked statistics,
positions, per-token log-probabilities, and the trainer settings they share. Sampling lives in
:mod:`course_utils.generation`."""
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from course_utils import devices
from course_utils.generation import pad  # noqa: F401  (re-exported: reward, dpo and ppo pad with it)
from course_utils.progress import quiet  # noqa: F401  (re-exported: the trl trainers of lessons 06-08)


def trainer_args() -> dict:
    """Arguments every trl trainer of the course shares: the GPU when there is one, with mixed
    precision by :func:`course_utils.devices.trainer_precision` (bf16 only where native, fp16
    otherwise), fp32 on a CPU; no gradient checkpointing (the models are small), nothing saved,
    no tracking service."""
    return dict(**devices.trainer_precision(), activation_checkpointing=False,
                save_strategy="no", report_to="none", disable_tqdm=True, dataloader_num_workers=0)


def fresh_copy(model):
    """A trainable deep copy of a model. trl's trainers patch ``forward`` on the models they are
    given (a closure over the original model), and ``copy.deepcopy`` would keep calling the
    original's weights; the copy gets its class's own ``forward`` back. Its weights are fp32
    (:func:`course_utils.devices.for_training`)."""
    new = copy.deepcopy(model)
    for m in new.modules():
        m.__dict__.pop("forward", None)
    for p in new.parameters():
        p.requires_grad_(True)
    return devices.for_training(new)


# ----------------------------------------------------------------------------- masked statistics
def _check_mask(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if x.shape != mask.shape:
        raise ValueError(f"values and mask must have the same shape, got {tuple(x.shape)} and {tuple(mask.shape)}")
    return mask.to(x.dtype)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``x`` over the positions where ``mask`` is 1 (all of them, or along ``dim``)."""
    m = _check_mask(x, mask)
    if dim is None:
        return (x * m).sum() / m.sum().clamp(min=1.0)
    return (x * m).sum(dim) / m.sum(dim).clamp(min=1.0)


def masked_var(x: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Variance of ``x`` over the masked positions (Bessel-corrected by default, as in PyTorch)."""
    m = _check_mask(x, mask)
    n = m.sum()
    if n < 2:
        raise ValueError("masked_var needs at least two unmasked values")
    var = masked_mean((x - masked_mean(x, mask)) ** 2, mask)
    return var * n / (n - 1) if unbiased else var


def masked_whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """Normalise ``x`` to unit variance (and zero mean if ``shift_mean``) over the masked
    positions; masked-out positions come back as 0."""
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        out = out + mean
    return out * mask.to(x.dtype)


# ----------------------------------------------------------------------------- positions
def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions that start at 0 on the first real token, so left padding does not shift them."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


# ----------------------------------------------------------------------------- log-probabilities
def gather_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log p(token) under ``logits`` at every position: (B, T, V), (B, T) -> (B, T)."""
    return torch.gather(F.log_softmax(logits.float(), dim=-1), 2, tokens.unsqueeze(-1)).squeeze(-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the next-token distribution at every position: (B, T, V) -> (B, T)."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def forward_response(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, context_len: int,
                     temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a causal LM on ``[prompt | response]`` (prompt left-padded to ``context_len``) and
    return the response tokens' log-probs and the logits that predicted them, both (B, R)."""
    # logits only from the last prompt position on (the ones that predict the response): the
    # vocabulary projection of the prompt's other positions would be thrown away
    out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids(attention_mask),
                use_cache=False, logits_to_keep=input_ids.shape[1] - context_len + 1)
    logits = out.logits[:, :-1] / (temperature + 1e-7)                       # (B, R, V)
    return gather_logprobs(logits, input_ids[:, context_len:]), logits


def tokenize_pair(tokenizer, prompt: str, completion: str) -> tuple[list[int], list[int]]:
    """Token ids of a prompt and of its completion, split where ``prompt`` and
    ``prompt + completion`` stop agreeing (the way trl's trainers split them)."""
    p = tokenizer(prompt)["input_ids"]
    pc = tokenizer(prompt + completion)["input_ids"]
    n = 0
    while n < min(len(p), len(pc)) and p[n] == pc[n]:
        n += 1
    if n == len(pc):
        raise ValueError(f"completion {completion!r} adds no tokens after the prompt")
    return pc[:n], pc[n:]


def completion_logps(model, tokenizer, prompts: Sequence[str], completions: Sequence[str],
                     batch_size: int = 16, grad: bool = False) -> torch.Tensor:
    """Sum of log p(completion | prompt) for each pair: the sequence log-likelihood DPO uses
    (no gradient unless ``grad=True``)."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    outs = []
    with torch.set_grad_enabled(grad):
        for i in range(0, len(prompts), batch_size):
            batch = zip(prompts[i:i + batch_size], completions[i:i + batch_size], strict=True)
            pairs = [tokenize_pair(tokenizer, p, c) for p, c in batch]
            ids, mask = pad([p + c for p, c in pairs], tokenizer.pad_token_id, side="right")
            comp = torch.zeros_like(mask)
            for j, (p, c) in enumerate(pairs):
                comp[j, len(p): len(p) + len(c)] = 1
            logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device), use_cache=False).logits
            lp = gather_logprobs(logits[:, :-1], ids[:, 1:].to(model.device))
            outs.append((lp * comp[:, 1:].to(lp.device)).sum(-1))
    return torch.cat(outs)
