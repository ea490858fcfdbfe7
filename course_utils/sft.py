"""The course's supervised fine-tuning (SFT) recipe (lesson 03), reused by lessons 04-09.

* :func:`train_sft` trains with trl's ``SFTTrainer`` on prompt/completion rows, with the loss
  on the completion only; ``peft_config`` turns it into LoRA / QLoRA (lessons 04, 05).
  :func:`recipe` gives its settings (an :class:`SFTRecipe`) from lesson 03's config.
* :func:`masked_example` shows what the trainer feeds the model: ids and labels with the
  prompt masked (-100), the way lesson 03 explains it.
* :func:`general_perplexity` measures forgetting on the general corpus.
* :func:`load_sft_model` returns the full fine-tuned base model, trained with the lesson 03
  recipe on first call and cached (safetensors) under ``paths.cache_dir()``, so later lessons
  can start alone. Its training figures sit next to it in ``sft_stats.json``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import torch
from datasets import Dataset, concatenate_datasets
from peft import LoraConfig, PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer
from trl import SFTConfig, SFTTrainer

from course_utils import cache, chat, data, devices, generation, judges, memory, models, paths, pretrain, profiles
from course_utils import seed as seed_mod
from course_utils.configs import Recipe
from course_utils.progress import quiet


@dataclass(frozen=True, eq=False)
class SFTRecipe(Recipe):
    """Lesson 03's SFT recipe, the keyword arguments of :func:`train_sft`; reads like a dict too
    (``train_sft(..., **recipe)``, ``recipe["steps"]``, ``{**recipe, "steps": 40}``)."""

    SET_IN: ClassVar[str] = "lesson 03's config (course_utils/profiles.py) or the overrides given to sft.recipe()"
    steps: int               # optimizer steps
    batch_size: int          # rows per step
    lr: float                # peak learning rate (cosine schedule)
    weight_decay: float      # AdamW weight decay
    seq_len: int             # tokens per row (longer rows are cut)
    warmup_ratio: float      # fraction of the steps spent warming up
    seed: int                # seed of the trainer and its data order

    def __post_init__(self) -> None:
        self._ints("steps", "batch_size", "seq_len")
        self._ints("seed", low=0)
        self._numbers("lr")
        self._numbers("weight_decay", strict=False)
        self._fractions("warmup_ratio")


#: The recipe's settings, in order.
RECIPE_KEYS = tuple(f.name for f in fields(SFTRecipe))
STATS_FILE = "sft_stats.json"
CACHE_VERSION = 1
#: Files a complete cached SFT model folder has.
CACHED_FILES = ("config.json", "model.safetensors", "tokenizer.json", STATS_FILE)


class SFTCacheError(cache.CacheError):
    """The cached SFT model is missing files or cannot be loaded."""


# --------------------------------------------------------------------------- data
def sft_dataset(split: str = "train", n: int | None = None):
    """The instruction data as trl wants it: ``prompt`` / ``completion`` columns only, in the chat format."""

    ds = data.load("instructions", split).select_columns(["prompt", "completion"])
    if n is not None:
        if n < 1:
            raise ValueError(f"n must be a positive number of rows, got {n}")
        ds = ds.select(range(min(n, len(ds))))
    return ds


def rehearsal_mix(task_ds, n_general: int, seed: int = 0, max_chars: int = 400):
    """Rehearsal: add ``n_general`` general-corpus texts to the task rows (empty prompt, the text as
    completion, so the loss covers all of it), shuffled together. Keeps the model practising the
    general text it would otherwise forget."""
    if n_general < 0:
        raise ValueError(f"n_general must be >= 0, got {n_general}")
    texts = [r["text"][:max_chars] for r in data.load_rows("general", "train")[:n_general]]
    general = Dataset.from_list([{"prompt": "", "completion": t + chat.END} for t in texts])
    return concatenate_datasets([task_ds.select_columns(["prompt", "completion"]), general]).shuffle(seed=seed)


def masked_example(tokenizer, prompt: str, completion: str) -> dict[str, list]:
    """Token ids of prompt + completion and their labels, with the prompt positions set to -100
    (ignored by the loss): the model is graded only on the answer it should write."""
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    c = tokenizer(completion, add_special_tokens=False)["input_ids"]
    ids = p + c
    return {"input_ids": ids, "labels": [-100] * len(p) + c,
            "tokens": tokenizer.convert_ids_to_tokens(ids)}


def collate(tokenizer, rows: list[dict[str, str]], max_length: int = 64, device=None) -> dict[str, torch.Tensor]:
    """A right-padded training batch of prompt/completion rows with masked labels (-100 on the
    prompt and padding): the batch a plain PyTorch SFT loop, or a memory measurement, uses.
    ``device`` (a device or the model the batch feeds) moves it there."""
    if not rows:
        raise ValueError("no rows to collate")
    exs = [masked_example(tokenizer, r["prompt"], r["completion"]) for r in rows]
    length = min(max_length, max(len(e["input_ids"]) for e in exs))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = torch.full((len(exs), length), pad, dtype=torch.long)
    labels = torch.full((len(exs), length), -100, dtype=torch.long)
    mask = torch.zeros((len(exs), length), dtype=torch.long)
    for i, e in enumerate(exs):
        n = min(length, len(e["input_ids"]))
        ids[i, :n] = torch.tensor(e["input_ids"][:n])
        labels[i, :n] = torch.tensor(e["labels"][:n])
        mask[i, :n] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    return devices.to_device(batch, device) if device is not None else batch


# --------------------------------------------------------------------------- training
@dataclass
class SFTRun:
    """What one fine-tuning run produced."""

    model: Any
    train_seconds: float
    log_history: list[dict] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def losses(self) -> dict[str, tuple[list, list]]:
        """``{"train": (steps, losses), "validation": (steps, losses)}`` from the trainer's log."""
        out = {}
        for key, name in (("loss", "train"), ("eval_loss", "validation")):
            pts = [(e["step"], e[key]) for e in self.log_history if key in e]
            if pts:
                out[name] = ([s for s, _ in pts], [v for _, v in pts])
        return out


