"""What each lesson costs on a Colab T4 in the hub profile: an ESTIMATE, not a measurement.

Memory comes from the course's calculator (``memory.estimate_for``, checked against measured
steps in the unit tests). Time comes from counting work in the hub sizes of
``profiles.LESSON_SIZES``: the training runs each notebook makes, at 6 N FLOPs per token for
full fine-tuning, 4 N for LoRA/QLoRA (no weight gradients), 2 N for a forward pass; token counts
from the course's data at ``CHARS_PER_TOKEN`` characters per token; the T4 at ``T4_TFLOPS``
effective (its fp16 tensor peak is 65 TFLOP/s; small models with short sequences use a fraction
of it); greedy or sampled generation at ``DECODE_STEP_S`` per decoding step of a batch (small
models decode at the speed of Python and kernel launches, not FLOPs). Replace these three
figures when a T4 run measures them.

    python scripts/t4_estimate.py     # prints the README's table
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_utils import data, memory, profiles  # noqa: E402

CHARS_PER_TOKEN = 4.0    # English BPE with a ~49k vocabulary
T4_TFLOPS = 10.0         # effective, mixed precision (assumed: 15% of the fp16 peak)
DECODE_STEP_S = 0.025    # one decoding step of one batch (assumed)
N = memory.MODEL_SHAPES["SmolLM2-135M"]["n_params"]


def mean_tokens(name: str, fields: tuple[str, ...], split: str = "train") -> float:
    rows = data.load_rows(name, split)
    return sum(sum(len(r[f]) for f in fields) for r in rows) / len(rows) / CHARS_PER_TOKEN


def lesson_work() -> dict[str, dict[str, float]]:
    """Per lesson: training FLOPs and decoding steps in the hub sizes."""
    size = {k: v["hub"] for k, v in profiles.LESSON_SIZES.items()}
    sft_tok = mean_tokens("instructions", ("prompt", "completion"))
    pair_tok = mean_tokens("preferences", ("prompt", "chosen", "rejected"))
    prompt_tok = mean_tokens("rl_prompts", ("prompt",))
    work = {"00": {"flops": 0.0, "decode": 0}}  # one measured training step of the base model
    s1 = size["01"]  # the lesson's own GPT (about 15M parameters) and its scaling runs
    gpt = 12 * s1.n_layer * s1.d_model ** 2 + s1.vocab_size * s1.d_model
    tokens = s1.steps * s1.batch_size * s1.seq_len
    scaling = sum(12 * s1.n_layer * w ** 2 * s1.scaling_steps * s1.batch_size * s1.seq_len
                  for w in s1.scaling_widths)
    work["01"] = {"flops": 6 * gpt * tokens + 6 * scaling, "decode": 6 * 60}
    s2 = size["02"]
    work["02"] = {"flops": 6 * 22.7e6 * s2.text_steps * s2.batch_size * s2.max_length, "decode": 0}
    s3 = size["03"]
    sft_steps = s3.steps * 2 + 3 * s3.sweep_steps + 2 * s3.overfit_steps + s3.manual_steps
    evals3 = 4 * (s3.n_eval / 64) * 24  # base, 3-shot, full, rehearsal: batches x new tokens
    work["03"] = {"flops": 6 * N * sft_steps * s3.batch_size * sft_tok, "decode": evals3}
    s4 = size["04"]
    # with the sweep's script: every rank at every rate (ranks below r train longer), then the variants
    rank_steps = sum(s4.sweep_small_rank_steps if r < s4.r else s4.sweep_steps for r in s4.sweep_ranks)
    sweep_runs = len(s4.sweep_ranks) * len(s4.sweep_lr_factors) + len(s4.sweep_variants)
    lora_steps = (s4.steps + len(s4.sweep_lr_factors) * rank_steps + len(s4.sweep_variants) * s4.sweep_steps
                  + s4.prompt_tuning_steps)
    work["04"] = {"flops": 4 * N * lora_steps * s3.batch_size * sft_tok,
                  "decode": (2 + 2 * sweep_runs) * (s4.n_eval / 64) * 24}  # each sweep run: validation and test
    work["05"] = {"flops": 2 * 4 * N * s4.steps * s3.batch_size * sft_tok,
                  "decode": 3 * (size["05"].n_eval / 64) * 24}
    s6 = size["06"]
    work["06"] = {"flops": 6 * N * s6.rm_steps * s6.rm_batch_size * pair_tok + 2 * N * s6.n_eval * pair_tok,
                  "decode": 0}
    s7 = size["07"]
    answer = prompt_tok + s7.max_new_tokens
    # the main run, the hacking experiment, the two sweeps
    ppo_steps = s7.steps + s7.hack_steps + (len(s7.sweep_kl_coefs) + len(s7.sweep_clipranges)) * s7.sweep_steps
    # per PPO step: rollout forwards of policy, reference, value and reward model; ppo_epochs updates of policy + value
    per_step = s7.batch_size * answer * (4 * 2 * N + s7.ppo_epochs * 2 * 6 * N)
    grpo = s7.grpo_steps * s7.batch_size * answer * (3 * 2 * N + 6 * N)
    evals7 = (4 + len(s7.sweep_kl_coefs)) * 2 * (s7.n_eval / 32)
    work["07"] = {"flops": ppo_steps * per_step + grpo,
                  "decode": (ppo_steps + s7.grpo_steps) * s7.max_new_tokens  # one batched generate per step
                  + evals7 * s7.max_new_tokens}
    s8 = size["08"]
    dpo_steps = s8.steps + len(s8.frontier_betas) * s8.frontier_steps
    # the frontier's PPO points are lesson 07's cached KL sweep; answers are lesson 07's length
    # on-policy pairs: samples_per_prompt answers to the 480 RL-train and the held-out questions, 64 a batch
    pair_decode = s8.samples_per_prompt * (480 + s8.n_eval) / 64 * 24
    work["08"] = {"flops": dpo_steps * s8.batch_size * pair_tok * (6 * N + 2 * N),
                  "decode": (2 + 2 * len(s8.frontier_betas)) * 2 * (s8.n_eval / 32) * s7.max_new_tokens
                  + pair_decode}
    s9 = size["09"]
    prose_tok = 80.0  # a crop's paragraph of notes, or a general text cut to 400 characters
    rag_tok = sft_tok + 12  # one retrieved note in front of the question
    work["09"] = {"flops": 6 * N * 16 * (s9.cpt_steps * prose_tok + 2 * s9.cpt_sft_steps * sft_tok
                                          + s9.rag_steps * rag_tok + s9.update_steps * sft_tok),
                  # evaluations (greedy, 64 a batch) and the best-of-n samples
                  "decode": (10 + s9.best_of_n) * (s9.n_eval / 64) * 24}
    return work


def table() -> str:
    full = memory.estimate_for("SmolLM2-135M", "full", "float16", batch_size=16, seq_len=128)
    lora = memory.estimate_for("SmolLM2-135M", "lora", "float16", batch_size=16, seq_len=128)
    qlora = memory.estimate_for("SmolLM2-135M", "qlora", "float16", batch_size=16, seq_len=128)
    lines = ["| lesson | training compute (PFLOP) | decoding steps | estimated minutes on a T4 |",
             "|---|---:|---:|---:|"]
    for k, w in lesson_work().items():
        minutes = (w["flops"] / (T4_TFLOPS * 1e12) + w["decode"] * DECODE_STEP_S) / 60
        shown = "< 1" if minutes < 1 else f"{minutes:.0f}"
        lines.append(f"| {k} | {w['flops'] / 1e15:.2f} | {w['decode']:.0f} | {shown} |")
    lines += ["", f"Memory of one training step of SmolLM2-135M (batch 16 x 128 tokens, the calculator): full "
                  f"fine-tuning {full.total_gb:.1f} GB, LoRA {lora.total_gb:.1f} GB, QLoRA {qlora.total_gb:.1f} GB "
                  f"of the T4's 16 GB.",
              f"Assumed: {CHARS_PER_TOKEN} characters per token, {T4_TFLOPS:.0f} TFLOP/s effective, "
              f"{DECODE_STEP_S * 1000:.0f} ms per decoding step (see scripts/t4_estimate.py)."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
