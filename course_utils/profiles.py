"""Profiles: one setting that scales every notebook from a CPU laptop to a GPU runtime.

* ``tiny`` (default): offline, CPU, the course's own small GPT.
* ``hub``: a GPU runtime with internet; a real Hub model (SmolLM2-135M) and the Hub encoder.
* ``hub-smoke``: the hub profile's models and code paths at smoke sizes (a few steps), read
  from the local Hugging Face cache and never from the network. ``make test`` runs every
  notebook in it against a stand-in Hub cache (``scripts/hub_smoke.py``): it proves that the
  hub path runs, not what it learns.

Every profile trains on the course's own data (``data/``), so lessons compare like with like;
the hub profile changes the model, not the data.

``$COURSE_DTYPE`` (float32, float16 or bfloat16) overrides the dtype of the hub profiles'
*frozen* weights (the stand-in pass uses it to run both half-precision paths on a CPU).

The profile is chosen by ``$COURSE_PROFILE`` or, when that is unset, by the hardware
recommendation (:func:`course_utils.hardware.recommend`). Each lesson reads its sizes
(model, steps, batch, sequence length) from ``profile.lesson("NN")``, a frozen, typed and
checked config (:mod:`course_utils.configs`); no notebook has a separate test mode.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from course_utils import hardware as hw_mod  # `hardware` is get_profile's argument
from course_utils.configs import (
    ConfigError,
    Lesson00Config,
    Lesson01Config,
    Lesson02Config,
    Lesson03Config,
    Lesson04Config,
    Lesson05Config,
    Lesson06Config,
    Lesson07Config,
    Lesson08Config,
    Lesson09Config,
    LessonConfig,
)

PROFILE_NAMES = ("tiny", "hub", "hub-smoke")
DTYPES = ("float32", "float16", "bfloat16")

#: The models each profile uses. The tiny base model is built by the course itself.
MODELS = {
    "tiny": {"base_model": "course/tiny-gpt", "encoder": "all-MiniLM-L6-v2 (installed package)"},
    "hub": {"base_model": "HuggingFaceTB/SmolLM2-135M", "encoder": "sentence-transformers/all-MiniLM-L6-v2"},
}
MODELS["hub-smoke"] = MODELS["hub"]

#: Per-lesson sizes: ``LESSON_SIZES["NN"][profile]`` is lesson NN's typed config
#: (:class:`course_utils.configs.LessonNNConfig`, which documents and checks each field).
#: hub-smoke is derived from hub below; ``seed`` is set per run by :func:`_build`.
LESSON_SIZES: dict[str, dict[str, LessonConfig]] = {
    "00": {"tiny": Lesson00Config(batch_size=8, seq_len=128), "hub": Lesson00Config(batch_size=8, seq_len=512)},
    "01": {  # pretraining: the same recipe as the base model, a shorter run (models.BASE_RECIPE is the full one)
        "tiny": Lesson01Config(
            n_raw_docs=400, tokenizer_docs=3000, vocab_sizes=[300, 700, 2048],
            train_docs=6000, val_docs=552, vocab_size=2048, n_layer=4, d_model=128, n_head=4,
            d_ff=384, seq_len=128, steps=250, batch_size=16, lr=2e-3, eval_every=25,
            n_eval_blocks=48, scaling_widths=[32, 64, 128], scaling_steps=60),
        # hub: about 3.5 passes over the corpus's ~1.2M tokens (250 x 64 x 256), not 28
        "hub": Lesson01Config(
            n_raw_docs=2000, tokenizer_docs=13000, vocab_sizes=[500, 2048, 8192],
            train_docs=13439, val_docs=552, vocab_size=2048, n_layer=8, d_model=384, n_head=6,
            d_ff=1024, seq_len=256, steps=250, batch_size=64, lr=1e-3, eval_every=25,
            n_eval_blocks=128, scaling_widths=[64, 128, 256, 384], scaling_steps=100),
    },
    "02": {  # vision: CNN on scattered digits; text: MiniLM on the intents set
        "tiny": Lesson02Config(
            canvas=12, pretrain_copies=8, pretrain_steps=500, transfer_steps=100,
            cnn_labels_per_class=[1, 2, 4, 10], cnn_seeds=5,
            probe_labels_per_class=[2, 4, 8, 16, 32], probe_seeds=3,
            ft_labels_per_class=4, text_steps=16, batch_size=16, max_length=32,
            body_lr=1e-4, head_lr=1e-3, scratch_lr=5e-4),
        "hub": Lesson02Config(
            canvas=12, pretrain_copies=20, pretrain_steps=2000, transfer_steps=200,
            cnn_labels_per_class=[1, 2, 5, 10, 25], cnn_seeds=5,
            probe_labels_per_class=[2, 4, 8, 16, 32, 64], probe_seeds=5,
            ft_labels_per_class=8, text_steps=60, batch_size=16, max_length=32,
            body_lr=1e-4, head_lr=1e-3, scratch_lr=5e-4),
    },
    "03": {  # full fine-tuning: the SFT recipe (also sft.load_sft_model's), shorter sweeps, rehearsal
        "tiny": Lesson03Config(
            # lr 3e-4 x 500 steps (seeds 0/1/2): 90.8/90.4/90.0% task accuracy, general-text perplexity
            # 2.10 -> 20.4/20.0/18.4. At 2e-3 (the old recipe) the model learned as much but forgot everything
            # (perplexity ~30,000: worse than guessing); at 1e-4 it learned 14% (issue 13's probes)
            steps=500, batch_size=16, lr=3e-4, weight_decay=0.0, seq_len=64, warmup_ratio=0.05,
            n_eval=240, n_val=64, eval_steps=50, n_ppl_blocks=32, manual_steps=15,
            sweep_lrs=[1e-4, 1e-3, 1e-2], sweep_steps=40, overfit_rows=48, overfit_steps=48,
            overfit_weight_decay=0.1, overfit_lr=2e-3, rehearsal_general=150),
        "hub": Lesson03Config(
            steps=600, batch_size=16, lr=2e-5, weight_decay=0.0, seq_len=128, warmup_ratio=0.05,
            n_eval=480, n_val=128, eval_steps=100, n_ppl_blocks=64, manual_steps=20,
            sweep_lrs=[5e-6, 2e-5, 1e-4], sweep_steps=150, overfit_rows=64, overfit_steps=160,
            overfit_weight_decay=0.1, overfit_lr=1e-4, rehearsal_general=800),
    },
    "04": {  # LoRA: 03's recipe with its own lr and its own budget (LoRA converges more slowly: at 03's
             # 500 steps it reached 29-35% against full FT's 88-90%; issue 13 measured 87% at 1,000 steps);
             # shorter runs for the rank sweep and prompt tuning. Lesson 05's LoRA and QLoRA use the same.
        "tiny": Lesson04Config(
            r=8, alpha=16, lr=5e-3, steps=1000,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            n_eval=240, n_ppl_blocks=32, timing_steps=5,
            # the rank sweep at LoRA's own budget (at 100 steps no rank had begun to answer), each rank at
            # half, once and twice the lesson's lr (one rate for all: r=16 54.6% at perplexity 1,331, seed 0):
            # too long for the lesson, so make test / make course run it first (course_utils.lora_sweep).
            # Ranks below r get half as many steps again: at 1,000 r=4 was still learning (58.8-87.9% over seeds)
            sweep_ranks=[1, 4, 16], sweep_steps=1000, sweep_small_rank_steps=1500, sweep_lr_factors=[0.5, 1.0, 2.0],
            sweep_variants=["attention only", "DoRA"],
            prompt_tuning_steps=100, prompt_tuning_lr=3e-2, virtual_tokens=8),
        "hub": Lesson04Config(
            r=16, alpha=32, lr=2e-4, steps=600,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            n_eval=480, n_ppl_blocks=64, timing_steps=5,
            sweep_ranks=[2, 8, 32], sweep_steps=600, sweep_small_rank_steps=900, sweep_lr_factors=[0.5, 1.0, 2.0],
            sweep_variants=["attention only", "DoRA"],
            prompt_tuning_steps=200, prompt_tuning_lr=3e-2, virtual_tokens=16),
    },
    "05": {  # QLoRA: NF4 base + lesson 04's LoRA settings; the tensor for the from-scratch quantizers
        "tiny": Lesson05Config(weight="model.layers.0.mlp.down_proj", blocksize=64, n_eval=480, n_ppl_blocks=32),
        "hub": Lesson05Config(weight="model.layers.0.mlp.down_proj", blocksize=64, n_eval=480, n_ppl_blocks=64),
    },
    "06": {  # reward modeling: RewardTrainer on the preference pairs; n_eval held-out pairs
        "tiny": Lesson06Config(rm_steps=400, rm_batch_size=16, rm_lr=1e-4, max_length=128, n_eval=960),
        "hub": Lesson06Config(rm_steps=400, rm_batch_size=16, rm_lr=1e-5, max_length=512, n_eval=960),
    },
    "07": {  # PPO: main run, then shorter sweeps over the KL coefficient and the clip range; trl GRPO.
             # Five RL runs are most of the lesson's time: the sweeps (6 steps) and the hacking run (12) are
             # as short as still shows each effect, so the lesson fits its 180 s (make bench, issue 15)
        "tiny": Lesson07Config(
            steps=48, batch_size=32, mini_batch_size=16, ppo_epochs=2, lr=2e-5,
            kl_coef=3.0, max_new_tokens=16, sweep_steps=6, sweep_lr=5e-5, sweep_kl_coefs=[0.0, 0.2, 3.0],
            sweep_clipranges=[0.05, 0.2, 10.0], hack_lr=2e-4, hack_steps=12,
            grpo_steps=36, grpo_generations=4, grpo_lr=5e-5, grpo_beta=0.05,
            n_eval=240),
        "hub": Lesson07Config(
            steps=200, batch_size=64, mini_batch_size=16, ppo_epochs=4, lr=1e-6,
            kl_coef=0.05, max_new_tokens=48, sweep_steps=60, sweep_lr=1e-6, sweep_kl_coefs=[0.0, 0.05, 0.5],
            sweep_clipranges=[0.05, 0.2, 10.0], hack_lr=1e-5, hack_steps=60,
            grpo_steps=100, grpo_generations=8, grpo_lr=1e-6, grpo_beta=0.05,
            n_eval=240),
    },
    "08": {  # DPO: DPOTrainer from the SFT model on on-policy pairs, one pass; a few betas for the frontier
        "tiny": Lesson08Config(
            samples_per_prompt=4, steps=30, batch_size=16, lr=5e-5, beta=0.1, max_length=128,
            frontier_betas=[0.05, 0.1, 0.5], frontier_steps=30, n_eval=240, n_pref_eval=480),
        "hub": Lesson08Config(
            samples_per_prompt=4, steps=30, batch_size=16, lr=1e-6, beta=0.1, max_length=512,
            frontier_betas=[0.05, 0.1, 0.5], frontier_steps=30, n_eval=240, n_pref_eval=480),
    },
    "09": {  # capstone: continued pretraining, RAG, knowledge that changes, best-of-n, the course table
        "tiny": Lesson09Config(
            cpt_steps=50, cpt_lr=1e-3, cpt_sft_steps=120, k=1, rag_steps=300, rag_lr=1e-3,
            counterfactual_share=0.5, distractor_share=0.0, n_changed=24, update_steps=60, update_lr=3e-4, best_of_n=4,
            n_eval=240),
        "hub": Lesson09Config(
            cpt_steps=200, cpt_lr=5e-5, cpt_sft_steps=200, k=2, rag_steps=300, rag_lr=2e-5,
            counterfactual_share=0.5, distractor_share=0.0, n_changed=24, update_steps=100, update_lr=2e-5, best_of_n=4,
            n_eval=240),
    },
}

#: hub-smoke: the hub sizes (learning rates, recipes) with a few steps on a few rows each.
SMOKE_OVERRIDES: dict[str, dict[str, Any]] = {
    "00": {"seq_len": 64},
    "01": {"n_raw_docs": 50, "tokenizer_docs": 300, "vocab_sizes": [300, 500], "train_docs": 300, "val_docs": 50,
           "vocab_size": 500,
           "n_layer": 1, "d_model": 32, "n_head": 2, "d_ff": 64, "seq_len": 32, "steps": 6, "batch_size": 4,
           "eval_every": 3, "n_eval_blocks": 4, "scaling_widths": [16, 32], "scaling_steps": 3},
    "02": {"pretrain_copies": 1, "pretrain_steps": 5, "transfer_steps": 5, "cnn_labels_per_class": [1, 2],
           "cnn_seeds": 1, "probe_labels_per_class": [2, 4], "probe_seeds": 1, "ft_labels_per_class": 2,
           "text_steps": 2},
    "03": {"steps": 4, "batch_size": 4, "seq_len": 64, "n_eval": 8, "n_val": 8, "eval_steps": 2, "n_ppl_blocks": 2,
           "manual_steps": 2, "sweep_steps": 2, "overfit_rows": 8, "overfit_steps": 2, "rehearsal_general": 8},
    "04": {"steps": 4, "n_eval": 8, "n_ppl_blocks": 2, "timing_steps": 1, "sweep_ranks": [1, 4], "sweep_steps": 2,
           "sweep_small_rank_steps": 3,
           "sweep_lr_factors": [0.5, 1.0],
           "prompt_tuning_steps": 2},
    "05": {"n_eval": 8, "n_ppl_blocks": 2},
    "06": {"rm_steps": 4, "rm_batch_size": 4, "max_length": 128, "n_eval": 16},
    "07": {"steps": 2, "batch_size": 8, "mini_batch_size": 4, "ppo_epochs": 1, "max_new_tokens": 4, "sweep_steps": 1,
           "hack_steps": 1, "grpo_steps": 2, "grpo_generations": 2, "n_eval": 8},
    "08": {"samples_per_prompt": 2, "steps": 3, "batch_size": 4, "max_length": 128, "frontier_steps": 2,
           "n_eval": 8, "n_pref_eval": 16},
    "09": {"cpt_steps": 2, "cpt_sft_steps": 2, "rag_steps": 2, "n_changed": 4, "update_steps": 2, "best_of_n": 2,
           "n_eval": 8},
}


def _smoke(key: str, hub: LessonConfig) -> LessonConfig:
    """Lesson ``key``'s hub config with its smoke overrides (checked like any config)."""
    overrides = SMOKE_OVERRIDES.get(key, {})
    unknown = set(overrides) - {f.name for f in fields(hub)}
    if unknown:
        raise ConfigError(f"SMOKE_OVERRIDES[{key!r}] sets {sorted(unknown)}, which {type(hub).__name__} does "
                          f"not have; use its fields: {', '.join(f.name for f in fields(hub))}")
    return replace(hub, **overrides)