def recipe(profile=None, **overrides: Any) -> SFTRecipe:
    """Lesson 03's recipe (steps, batch_size, lr, weight_decay, seq_len, warmup_ratio, seed) from
    the profile, with ``overrides`` applied (and checked)."""

    profile = profile or profiles.get_profile(verbose=False)
    unknown = set(overrides) - set(RECIPE_KEYS)
    if unknown:
        raise ValueError(f"unknown recipe setting(s) {sorted(unknown)}; known: {', '.join(RECIPE_KEYS)}")
    cfg = profile.lesson("03")
    return SFTRecipe(**{**{k: getattr(cfg, k) for k in RECIPE_KEYS}, **overrides})


def completion_loss(model, batch: Mapping[str, torch.Tensor],
                    num_items: int | torch.Tensor | None = None) -> torch.Tensor:
    """The causal LM loss of ``batch`` (mean cross-entropy over its labelled tokens; -100 elsewhere),
    the figure ``model(**batch).loss`` gives, with the vocabulary projection applied only where a
    label is: a course batch labels about a quarter of its positions (the rest is prompt and
    padding), and projecting every position onto the vocabulary cost about a tenth of a tiny step.
    ``num_items``: divide the summed loss by it instead (the Trainer's count for the whole batch).
    One device: ``model`` is the model itself, not a multi-GPU wrapper (the trainer below checks)."""
    lm = model.get_base_model() if isinstance(model, PeftModel) else model
    hidden = lm.get_decoder()(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask"),
                              position_ids=batch.get("position_ids")).last_hidden_state  # (B, T, d)
    targets = batch["labels"][:, 1:]                                   # (B, T-1): position t predicts token t+1
    keep = targets != -100                                             # (B, T-1)
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep])          # (n, V): only the labelled positions
    loss = torch.nn.functional.cross_entropy(logits.float(), targets[keep], reduction="sum")
    return loss / (num_items if num_items is not None else keep.sum())


