"""Reward modeling: the Bradley-Terry loss from scratch, a reward model trained with trl's
``RewardTrainer``, scoring helpers, and a cached reward model later lessons load in seconds.

Bradley-Terry: a person prefers answer A to answer B with probability sigmoid(r(A) - r(B)).
Fitting r by maximum likelihood on preference pairs gives the loss
``-log sigmoid(r_chosen - r_rejected)``, averaged over pairs.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from datasets import Dataset
from torch import nn
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl import RewardConfig, RewardTrainer

from course_utils import cache, chat, data, devices, generation, judges, profiles, sft
from course_utils.configs import Recipe
from course_utils.rlhf.common import pad, quiet, trainer_args

DEFECTS = ("wrong", "unsafe", "rude", "rambling")


# ----------------------------------------------------------------------------- the loss
def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor,
                       margin: torch.Tensor | float | None = None) -> torch.Tensor:
    """Mean of -log sigmoid(r_chosen - r_rejected [- margin]) over the pairs of a batch."""
    r_chosen, r_rejected = torch.as_tensor(r_chosen, dtype=torch.float), torch.as_tensor(r_rejected, dtype=torch.float)
    if r_chosen.shape != r_rejected.shape:
        raise ValueError(f"chosen and rejected rewards must pair up one to one, got shapes "
                         f"{tuple(r_chosen.shape)} and {tuple(r_rejected.shape)}")
    diff = r_chosen - r_rejected - (0.0 if margin is None else torch.as_tensor(margin, dtype=torch.float))
    return -F.logsigmoid(diff).mean()


def preference_probability(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """The Bradley-Terry probability that the chosen answer is preferred."""
    return torch.sigmoid(torch.as_tensor(r_chosen, dtype=torch.float) - torch.as_tensor(r_rejected, dtype=torch.float))


# ----------------------------------------------------------------------------- the model
def make_reward_model(causal_lm, tokenizer):
    """A sequence-classification model (one scalar per sequence, read at the last non-pad
    token) with the body of ``causal_lm`` and a fresh, seeded scalar head."""
    if tokenizer.pad_token_id is None:
        raise ValueError("the tokenizer has no pad token: set tokenizer.pad_token first")
    config = copy_config(causal_lm.config, num_labels=1, pad_token_id=tokenizer.pad_token_id)
    rm = AutoModelForSequenceClassification.from_config(config)
    body = getattr(causal_lm, causal_lm.base_model_prefix)
    getattr(rm, rm.base_model_prefix).load_state_dict(body.state_dict())
    return rm.to(causal_lm.device)


def copy_config(config, **changes):
    """A copy of a model config with some fields changed."""
    new = config.__class__.from_dict(config.to_dict())
    for k, v in changes.items():
        setattr(new, k, v)
    return new


def _texts(prompts: Sequence[str], completions: Sequence[str], eos: str) -> list[str]:
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    return [p + (c if c.endswith(eos) else c + eos) for p, c in zip(prompts, completions, strict=True)]


@torch.no_grad()
def score(rm, tokenizer, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 32) -> torch.Tensor:
    """The reward model's score of each (prompt, completion); the end token is appended if
    missing, as ``RewardTrainer`` does."""
    was_training = rm.training
    rm.eval()
    texts = _texts(prompts, completions, tokenizer.eos_token)
    out = []
    for i in range(0, len(texts), batch_size):
        ids, mask = pad([tokenizer(t)["input_ids"] for t in texts[i:i + batch_size]], tokenizer.pad_token_id)
        out.append(rm(input_ids=ids.to(rm.device), attention_mask=mask.to(rm.device)).logits[:, 0].float().cpu())
    rm.train(was_training)
    return torch.cat(out)


@torch.no_grad()
def random_head_accuracies(rm, tokenizer, rows: Sequence[dict[str, Any]], n_heads: int = 64,
                           seed: int = 0, batch_size: int = 32) -> list[float]:
    """Held-out pairwise accuracy of ``n_heads`` fresh random scalar heads on ``rm``'s body.

    An untrained reward model is its body plus one random direction; chosen and rejected answers
    differ in similar ways, so one direction can rank most pairs right (or wrong) by luck. This
    is the distribution of that luck: what training must beat. ``rm``'s own head is left as is."""
    if n_heads < 1 or not rows:
        raise ValueError("random_head_accuracies needs n_heads >= 1 and at least one preference pair")
    old_head, was_training = rm.score, rm.training
    gen = torch.Generator().manual_seed(seed)
    heads = nn.Linear(old_head.in_features, n_heads, bias=False)
    with torch.no_grad():
        heads.weight.copy_(torch.randn(heads.weight.shape, generator=gen) * rm.config.initializer_range)
    rm.score = heads.to(old_head.weight.device, old_head.weight.dtype)
    rm.eval()
    try:
        prompts = [r["prompt"] for r in rows]
        sides = []
        for key in ("chosen", "rejected"):
            texts = _texts(prompts, [r[key] for r in rows], tokenizer.eos_token)
            out = []
            for i in range(0, len(texts), batch_size):
                ids, mask = pad([tokenizer(t)["input_ids"] for t in texts[i:i + batch_size]], tokenizer.pad_token_id)
                out.append(rm(input_ids=ids.to(rm.device), attention_mask=mask.to(rm.device)).logits.float().cpu())
            sides.append(torch.cat(out))  # (N, n_heads)
    finally:
        rm.score = old_head
        rm.train(was_training)
    return (sides[0] > sides[1]).float().mean(0).tolist()


