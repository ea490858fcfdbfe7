"""Typed configs: one frozen dataclass per lesson (what ``profile.lesson("NN")`` returns), in the
spirit of trl's config classes. Every field is typed and documented, and checked when the config
is made: a bad value raises :class:`ConfigError` naming the field, the value and the fix.

The values of each profile live in :data:`course_utils.profiles.LESSON_SIZES`; the recipes
built from them (``sft.SFTRecipe``, ``reward.RewardRecipe``) subclass :class:`Recipe`, which
also reads like a read-only dict (``**recipe``, ``recipe["steps"]``).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

#: The linear layers LoRA may target (Llama names, used by the course's GPT and SmolLM2 alike).
KNOWN_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
#: Variants of the lesson's LoRA that lesson 04's sweep can add beside the ranks (course_utils.lora_sweep).
KNOWN_SWEEP_VARIANTS = ("attention only", "DoRA")


class ConfigError(ValueError):
    """A config value a lesson cannot run with."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Checked:
    """The checks the configs run in ``__post_init__``; each failure names class, field, value and fix."""

    #: Where the values of this config are set (the fix in an error message).
    SET_IN: ClassVar[str] = "the call that made it"

    def _require(self, name: str, ok: bool, rule: str) -> None:
        if not ok:
            raise ConfigError(f"{type(self).__name__}.{name} = {getattr(self, name)!r}: {name} must be {rule}; "
                              f"change it in {self.SET_IN}")

    def _ints(self, *names: str, low: int = 1) -> None:
        for n in names:
            v = getattr(self, n)
            self._require(n, _is_int(v) and v >= low, f"an int >= {low}")

    def _numbers(self, *names: str, low: float = 0.0, strict: bool = True) -> None:
        for n in names:
            v = getattr(self, n)
            ok = _is_number(v) and (v > low if strict else v >= low)
            self._require(n, ok, f"a number {'>' if strict else '>='} {low:g}")

    def _fractions(self, *names: str) -> None:
        for n in names:
            v = getattr(self, n)
            self._require(n, _is_number(v) and 0 <= v < 1, "a number in [0, 1)")

    def _int_lists(self, *names: str, low: int = 1) -> None:
        for n in names:
            v = getattr(self, n)
            ok = isinstance(v, (list, tuple)) and len(v) > 0 and all(_is_int(x) and x >= low for x in v)
            self._require(n, ok, f"a non-empty list of ints >= {low}")

    def _number_lists(self, *names: str, low: float = 0.0, strict: bool = True) -> None:
        for n in names:
            v = getattr(self, n)
            ok = isinstance(v, (list, tuple)) and len(v) > 0 and all(
                _is_number(x) and (x > low if strict else x >= low) for x in v)
            self._require(n, ok, f"a non-empty list of numbers {'>' if strict else '>='} {low:g}")


class LessonConfig(Checked):
    """The base of the lesson configs (for type hints); each subclass is one lesson's sizes."""


def _sizes_of(lesson: str) -> str:
    return f"course_utils/profiles.py (LESSON_SIZES[{lesson!r}] or SMOKE_OVERRIDES[{lesson!r}])"


class Recipe(Checked, Mapping):
    """A config that also reads like a read-only dict: ``**recipe``, ``recipe["steps"]``, ``dict(recipe)``."""

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())

    def _keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self))


# --------------------------------------------------------------------------- lesson configs
@dataclass(frozen=True)
class Lesson00Config(LessonConfig):
    """00 · set-up: the one measured training step of the base model."""

    SET_IN: ClassVar[str] = _sizes_of("00")
    batch_size: int      # rows in the measured training step
    seq_len: int         # tokens per row
    seed: int = 0        # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("batch_size", "seq_len")
        self._ints("seed", low=0)