def _plain_lm_head(model) -> bool:
    """Whether :func:`completion_loss` computes ``model``'s own loss: its logits are the output
    embedding of the decoder's last hidden state (not a prompt-tuned model, whose virtual tokens
    its PeftModel adds, nor one whose logits are scaled or capped), and ``model`` is the model itself
    (a multi-GPU wrapper such as ``DataParallel`` gets the Trainer's own loss)."""
    if not hasattr(model, "config"):
        return False
    if isinstance(model, PeftModel):
        if model.peft_config[model.active_adapter].is_prompt_learning:
            return False
        model = model.get_base_model()
    cfg = model.config
    return (getattr(cfg, "final_logit_softcapping", None) is None and getattr(cfg, "logit_scale", None) is None
            and getattr(cfg, "logits_scaling", None) is None and model.get_decoder() is not model)


class PlainLossSFTTrainer(SFTTrainer):
    """trl's ``SFTTrainer`` with the model's own loss (mean cross-entropy over the completion
    tokens, the same figure): trl's fused loss also logs entropy and token accuracy, which the
    course never reads, and made every step of the course's models about 20% slower on a CPU.
    Training steps compute it with :func:`completion_loss` (logits only where the loss reads them);
    evaluation, which may want the logits, with the model's own forward."""

    _plain_head: tuple[Any, bool] | None = None  # (model, whether its loss is completion_loss's), decided once

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self._plain_head is None or self._plain_head[0] is not model:
            self._plain_head = (model, _plain_lm_head(model))
        if return_outputs or "labels" not in inputs or not self._plain_head[1]:
            return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)
        return completion_loss(model, inputs, num_items_in_batch)


#: Trainer-ready (tokenized, masked) training sets of recent runs, by rows and sequence length:
#: a lesson's many runs on the same rows tokenize them once (about 3 s each time on a CPU).
_TOKENIZED: dict[tuple[str, int], tuple[Any, Any]] = {}