def pairwise_eval(rm, tokenizer, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Held-out pairwise accuracy (chosen scored above rejected), overall and per defect kind,
    and the margins r_chosen - r_rejected."""
    if not rows:
        raise ValueError("pairwise_eval needs at least one preference pair")
    prompts = [r["prompt"] for r in rows]
    r_c = score(rm, tokenizer, prompts, [r["chosen"] for r in rows])
    r_r = score(rm, tokenizer, prompts, [r["rejected"] for r in rows])
    right = (r_c > r_r).float()
    per_defect = {}
    for d in sorted({r.get("defect", "all") for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.get("defect", "all") == d]
        per_defect[d] = float(right[idx].mean())
    return {"accuracy": float(right.mean()), "per_defect": per_defect, "n": len(rows),
            "margins": (r_c - r_r).tolist(), "chosen": r_c.tolist(), "rejected": r_r.tolist(),
            "loss": float(bradley_terry_loss(r_c, r_r))}


# ----------------------------------------------------------------------------- training with trl
def reward_config(output_dir: str, *, steps: int, batch_size: int, learning_rate: float, max_length: int = 256,
                  seed: int = 0, logging_steps: int = 10):
    """trl's ``RewardConfig`` with the course's defaults (CPU-friendly, nothing saved, no reports)."""
    return RewardConfig(output_dir=output_dir, max_steps=steps, per_device_train_batch_size=batch_size,
                        learning_rate=learning_rate, max_length=max_length, lr_scheduler_type="linear",
                        warmup_steps=max(1, steps // 10), logging_steps=logging_steps, seed=seed,
                        **trainer_args())


def train_reward_model(causal_lm, tokenizer, train_dataset, *, steps: int, batch_size: int, learning_rate: float,
                       max_length: int = 256, seed: int = 0, logging_steps: int = 10):
    """Train a reward model initialised from ``causal_lm`` with ``RewardTrainer`` on a
    prompt/chosen/rejected data set; returns ``(reward_model, trainer)``."""
    missing = {"prompt", "chosen", "rejected"} - set(train_dataset.column_names)
    if missing:
        raise ValueError(f"the preference data set lacks column(s) {sorted(missing)}; "
                         f"use course_utils.data.load('preferences', 'train')")
    torch.manual_seed(seed)
    rm = devices.for_training(make_reward_model(causal_lm, tokenizer))  # fp32 weights; autocast on a GPU
    out = tempfile.mkdtemp(prefix="course-rm-")
    args = reward_config(out, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                         max_length=max_length, seed=seed, logging_steps=logging_steps)
    keep = train_dataset.select_columns(["prompt", "chosen", "rejected"])
    trainer = quiet(RewardTrainer(model=rm, args=args, train_dataset=keep, processing_class=tokenizer))
    trainer.train()
    rm.eval()
    return rm, trainer


def bt_vs_trl(rm, tokenizer, rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The from-scratch Bradley-Terry loss next to ``RewardTrainer.compute_loss`` on one batch.

    ``same_batch``: trl's collated batch through the model once, trl's loss vs ours on those
    very rewards. ``pipeline``: our own tokenization and scoring of the same pairs vs trl's loss."""
    ds = Dataset.from_list([{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows])
    args = reward_config(tempfile.mkdtemp(prefix="course-rm-check-"), steps=1, batch_size=len(rows),
                         learning_rate=0.0)
    trainer = RewardTrainer(model=rm, args=args, train_dataset=ds, processing_class=tokenizer)
    batch = next(iter(trainer.get_train_dataloader()))
    rm.eval()
    with torch.no_grad():
        trl_loss = float(trainer.compute_loss(rm, dict(batch)))
        rewards = rm(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.squeeze(-1)
    r_c, r_r = rewards.chunk(2)
    ours = float(bradley_terry_loss(r_c, r_r))
    ev = pairwise_eval(rm, tokenizer, rows)
    return {"trl_loss": trl_loss, "scratch_loss": ours, "abs_diff": abs(trl_loss - ours),
            "pipeline_scratch_loss": ev["loss"], "pipeline_abs_diff": abs(trl_loss - ev["loss"])}


# ----------------------------------------------------------------------------- the cached model
#: Files a complete cached reward-model folder has.
CACHED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "course_info.json")
REBUILD_HINT = "delete that folder and call reward.load_reward_model() again to train it anew"


@dataclass(frozen=True, eq=False)
class RewardRecipe(Recipe):
    """The cached reward model's recipe, the keyword arguments of :func:`train_reward_model`;
    reads like a dict too (``**recipe``, ``recipe["steps"]``)."""

    SET_IN: ClassVar[str] = "lesson 06's config (course_utils/profiles.py: rm_steps, rm_batch_size, rm_lr, max_length)"
    steps: int               # optimizer steps
    batch_size: int          # preference pairs per step
    learning_rate: float     # peak learning rate (linear schedule)
    max_length: int          # tokens per prompt + answer
    seed: int                # seed of the head's init and the trainer

    def __post_init__(self) -> None:
        self._ints("steps", "batch_size", "max_length")
        self._ints("seed", low=0)
        self._numbers("learning_rate")


def cache_path(recipe: Mapping[str, Any], start_fingerprint: str) -> Path:
    """``paths.cache_dir()/reward-model-<hash>``: the hash covers the recipe, the training
    data and the starting model (:func:`course_utils.cache.fingerprint`), so a change in any of
    them trains a new one."""
    return cache.folder_for("reward-model", {"recipe": dict(recipe),
                                             "data": cache.file_hash(data.path_of("preferences", "train")),
                                             "start": start_fingerprint})


def default_recipe() -> RewardRecipe:
    """The reward-model recipe of the current profile (its lesson 06 config)."""
    cfg = profiles.get_profile(verbose=False).lesson("06")
    return RewardRecipe(steps=cfg.rm_steps, batch_size=cfg.rm_batch_size, learning_rate=cfg.rm_lr,
                        max_length=cfg.max_length, seed=cfg.seed)


def best_of_n(policy, tokenizer, rm, rows: Sequence[Mapping[str, Any]], n: int = 4, *, max_new_tokens: int = 24,
              seed: int = 0, batch_size: int = 64) -> dict[str, Any]:
    """Reward-model best-of-n: sample ``n`` answers per question (temperature 1) and keep the one
    the reward model scores highest. No training: alignment paid for at inference time, ``n``
    times the generation. Returns the judges' metrics of the kept answers, ``answers``, and
    ``single``: the metrics of the first sample alone (what one sampled answer scores)."""
    if n < 1:
        raise ValueError(f"n must be at least 1 answer per question, got {n}")
    rows = list(rows)
    if not rows:
        raise ValueError("best_of_n needs at least one question row")
    prompts = [chat.format_prompt(judges.question_of(r)) for r in rows]
    samples = generation.sample_answers(policy, tokenizer, prompts, n, seed=seed, max_new_tokens=max_new_tokens,
                                        batch_size=batch_size)
    scores = torch.stack([score(rm, tokenizer, prompts, s) for s in samples])  # (n, questions)
    best = scores.argmax(0).tolist()
    answers = [samples[b][i] for i, b in enumerate(best)]
    single = judges.evaluate_answers(rows, samples[0], n_samples=0)
    return {**judges.evaluate_answers(rows, answers, n_samples=0), "answers": answers,
            "single": {k: single[k] for k in ("judge_score", "task_accuracy", "safe_rate", "format_rate", "n")}}


def load_reward_model(recipe: Mapping[str, Any] | None = None, *, retrain: bool = False, verbose: bool = True):
    """The course's reward model, trained from the SFT model on the preference data, cached.

    Returns ``(reward_model, tokenizer, info)``; ``info`` has the cache path, whether it was
    trained now, and the training log. The first call trains it (a minute or two on a CPU).
    ``retrain=True`` trains a fresh one and returns it without touching the cached one."""
    recipe = dict(recipe or default_recipe())  # a plain dict: hashed, saved as JSON, shown in info
    start, tokenizer = sft.load_sft_model()
    path = cache_path(recipe, cache.fingerprint(start))

    def train() -> tuple[Any, dict[str, Any]]:
        if verbose:
            print(f"training the reward model ({recipe['steps']} steps)" + ("" if retrain else f" -> {path}"))
        rm, trainer = train_reward_model(start, tokenizer, data.load("preferences", "train"), **recipe)
        return rm.eval(), {"recipe": recipe, "log_history": trainer.state.log_history,
                           "train_seconds": trainer.state.log_history[-1].get("train_runtime")}

    if retrain:
        rm, info = train()
        return rm, tokenizer, {**info, "path": None, "trained_now": True}
    made: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        made["rm"], made["info"] = train()
        made["rm"].save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "course_info.json").write_text(json.dumps(made["info"], indent=1, default=str))

    cache.get_or_build(path, write, CACHED_FILES, REBUILD_HINT)
    if made:
        return made["rm"], tokenizer, {**made["info"], "path": str(path), "trained_now": True}
    if verbose:
        print(f"reward model loaded from cache: {path}")
    try:
        rm = AutoModelForSequenceClassification.from_pretrained(path).to(devices.device_of(start))
        tok = AutoTokenizer.from_pretrained(path)
        info = json.loads((path / "course_info.json").read_text())
    except Exception as e:  # a truncated or corrupt file
        raise cache.CacheError(f"the cached reward model {path} could not be loaded ({type(e).__name__}: {e}); "
                               f"{REBUILD_HINT}") from e
    return rm.eval(), tok, {**info, "path": str(path), "trained_now": False}


def as_reward_func(rm, tokenizer):
    """The reward model as a reward function for trl's ``GRPOTrainer`` / ``RLOOTrainer``
    (``f(prompts, completions, **kwargs) -> list[float]``), scoring exactly as :func:`score`
    does: the end token appended, as in training (trl decodes completions without it)."""

    def reward_model_score(prompts, completions, **kwargs) -> list[float]:
        return score(rm, tokenizer, list(prompts), list(completions)).tolist()

    return reward_model_score