@dataclass(frozen=True)
class Lesson01Config(LessonConfig):
    """01 · pretraining: tokenizers, a small GPT trained from scratch, the scaling runs."""

    SET_IN: ClassVar[str] = _sizes_of("01")
    n_raw_docs: int              # raw documents shown by the cleaning section
    tokenizer_docs: int          # training documents the BPE tokenizers learn from
    vocab_sizes: list[int]       # BPE vocabulary sizes compared (tokens)
    train_docs: int              # general-corpus documents the GPT trains on
    val_docs: int                # general-corpus validation documents for the perplexities (the split has 552)
    vocab_size: int              # the GPT's vocabulary (tokens)
    n_layer: int                 # transformer blocks
    d_model: int                 # hidden width (a multiple of n_head)
    n_head: int                  # attention heads
    d_ff: int                    # MLP hidden width
    seq_len: int                 # tokens per training block (the context)
    steps: int                   # optimizer steps of the main run
    batch_size: int              # blocks per step (main and scaling runs)
    lr: float                    # peak AdamW learning rate
    eval_every: int              # steps between validation losses
    n_eval_blocks: int           # validation blocks per evaluation
    scaling_widths: list[int]    # d_model of each scaling run (2 layers)
    scaling_steps: int           # optimizer steps of each scaling run
    seed: int = 0                # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("n_raw_docs", "tokenizer_docs", "train_docs", "val_docs", "vocab_size", "n_layer", "d_model",
                   "n_head", "d_ff", "seq_len", "steps", "batch_size", "eval_every", "n_eval_blocks", "scaling_steps")
        self._ints("seed", low=0)
        self._numbers("lr")
        self._int_lists("vocab_sizes", "scaling_widths")
        self._require("d_model", self.d_model % self.n_head == 0, f"a multiple of n_head ({self.n_head})")


@dataclass(frozen=True)
class Lesson02Config(LessonConfig):
    """02 · transfer learning: a CNN on scattered digits; MiniLM on the intents set."""

    SET_IN: ClassVar[str] = _sizes_of("02")
    canvas: int                          # side of the digit canvas (pixels)
    pretrain_copies: int                 # scattered copies of each source digit
    pretrain_steps: int                  # optimizer steps pretraining the CNN on digits 0-4
    transfer_steps: int                  # optimizer steps of each transfer run on digits 5-9
    cnn_labels_per_class: list[int]      # labelled examples per class on the CNN learning curve
    cnn_seeds: int                       # draws per point of the CNN learning curve
    probe_labels_per_class: list[int]    # labelled examples per class on the linear-probe curve
    probe_seeds: int                     # draws per point of the linear-probe curve
    ft_labels_per_class: int             # labelled examples per class for the encoder fine-tuning
    text_steps: int                      # optimizer steps fine-tuning the encoder
    batch_size: int                      # texts per step
    max_length: int                      # tokens per text
    body_lr: float                       # learning rate of the pretrained encoder body
    head_lr: float                       # learning rate of the classification head
    scratch_lr: float                    # learning rate of the body trained from scratch
    seed: int = 0                        # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("canvas", "pretrain_copies", "pretrain_steps", "transfer_steps", "cnn_seeds", "probe_seeds",
                   "ft_labels_per_class", "text_steps", "batch_size", "max_length")
        self._ints("seed", low=0)
        self._numbers("body_lr", "head_lr", "scratch_lr")
        self._int_lists("cnn_labels_per_class", "probe_labels_per_class")


@dataclass(frozen=True)
class Lesson03Config(LessonConfig):
    """03 · full fine-tuning: the SFT recipe (also ``sft.load_sft_model``'s), sweeps, rehearsal."""

    SET_IN: ClassVar[str] = _sizes_of("03")
    steps: int                   # optimizer steps of the SFT recipe
    batch_size: int              # rows per step
    lr: float                    # peak learning rate of the recipe
    weight_decay: float          # AdamW weight decay of the recipe
    seq_len: int                 # tokens per row (longer rows are cut)
    warmup_ratio: float          # fraction of the steps spent warming up the learning rate
    n_eval: int                  # test questions per evaluation
    n_val: int                   # validation rows for the validation loss
    eval_steps: int              # steps between validation losses
    n_ppl_blocks: int            # general-text blocks for the perplexity
    manual_steps: int            # steps of the hand-written training loop
    sweep_lrs: list[float]       # learning rates of the sweep
    sweep_steps: int             # optimizer steps of each sweep run
    overfit_rows: int            # rows of the overfitting runs
    overfit_steps: int           # optimizer steps of each overfitting run
    overfit_weight_decay: float  # the weight decay compared with none
    overfit_lr: float            # learning rate of the overfitting runs (large, so memorising shows in few steps)
    rehearsal_general: int       # general-corpus texts mixed into the rehearsal run
    seed: int = 0                # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("steps", "batch_size", "seq_len", "n_eval", "n_val", "eval_steps", "n_ppl_blocks",
                   "manual_steps", "sweep_steps", "overfit_rows", "overfit_steps", "rehearsal_general")
        self._ints("seed", low=0)
        self._numbers("lr", "overfit_lr")
        self._numbers("weight_decay", "overfit_weight_decay", strict=False)
        self._fractions("warmup_ratio")
        self._number_lists("sweep_lrs")