def train_sft(model, tokenizer, train_dataset, *, steps: int, batch_size: int, lr: float,
              weight_decay: float = 0.0, seq_len: int = 64, warmup_ratio: float = 0.05, seed: int = 0,
              eval_dataset=None, eval_steps: int | None = None, logging_steps: int | None = None,
              peft_config=None, gradient_checkpointing: bool = False, num_epochs: float | None = None) -> SFTRun:
    """Fine-tune ``model`` with trl's ``SFTTrainer`` on prompt/completion rows; loss on the
    completion only. ``peft_config`` (a peft ``LoraConfig``...) trains adapters instead of all
    weights. ``num_epochs`` (instead of ``steps``) trains for whole passes over the data.
    ``logging_steps`` defaults to every 10 steps (every step of a shorter run, so it logs at all).
    Nothing is saved to disk; the trained model is returned in :class:`SFTRun`, with the logs
    (``run.log_history``, plotted by ``plotting.loss_curves(run.losses())``) rather than printed."""

    for name, v in (("steps", steps), ("batch_size", batch_size)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    missing = {"prompt", "completion"} - set(train_dataset.column_names)
    if missing:
        raise ValueError(f"train_dataset needs 'prompt' and 'completion' columns (missing {sorted(missing)}); "
                         f"use sft.sft_dataset()")
    logging_steps = logging_steps or min(10, steps)
    if peft_config is None:
        devices.for_training(model)  # trained weights are fp32; speed comes from autocast (devices.py)
    out_dir = tempfile.mkdtemp(prefix="sft-", dir=_scratch_dir())
    args = SFTConfig(
        output_dir=out_dir, max_steps=-1 if num_epochs else steps, num_train_epochs=num_epochs or 1,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=64, learning_rate=lr,
        weight_decay=weight_decay, warmup_steps=int(warmup_ratio * steps), lr_scheduler_type="cosine",
        max_length=seq_len, completion_only_loss=True, packing=False, seed=seed, data_seed=seed,
        logging_steps=logging_steps, eval_strategy="steps" if eval_dataset is not None else "no",
        eval_steps=eval_steps or max(1, steps // 10), save_strategy="no", report_to="none",
        **devices.trainer_precision(), disable_tqdm=True, dataloader_num_workers=0,
        dataset_num_proc=None,
        # trl turns (gradient) checkpointing on by default; the course's models are small, and
        # recomputing every layer's forward in the backward pass made a tiny step 1.75x slower
        activation_checkpointing=gradient_checkpointing,
    )
    key = (hashlib.sha256(json.dumps(train_dataset.to_dict(), sort_keys=True).encode()).hexdigest(), seq_len)
    tokenized = _TOKENIZED.get(key)
    if tokenized is not None and tokenized[0] is tokenizer:
        train_dataset = tokenized[1]  # already tokenized with this tokenizer: trl skips that step
    trainer = quiet(PlainLossSFTTrainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                               processing_class=tokenizer, peft_config=peft_config))  # logs kept, not printed
    _TOKENIZED[key] = (tokenizer, trainer.train_dataset)
    while len(_TOKENIZED) > 8:
        _TOKENIZED.pop(next(iter(_TOKENIZED)))
    if peft_config is not None:
        # the adapters in fp32, the frozen base in its own dtype. trl casts a quantized model's
        # adapters to bf16 (the QLoRA paper's choice); the course keeps its one rule instead
        # (lesson 05, seed 0: QLoRA 94.2% with fp32 adapters, 99.6% with bf16; LoRA 94.6%).
        devices.for_training(trainer.model)
    t0 = time.perf_counter()
    try:
        trainer.train()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    seconds = time.perf_counter() - t0
    trained = trainer.model
    trained.eval()
    settings = dict(steps=steps, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seq_len=seq_len,
                    warmup_ratio=warmup_ratio, seed=seed, num_epochs=num_epochs)
    return SFTRun(model=trained, train_seconds=seconds, log_history=list(trainer.state.log_history),
                  settings=settings)


def _scratch_dir() -> Path:
    d = paths.build_dir() / "tmp"
    d.mkdir(parents=True, exist_ok=True)
    return d


def measure_memory(model, tokenizer, rows: list[dict[str, str]], max_length: int = 64) -> dict[str, float]:
    """Training memory of one step on ``rows`` (a batch), measured by :mod:`course_utils.memory`:
    weights, gradients, AdamW state and the activations autograd saves, counted tensor by tensor."""

    return memory.measure_training_memory(model, collate(tokenizer, rows, max_length))


def run_memory(run: SFTRun, tokenizer, rows) -> float:
    """Peak training memory (MB) of one step of ``run`` on a batch shaped like its own: the first
    ``batch_size`` of ``rows`` (its training data), cut at its ``seq_len``."""
    batch = [rows[i] for i in range(min(len(rows), run.settings["batch_size"]))]
    return measure_memory(run.model, tokenizer, batch, run.settings["seq_len"])["total_mb"]


# --------------------------------------------------------------------------- prompting
def few_shot_prompt(shots: list[dict[str, str]], question: str) -> str:
    """A few solved examples as earlier chat turns, then the question: prompting, no training."""
    turns = "".join(chat.format_prompt(s["question"]) + chat.format_completion(s["answer"]) + "\n" for s in shots)
    return turns + chat.format_prompt(question)


def few_shot_evaluate(model, tokenizer, k: int = 3, n: int | None = None, max_new_tokens: int = 24) -> dict[str, Any]:
    """The base model prompted with up to ``k`` solved training examples (same relation, other
    crops) before each held-out question, graded by the course's judges: the baseline that needs
    no training. A prompt keeps only the shots that leave room for the answer in the model's
    context window (the tiny model has 128 positions and never saw one beyond them);
    ``shots_used`` is the mean number kept."""

    rows = data.load_rows("instructions", "test", chat_format=False)[:n]
    by_relation: dict[str, list[dict[str, str]]] = {}
    for r in data.load_rows("instructions", "train", chat_format=False):
        by_relation.setdefault(r["relation"], []).append({"question": r["prompt"], "answer": r["completion"]})
    window = getattr(model.config, "max_position_embeddings", None) or 10**9
    prompts, used = [], []
    for r in rows:  # shots of the same kind of question (another crop): prompting at its best
        shots = by_relation[r["relation"]][:k]
        prompt = few_shot_prompt(shots, judges.question_of(r))
        while shots and len(tokenizer(prompt)["input_ids"]) + max_new_tokens > window:
            shots = shots[1:]
            prompt = few_shot_prompt(shots, judges.question_of(r))
        prompts.append(prompt)
        used.append(len(shots))
    out = judges.evaluate_answers(rows, generation.answer(model, tokenizer, prompts, batch_size=32,
                                                          max_new_tokens=max_new_tokens))
    out["shots_used"] = sum(used) / max(1, len(used))
    return out


# --------------------------------------------------------------------------- forgetting
def _first_blocks(tokenizer, texts: list[str], n_blocks: int, block_size: int) -> torch.Tensor:
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
    return pretrain.pack_blocks(pretrain.encode_documents(tokenizer, texts), block_size)[:n_blocks]


def general_blocks(tokenizer, n_blocks: int = 64, block_size: int = 128) -> torch.Tensor:
    """The first ``n_blocks`` packed blocks of the general corpus' validation split."""
    return _first_blocks(tokenizer, [r["text"] for r in data.load_rows("general", "validation")], n_blocks, block_size)


def task_blocks(tokenizer, n_blocks: int = 8, block_size: int = 128, split: str = "validation") -> torch.Tensor:
    """Packed blocks of the task's chat-formatted questions and answers (``split`` of the
    instruction data): the task's counterpart of :func:`general_blocks`."""
    texts = [r["prompt"] + r["completion"] for r in data.load_rows("instructions", split)]
    return _first_blocks(tokenizer, texts, n_blocks, block_size)


def general_perplexity(model, tokenizer, n_blocks: int = 64, block_size: int = 128) -> float:
    """Perplexity on held-out general text: it rises when fine-tuning makes the model forget."""

    block_size = min(block_size, getattr(model.config, "max_position_embeddings", block_size))
    return pretrain.perplexity(model, general_blocks(tokenizer, n_blocks, block_size))


# --------------------------------------------------------------------------- the cached SFT model
def sft_cache_path(base_model, profile=None, recipe_settings: Mapping[str, Any] | None = None) -> Path:
    """Where the SFT model of this base model, data and recipe is (or would be) cached."""

    r = recipe_settings or recipe(profile)
    files = [data.path_of("instructions", split) for split in ("train", "validation")]
    return cache.folder_for("sft-model", {"v": CACHE_VERSION, "base": cache.fingerprint(base_model),
                                          "data": cache.file_hash(*files), "recipe": {k: r[k] for k in RECIPE_KEYS}})


def save_sft_model(model, tokenizer, target: Path, stats: dict[str, Any]) -> Path:
    """Save atomically (:func:`course_utils.cache.write_atomically`): into a temporary folder next
    to ``target``, then renamed. If ``target`` exists already (another process got there first),
    keep it. Never overwrites anything."""
    def write(tmp: Path) -> None:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / STATS_FILE).write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n")

    return cache.write_atomically(Path(target), write, CACHED_FILES)


