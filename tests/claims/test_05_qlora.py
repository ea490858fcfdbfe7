"""Lesson 05's claims, read from build/results/05_qlora.json (written by the notebook).

Thresholds are set from the spread over seeds 0, 1, 2 (`make seeds`, build/seeds/spread.md), with
margin; the quantization checks are exact and the same for every seed."""

from course_utils.results import metric

R = "05_qlora"


def test_scratch_nf4_agrees_with_bitsandbytes():
    assert metric(R, "nf4_scratch_vs_bnb_max_abs_diff") < 1e-6
    assert metric(R, "nf4_codes_identical_fraction") > 0.999


def test_nf4_footprint_at_most_half_of_fp32():
    fp32, nf4 = metric(R, "fp32_footprint_mb"), metric(R, "nf4_footprint_mb")
    assert nf4 <= 0.5 * fp32, f"NF4 model {nf4:.2f} MB vs fp32 {fp32:.2f} MB"


def test_qlora_accuracy_within_5_points_of_lora():
    # Both at lesson 04's LoRA budget (1,000 steps), adapters in fp32 (the course's rule; trl
    # would cast a quantized model's adapters to bf16): QLoRA / LoRA by seed 0/1/2: 94.2 / 94.6%,
    # 90.0 / 93.8%, 97.1 / 94.2% (QLoRA - LoRA -0.4, -3.8, +2.9 points). With bf16 adapters
    # seed 0 measured 99.6 / 94.6%. At 500 steps
    # the claim flipped with the machine's load and the seed (QLoRA 3.8% vs LoRA 35.0% on seed 0).
    qlora, lora = metric(R, "qlora.task_accuracy"), metric(R, "lora.task_accuracy")
    assert qlora >= lora - 0.05, f"QLoRA {qlora:.1%} vs LoRA {lora:.1%}"


def test_qlora_model_is_far_smaller_than_lora():
    assert metric(R, "qlora.footprint_mb") <= 0.5 * metric(R, "lora.footprint_mb")


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