@dataclass(frozen=True)
class Lesson04Config(LessonConfig):
    """04 · LoRA: 03's recipe with LoRA's own lr and budget; the rank sweep; prompt tuning.
    Lesson 05's LoRA and QLoRA runs use the same settings."""

    SET_IN: ClassVar[str] = _sizes_of("04")
    r: int                       # LoRA rank
    alpha: int                   # LoRA alpha (the update is scaled by alpha / r)
    lr: float                    # learning rate of the LoRA runs
    steps: int                   # optimizer steps of the main LoRA run
    target_modules: list[str]    # linear layers that get adapters (see KNOWN_TARGET_MODULES)
    n_eval: int                  # test questions per evaluation
    n_ppl_blocks: int            # general-text blocks for the perplexity
    timing_steps: int            # steps timed per model (seconds per step)
    sweep_ranks: list[int]       # ranks of the rank sweep
    sweep_steps: int             # optimizer steps of each rank-sweep run (course_utils.lora_sweep) ...
    sweep_small_rank_steps: int  # ... but of a rank below r: smaller ranks converge more slowly
    sweep_lr_factors: list[float]  # each sweep rank trains at lr times each of these; validation picks one
    sweep_variants: list[str]    # the lesson's r and alpha changed one way each (see KNOWN_SWEEP_VARIANTS)
    prompt_tuning_steps: int     # optimizer steps of prompt tuning
    prompt_tuning_lr: float      # learning rate of prompt tuning
    virtual_tokens: int          # soft-prompt length of prompt tuning (tokens)
    seed: int = 0                # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("r", "alpha", "steps", "n_eval", "n_ppl_blocks", "timing_steps", "sweep_steps",
                   "sweep_small_rank_steps", "prompt_tuning_steps", "virtual_tokens")
        self._ints("seed", low=0)
        self._numbers("lr", "prompt_tuning_lr")
        self._int_lists("sweep_ranks")
        self._number_lists("sweep_lr_factors")
        v = self.sweep_variants
        self._require("sweep_variants", isinstance(v, (list, tuple)) and all(x in KNOWN_SWEEP_VARIANTS for x in v),
                      f"a list of {', '.join(KNOWN_SWEEP_VARIANTS)} (may be empty)")
        t = self.target_modules
        self._require("target_modules", isinstance(t, (list, tuple)) and len(t) > 0
                      and all(m in KNOWN_TARGET_MODULES for m in t),
                      f"a non-empty list of {', '.join(KNOWN_TARGET_MODULES)}")


@dataclass(frozen=True)
class Lesson05Config(LessonConfig):
    """05 · QLoRA: the tensor for the from-scratch quantizers; the LoRA settings are lesson 04's."""

    SET_IN: ClassVar[str] = _sizes_of("05")
    weight: str                  # the module whose weight the quantizers are shown on
    blocksize: int               # weights per NF4 block (one absmax each)
    n_eval: int                  # test questions per evaluation
    n_ppl_blocks: int            # general-text blocks for the perplexity
    seed: int = 0                # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._require("weight", isinstance(self.weight, str) and bool(self.weight),
                      "a module name such as 'model.layers.0.mlp.down_proj'")
        self._ints("blocksize", "n_eval", "n_ppl_blocks")
        self._ints("seed", low=0)


@dataclass(frozen=True)
class Lesson06Config(LessonConfig):
    """06 · reward modeling: ``RewardTrainer`` on the preference pairs (``reward.default_recipe``)."""

    SET_IN: ClassVar[str] = _sizes_of("06")
    rm_steps: int                # optimizer steps of the reward model
    rm_batch_size: int           # preference pairs per step
    rm_lr: float                 # learning rate of the reward model
    max_length: int              # tokens per prompt + answer
    n_eval: int                  # held-out pairs per evaluation
    seed: int = 0                # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("rm_steps", "rm_batch_size", "max_length", "n_eval")
        self._ints("seed", low=0)
        self._numbers("rm_lr")