def load_sft_stats(path: Path) -> dict[str, Any]:
    """The training figures saved next to a cached SFT model."""
    f = Path(path) / STATS_FILE
    try:
        return json.loads(f.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SFTCacheError(f"cannot read {f} ({e}); delete the folder {path} and call "
                            f"sft.load_sft_model() again to rebuild it") from e


def _load_cached(path: Path, device: str | torch.device = "cpu"):

    cache.check_complete(path, CACHED_FILES, "delete that folder and call sft.load_sft_model() again to rebuild it",
                         SFTCacheError)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, use_safetensors=True, trust_remote_code=False)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except Exception as e:  # a truncated or corrupt file
        raise SFTCacheError(f"the cached SFT model {path} could not be loaded ({type(e).__name__}: {e}); "
                            f"delete that folder and call sft.load_sft_model() again to rebuild it") from e
    tokenizer.chat_template = tokenizer.chat_template or chat.CHAT_TEMPLATE
    return model.to(device).eval(), tokenizer


def build_sft_model(base_model, tokenizer, profile=None, eval_dataset=None, eval_steps: int | None = None,
                    **overrides: Any) -> SFTRun:
    """Full fine-tuning of ``base_model`` (in place) with lesson 03's recipe."""

    r = recipe(profile, **overrides)
    seed_mod.seed_everything(r["seed"])
    return train_sft(base_model, tokenizer, sft_dataset("train"), eval_dataset=eval_dataset,
                     eval_steps=eval_steps, **r)