for _k, _v in LESSON_SIZES.items():
    _v["hub-smoke"] = _smoke(_k, _v["hub"])


_LAST: dict[str, str] = {}


def last_profile_name() -> str | None:
    """The name of the profile :func:`get_profile` chose last in this process (None before)."""
    return _LAST.get("name")


class ProfileError(ValueError):
    """An unknown profile name or lesson key."""


@dataclass(frozen=True)
class Profile:
    """The settings a notebook runs with."""

    name: str
    reason: str
    device: str = "cpu"
    dtype: str = "float32"
    base_model: str = MODELS["tiny"]["base_model"]
    encoder: str = MODELS["tiny"]["encoder"]
    sizes: dict[str, LessonConfig] = field(default_factory=dict, repr=False)

    @property
    def is_tiny(self) -> bool:
        return self.name == "tiny"

    def lesson(self, key: str) -> LessonConfig:
        """The sizes of lesson ``key`` ("00" ... "09") in this profile: its frozen, typed config."""
        key = str(key).zfill(2)
        if key not in self.sizes:
            raise ProfileError(f"no sizes for lesson {key!r}; known lessons: {sorted(self.sizes)}")
        return self.sizes[key]

    def describe(self) -> str:
        """One line: which profile, on what, and why."""
        return (f"profile '{self.name}' on {self.device} ({self.dtype}); base model {self.base_model}"
                f" -- {self.reason}")