@dataclass(frozen=True)
class Lesson07Config(LessonConfig):
    """07 · PPO: the main run, sweeps over the KL coefficient and the clip range, trl's GRPO."""

    SET_IN: ClassVar[str] = _sizes_of("07")
    steps: int                       # rollout + update rounds of the main PPO run
    batch_size: int                  # prompts per rollout (and per GRPO step)
    mini_batch_size: int             # answers per PPO gradient step (divides batch_size)
    ppo_epochs: int                  # passes over each rollout
    lr: float                        # learning rate of PPO
    kl_coef: float                   # KL penalty coefficient of PPO (per unit of reward-model score)
    max_new_tokens: int              # tokens generated per answer
    sweep_steps: int                 # rounds of each sweep run
    sweep_lr: float                  # learning rate of the sweep runs (shorter runs, bigger steps)
    sweep_kl_coefs: list[float]      # KL coefficients of the sweep
    sweep_clipranges: list[float]    # clip ranges (epsilon) of the sweep
    hack_lr: float                   # learning rate of the hacking experiment (no KL penalty)
    hack_steps: int                  # rounds of the hacking experiment
    grpo_steps: int                  # optimizer steps of GRPO
    grpo_generations: int            # answers per prompt in GRPO (divides batch_size)
    grpo_lr: float                   # learning rate of GRPO
    grpo_beta: float                 # GRPO's KL coefficient (its advantages are normalised per group)
    n_eval: int                      # test prompts per evaluation
    seed: int = 0                    # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("steps", "batch_size", "mini_batch_size", "ppo_epochs", "max_new_tokens", "sweep_steps",
                   "hack_steps", "grpo_steps", "grpo_generations", "n_eval")
        self._ints("seed", low=0)
        self._numbers("lr", "sweep_lr", "grpo_lr", "hack_lr")
        self._numbers("kl_coef", "grpo_beta", strict=False)
        self._number_lists("sweep_kl_coefs", strict=False)
        self._number_lists("sweep_clipranges")
        self._require("mini_batch_size", self.batch_size % self.mini_batch_size == 0,
                      f"a divisor of batch_size ({self.batch_size})")
        self._require("grpo_generations", self.batch_size % self.grpo_generations == 0,
                      f"a divisor of batch_size ({self.batch_size})")


@dataclass(frozen=True)
class Lesson08Config(LessonConfig):
    """08 · DPO: ``DPOTrainer`` from the SFT model on pairs of its own answers; a few betas for
    the reward-vs-KL frontier."""

    SET_IN: ClassVar[str] = _sizes_of("08")
    samples_per_prompt: int      # answers sampled per RL-train question to make on-policy pairs
    steps: int                   # optimizer steps of the main DPO run (about one pass over the pairs)
    batch_size: int              # preference pairs per step
    lr: float                    # learning rate of DPO
    beta: float                  # DPO's beta (strength of the pull to the reference)
    max_length: int              # tokens per prompt + answer
    frontier_betas: list[float]  # betas of the frontier runs
    frontier_steps: int          # optimizer steps of each frontier run
    n_eval: int                  # test prompts per generation evaluation
    n_pref_eval: int             # held-out preference pairs per evaluation
    seed: int = 0                # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("samples_per_prompt", low=2)
        self._ints("steps", "batch_size", "max_length", "frontier_steps", "n_eval", "n_pref_eval")
        self._ints("seed", low=0)
        self._numbers("lr", "beta")
        self._number_lists("frontier_betas")


@dataclass(frozen=True)
class Lesson09Config(LessonConfig):
    """09 · capstone: continued pretraining, RAG vs fine-tuning vs both, knowledge that changes,
    reward-model best-of-n, and every stage of the course in one table."""

    SET_IN: ClassVar[str] = _sizes_of("09")
    cpt_steps: int               # continued-pretraining steps on the knowledge base written as prose
    cpt_lr: float                # learning rate of continued pretraining
    cpt_sft_steps: int           # SFT steps after it (and from the base model, to compare)
    k: int                       # notes retrieved per question
    rag_steps: int               # SFT steps teaching the SFT model to answer from the notes
    rag_lr: float                # learning rate of that run
    counterfactual_share: float  # share of its rows whose notes give a value the model never learned
    distractor_share: float      # share of the other rows whose notes are about other crops (answer from memory)
    n_changed: int               # facts the "updated advisory" changes
    update_steps: int            # fine-tuning steps teaching the SFT model the changed facts
    update_lr: float             # learning rate of that update
    best_of_n: int               # answers sampled per question for reward-model best-of-n
    n_eval: int                  # held-out questions per evaluation
    seed: int = 0                # the run's $COURSE_SEED (set by profiles._build)

    def __post_init__(self) -> None:
        self._ints("cpt_steps", "cpt_sft_steps", "k", "rag_steps", "n_changed", "update_steps", "n_eval")
        self._ints("best_of_n", low=2)
        self._ints("seed", low=0)
        self._numbers("cpt_lr", "rag_lr", "update_lr")
        self._fractions("counterfactual_share", "distractor_share")