def stats_of(run: SFTRun, model, tokenizer, profile=None, evaluation: dict | None = None,
             memory_mb: dict | None = None) -> dict[str, Any]:
    """The figures stored next to the cached model: training time, measured memory, accuracy,
    perplexity (``evaluation`` / ``memory_mb`` reuse figures already measured)."""

    profile = profile or profiles.get_profile(verbose=False)
    cfg = profile.lesson("03")
    r = run.settings
    rows = [dict(x) for x in sft_dataset("train", n=r["batch_size"])]
    mem = memory_mb or measure_memory(model, tokenizer, rows, r["seq_len"])
    if evaluation is None:
        from course_utils import evaluation as evaluation_mod  # noqa: PLC0415  circular: evaluation imports sft

        evaluation = evaluation_mod.evaluate(model, tokenizer, n=cfg.n_eval, batch_size=64,
                                             perplexity_blocks=cfg.n_ppl_blocks)
    ev = {k: evaluation[k] for k in ("task_accuracy", "judge_score", "format_rate", "general_perplexity")}
    ev["n_eval"] = evaluation["n"]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"train_seconds": run.train_seconds, "recipe": {k: r[k] for k in RECIPE_KEYS},
            "memory": mem, "peak_memory_mb": mem["total_mb"], "trainable_params": trainable,
            **ev, "log_history": run.log_history, "torch_threads": torch.get_num_threads(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}


def load_sft_model(profile=None) -> tuple[Any, Any]:
    """The course's SFT model: the base model fully fine-tuned on the instructions with lesson
    03's recipe. Built on first call (a minute or two on a CPU) and cached; later calls load it.
    Its training figures: ``load_sft_stats(sft_cache_path(...))`` or :func:`sft_model_stats`."""

    profile = profile or profiles.get_profile(verbose=False)
    base, tokenizer = models.load_base_model(profile)
    path = sft_cache_path(base, profile)
    if not path.exists():
        with cache.lock(path):  # notebooks started side by side build it once
            if not path.exists():
                run = build_sft_model(base, tokenizer, profile)
                save_sft_model(run.model, tokenizer, path, stats_of(run, run.model, tokenizer, profile))
    return _load_cached(path, profile.device)


def sft_model_stats(profile=None) -> dict[str, Any]:
    """The stored training figures of the cached SFT model (building it first if needed)."""

    profile = profile or profiles.get_profile(verbose=False)
    base, _ = models.load_base_model(profile)
    path = sft_cache_path(base, profile)
    if not path.exists():
        load_sft_model(profile)
    return load_sft_stats(path)


# --------------------------------------------------------------------------- the cached LoRA run
LORA_STATS_FILE = "lora_run.json"
#: Files a complete cached LoRA folder has (peft's adapter and the run's figures).
LORA_CACHED_FILES = ("adapter_config.json", "adapter_model.safetensors", LORA_STATS_FILE)


def lora_config(profile=None):
    """Lesson 04's LoRA settings as a peft ``LoraConfig`` (rank, alpha, target layers, no dropout)."""
    cfg = (profile or profiles.get_profile(verbose=False)).lesson("04")
    return LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=0.0, target_modules=list(cfg.target_modules),
                      task_type="CAUSAL_LM")