def _build(name: str, reason: str, device: str, dtype: str) -> Profile:
    from course_utils import seed  # noqa: PLC0415  +2.9 s (torch) on `import course_utils.profiles` (lesson 00's set-up)

    seed.fix_threads()  # every notebook starts here: the same thread count whatever the load
    run_seed = seed.course_seed()  # $COURSE_SEED: every lesson's `cfg.seed`
    sizes = {k: replace(v[name], seed=run_seed) for k, v in LESSON_SIZES.items()}
    _LAST["name"] = name
    return Profile(name=name, reason=reason, device=device, dtype=dtype,
                   base_model=MODELS[name]["base_model"], encoder=MODELS[name]["encoder"], sizes=sizes)


def frozen_dtype(device: str, bf16: bool) -> str:
    """The dtype of a hub profile's frozen weights: ``$COURSE_DTYPE`` if set, else bfloat16 where
    the GPU has it natively, float16 on other CUDA GPUs, float32 on a CPU or Apple GPU."""
    forced = os.environ.get("COURSE_DTYPE", "").strip().lower()
    if forced:
        if forced not in DTYPES:
            raise ProfileError(f"COURSE_DTYPE={forced!r} is not a dtype the course uses; "
                               f"choose one of {', '.join(DTYPES)}")
        return forced
    return "bfloat16" if bf16 else ("float16" if device == "cuda" else "float32")


