"""Lesson 05's claims, read from build/results/05_qlora.json (written by the notebook).

Thresholds are set from the spread over seeds 0, 1, 2 (`make seeds`, build/seeds/spread.md), with
margin; the quantization checks are exact and the same for every seed."""
import statistics

import pytest

from course_utils.results import SEEDS_HINT, metric, metric_of, seed_records

R = "05_qlora"


def test_scratch_nf4_agrees_with_bitsandbytes():
    assert metric(R, "nf4_scratch_vs_bnb_max_abs_diff") < 1e-6
    assert metric(R, "nf4_codes_identical_fraction") > 0.999


def test_nf4_footprint_at_most_half_of_fp32():
    fp32, nf4 = metric(R, "fp32_footprint_mb"), metric(R, "nf4_footprint_mb")
    assert nf4 <= 0.5 * fp32, f"NF4 model {nf4:.2f} MB vs fp32 {fp32:.2f} MB"


def test_qlora_learns_the_task():
    """One run: QLoRA at lesson 04's LoRA budget learns the facts. Single runs: 92.7%, 96.7% and (on
    another machine, the same seed) 89.4% on 480 questions; on the earlier clean data 90.0-97.1%."""
    assert metric(R, "qlora.task_accuracy") >= 0.85, metric(R, "qlora")


def test_qlora_accuracy_within_5_points_of_lora():
    """The issue's aim, judged on a mean over at least 3 seeds (issue 13): single runs differ by several points either
    way. With the current code (2026-12-07, 480 questions; seed 0 from the fresh-clone CI's record, seeds 1 and
    2 from a script that trains the notebook's two runs at that seed): LoRA 99.0 / 93.1 / 94.2%, QLoRA 92.7 /
    96.0 / 95.6%, a mean gap of 0.6 points; `make seeds`' script for lesson 05 (seeds 0-2, head 8a796b8) gave
    the same figures and this claim passed on them. Its records of 2026-12-06, before SFT's loss was computed on
    the labelled positions only (sft.completion_loss: the same loss up to float rounding), gave a mean gap of
    11.2 points (LoRA 98.5 / 99.4 / 94.4%, QLoRA 89.4 / 89.6 / 79.8%) and made this a strict xfail: at lr 5e-3 a
    run lands on either side of the edge of learning the facts, which is why the aim is judged on a mean."""
    gaps = {rec["seed"]: metric_of(rec, "lora.task_accuracy") - metric_of(rec, "qlora.task_accuracy")
            for rec in seed_records(R)}
    if len(gaps) < 3:
        pytest.skip(f"judged on a mean over at least 3 seeds; build/seeds holds seed(s) {sorted(gaps)}: {SEEDS_HINT}")
    gap = statistics.mean(gaps.values())
    assert gap <= 0.05, f"LoRA - QLoRA accuracy by seed: {gaps}; mean {gap:.1%}"


def test_qlora_model_is_far_smaller_than_lora():
    assert metric(R, "qlora.footprint_mb") <= 0.5 * metric(R, "lora.footprint_mb")


def test_qlora_training_step_saves_only_the_frozen_weights_memory():
    """Measured tensor by tensor on one step of each: the 4-bit base shrinks the frozen weights to at
    most half of LoRA's fp32 ones, while the adapters' gradients and optimizer state are the same
    size (same rank and targets) and the activations stay within a quarter of LoRA's."""
    q, lo = metric(R, "qlora.memory"), metric(R, "lora.memory")
    weights = {"qlora": q["weights_mb"], "lora": lo["weights_mb"]}
    assert weights["qlora"] <= 0.5 * weights["lora"], f"frozen weights MB: {weights}"
    state = {k: m["gradients_mb"] + m["optimizer_mb"] for k, m in (("qlora", q), ("lora", lo))}
    assert abs(state["qlora"] - state["lora"]) <= 0.01 * state["lora"], f"gradients + optimizer MB: {state}"
    assert abs(q["activations_mb"] - lo["activations_mb"]) <= 0.25 * lo["activations_mb"], (q, lo)
    assert metric(R, "qlora.trainable_params") > 0


def test_an_outlier_spoils_absmax_int8():
    assert metric(R, "int8_outlier_relative_error") > 2 * metric(R, "int8_relative_error")


def test_four_bits_cost_this_model_little_and_nf4_beats_fp4():
    # Base-model general perplexity, every Linear stored and read back (quant.round_trip; the same for
    # every seed: the base model is built once): fp32 2.104, int8 2.104, FP4 2.111, NF4 2.108, NF4 + double
    # quantization 2.108 (lesson 03's model: 90.8% task accuracy in fp32, 90.0% in NF4 and FP4).
    formats = metric(R, "formats")
    ref = formats["fp32"]["base_perplexity"]
    cost = {f: v["base_perplexity"] / ref - 1 for f, v in formats.items()}
    assert set(formats) == {"fp32", "int8", "fp4", "nf4", "nf4+dq"}
    assert all(c < 0.02 for c in cost.values()), f"perplexity cost per format: {cost}"
    assert cost["nf4"] < cost["fp4"], f"NF4 should cost less than FP4 (the QLoRA paper's finding): {cost}"
    assert abs(formats["nf4"]["sft_task_accuracy"] - formats["fp32"]["sft_task_accuracy"]) <= 0.03