def lora_recipe(profile=None) -> SFTRecipe:
    """Lesson 03's recipe with lesson 04's LoRA learning rate and budget."""

    cfg = (profile or profiles.get_profile(verbose=False)).lesson("04")
    return recipe(profile, lr=cfg.lr, steps=cfg.steps)


def _lora_key(c) -> dict[str, Any]:
    return {"r": c.r, "alpha": c.lora_alpha, "targets": sorted(c.target_modules), "dropout": c.lora_dropout}


def lora_cache_path(base_model, profile=None) -> Path:
    """Where lesson 04's LoRA run on this base model and data is (or would be) cached."""

    files = [data.path_of("instructions", "train")]
    return cache.folder_for("lora-run", {
        "v": CACHE_VERSION, "base": cache.fingerprint(base_model), "data": cache.file_hash(*files),
        "recipe": dict(lora_recipe(profile)), "lora": _lora_key(lora_config(profile))})


def _write_lora_run(run: SFTRun, folder: Path) -> None:
    run.model.save_pretrained(folder, safe_serialization=True)
    (folder / LORA_STATS_FILE).write_text(json.dumps(
        {"train_seconds": run.train_seconds, "log_history": run.log_history, "settings": run.settings,
         "torch_threads": torch.get_num_threads()}, indent=2, sort_keys=True) + "\n")


def save_lora_run(run: SFTRun, profile=None) -> Path | None:
    """Cache a LoRA run that used exactly lesson 04's settings (so lesson 05 can reuse it), atomically;
    an existing folder is kept. A run with other settings is not cached (returns None, says why)."""

    profile = profile or profiles.get_profile(verbose=False)
    want = {**dict(lora_recipe(profile)), **_lora_key(lora_config(profile))}
    peft_cfg = getattr(run.model, "peft_config", {}).get("default")
    got = {**{k: run.settings.get(k) for k in RECIPE_KEYS}, **(_lora_key(peft_cfg) if peft_cfg else {})}
    if got != want:
        diff = sorted(k for k in want if got.get(k) != want[k])
        print(f"not cached: this run's {', '.join(diff)} differ from lesson 04's settings")
        return None
    base, _ = models.load_base_model(profile)
    target = lora_cache_path(base, profile)
    return cache.write_atomically(target, lambda tmp: _write_lora_run(run, tmp), LORA_CACHED_FILES)


def load_lora_run(profile=None) -> SFTRun:
    """Lesson 04's LoRA run (its recipe, settings and seed): trained on first call and cached, so
    lesson 05 compares QLoRA with the very run lesson 04 made instead of training it again.
    The model is the base model with the trained adapter; ``train_seconds`` and the log are the
    original run's."""
    profile = profile or profiles.get_profile(verbose=False)
    base, tokenizer = models.load_base_model(profile)
    path = lora_cache_path(base, profile)

    def build(tmp: Path) -> None:
        r = lora_recipe(profile)
        seed_mod.seed_everything(r["seed"])
        run = train_sft(models.load_base_model(profile)[0], tokenizer, sft_dataset("train"),
                        peft_config=lora_config(profile), **r)
        _write_lora_run(run, tmp)

    hint = "delete that folder and call sft.load_lora_run() again to retrain it"
    cache.get_or_build(path, build, LORA_CACHED_FILES, hint, error=SFTCacheError, what="LoRA run")
    try:
        stats = json.loads((path / LORA_STATS_FILE).read_text())
        model = PeftModel.from_pretrained(base, path).to(profile.device).eval()
    except Exception as e:  # a truncated or corrupt file
        raise SFTCacheError(f"the cached LoRA run {path} could not be loaded ({type(e).__name__}: {e}); {hint}") from e
    return SFTRun(model=model, train_seconds=stats["train_seconds"], log_history=stats["log_history"],
                  settings=stats["settings"])