def get_profile(name: str | None = None, *, hardware=None, online: bool | None = None,
                verbose: bool = True) -> Profile:
    """Choose the profile: ``name``, else ``$COURSE_PROFILE``, else the hardware recommendation.

    ``hub`` needs the Hub: if it is unreachable (checked in at most 2 s) the tiny profile is
    used instead, with a one-line message. The tiny profile never touches the network, and
    ``hub-smoke`` reads only the local Hugging Face cache.
    """
    source = "argument"
    if name is None:
        name = os.environ.get("COURSE_PROFILE") or None
        source = "COURSE_PROFILE"
    if name is not None:
        name = name.strip().lower()
        if name not in PROFILE_NAMES:
            raise ProfileError(f"unknown profile {name!r} (from {source}); choose one of "
                               f"{', '.join(PROFILE_NAMES)}, e.g. COURSE_PROFILE=tiny")
    hw = hardware if hardware is not None else hw_mod.detect()
    if name is None:
        rec = hw_mod.recommend(hw, online=online)
        name, reason = rec.profile, f"recommended: {rec.reason}"
    else:
        reason = f"chosen by {source}"
    if name == "hub":
        if online is None:
            online = hw_mod.hub_reachable()
        if not online:
            msg = "hub profile asked for, but the Hub is unreachable: falling back to the tiny profile (offline)"
            if verbose:
                print(msg)
            name, reason = "tiny", msg
    if name == "tiny":
        return _build("tiny", reason, device=hw.device if hw.device != "mps" else "cpu", dtype="float32")
    if name == "hub-smoke":
        reason += "; Hub models from the local cache only, smoke sizes"
    return _build(name, reason, device=hw.device, dtype=frozen_dtype(hw.device, hw.bf16))
