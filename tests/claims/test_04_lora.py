"""Lesson 04's claims, read from build/results/04_lora.json (written by the notebook).

Thresholds are set from measured runs (tiny profile, one torch thread), with margin. Full fine-tuning:
lesson 03's recipe (500 steps, lr 3e-4: 90.8% / 90.4% / 90.0% for seeds 0/1/2, general perplexity
20.4 / 20.0 / 18.4, base 2.10). LoRA r=8 on all 7 linear layers, alpha 16, lr 5e-3, with its own budget
of 1,000 steps (at 500 it reached 29-35%: LoRA converges more slowly, issue 13): seeds 0/1/2 94.6%,
93.8%, 94.2%, general perplexity 229, 184, 158; training memory LoRA 49.8 MB, full 76.6 MB.
LoRA probes on seed 0 (issue 13), accuracy / perplexity: r=8 alpha 64 lr 2e-3 1,000 steps 95.0% / 228;
r=2 alpha 16 lr 2e-3 1,000 steps 42.5% / 47.4; r=8 alpha 16 lr 5e-3 400 steps 7.9% / 61.5; alpha 64 lr
2e-3 400 steps 19.6% / 55.5; LoRA+ (ratio 16) lr 1e-3 400 steps 22.9% / 129; PiSSA init lr 5e-3 1.7% /
914. Full fine-tuning at 300 steps, lr 3e-4: 45.8% / 8.4; with frozen embeddings (500 steps) 79.2% / 8.5.
"""
import itertools
import statistics

import pytest

from course_utils import lora_sweep
from course_utils.results import SEEDS_HINT, metric, metric_of, seed_records

R = "04_lora"
FORGET_MAX_SHARE = 0.05  # LoRA's perplexity rise / full fine-tuning's; seeds: 0.007, 0.010, 0.002
LORA_ACC_MIN = 0.80      # seeds: 0.946, 0.938, 0.942
RATIO_OF_FULL = 0.90     # the aim: LoRA reaches 90% of full fine-tuning's accuracy; seeds: 1.08, 1.05, 0.97


def test_scratch_lora_agrees_with_peft():
    assert metric(R, "lora_vs_peft_max_abs_diff") < 1e-4


def test_a_lora_within_5_percent_of_the_weights_learns_most_of_the_facts():
    """The sweep's best rank at or under 5% of the weights (chosen on validation; r=4, 58,368 of 2,145,984
    weights, 2.7%) answers most test questions at its picked rate: seeds 0/1/2 (2026-12-07) 87.9 / 58.8 / 77.1%
    (lr 5e-3 / 5e-3 / 1e-2). The lesson's r=8 is 5.4% of the weights. Whether it reaches the issue's 90% of
    full fine-tuning is judged on the seed mean below."""
    best, share = _best_small_lora_share_of_full(lambda k: metric(R, k))
    acc = metric(R, f"rank_sweep.{best}.task_accuracy")
    assert acc >= 0.5, f"LoRA r={best}: {acc:.1%} ({share:.0%} of full fine-tuning's accuracy)"


def test_lora_learns_the_task():
    assert metric(R, "lora.task_accuracy") >= LORA_ACC_MIN


def test_lora_reaches_90_percent_of_full_finetuning_accuracy():
    full, lora = metric(R, "full.task_accuracy"), metric(R, "lora.task_accuracy")
    assert lora >= RATIO_OF_FULL * full, f"LoRA {lora:.1%} vs full fine-tuning {full:.1%}"


def test_lora_uses_less_training_memory_because_frozen_weights_need_no_gradients_or_optimizer_state():
    # Measured tensor by tensor, the same for every seed (seed 0: total 49.8 vs 76.6 MB; before trl's
    # default activation checkpointing was turned off it had stayed on the LoRA model and hid most of its
    # activations, 20.4 MB). Activations are the same size for both, so LoRA saves the frozen weights'
    # gradients and AdamW moments: 116,736 of 2,145,984 weights keep theirs.
    full, lora = metric(R, "full.memory"), metric(R, "lora.memory")
    assert lora["total_mb"] < full["total_mb"], f"LoRA {lora['total_mb']:.1f} MB vs full {full['total_mb']:.1f} MB"
    state = {k: m["gradients_mb"] + m["optimizer_mb"] for k, m in (("full", full), ("lora", lora))}
    assert state["lora"] < 0.1 * state["full"], f"gradients + optimizer state (MB): {state}"


@pytest.mark.xfail(strict=True, reason="aim not reached: LoRA forgets more than lesson 03's gentle full fine-tuning "
                   "(seed 0: general perplexity 129 vs 17.9 on the forum data, 229 vs 20.4 on the clean data; "
                   "base 2.10) and every LoRA setting probed is on a worse "
                   "accuracy-vs-forgetting curve (r=2: 42.5% at 47.4; full FT at 300 steps: 45.8% at 8.4). The "
                   "notebook measures why (test_lora_update_is_larger_on_general_text); issue 13")
def test_lora_forgets_less():
    full, lora = metric(R, "full.general_perplexity"), metric(R, "lora.general_perplexity")
    base = metric(R, "base_general_perplexity")
    assert lora < full, f"general perplexity: LoRA {lora:.2f} should be below full fine-tuning's {full:.2f}"
    assert lora - base < FORGET_MAX_SHARE * (full - base)


def test_rank_sweep_accuracy_rises_with_rank_until_it_saturates():
    """The issue's aim, judged on means over seeds: a single sweep cannot decide it. Each rank at its learning rate
    picked on validation (2026-12-07, `make seeds` for lesson 04 at seeds 1 and 2, seed 0 from the main run):
    r=1 2.1 / 0.4 / 2.5%, r=4 87.9 / 58.8 / 77.1%, r=16 94.2 / 90.8 / 99.2% (means 1.7, 74.6, 94.7%); the
    lesson's r=8 98.8 / 95.0 / 97.1%. With 1,500 steps for the ranks below r=8 (probes of the sweep's runs), r=4
    reaches 100 / 86.7 / 93.3% (mean 93.3%) and r=1 1.7% at seed 0. With one rate (5e-3) for every rank the
    mean stopped at r=4 (`make seeds` of 2026-12-06: r=1 0.9, r=4 49.3, r=16 49.5%, r=16's perplexity 713-1,109):
    the large ranks took steps too large for them."""
    runs = {rec["seed"]: metric_of(rec, "rank_sweep") for rec in seed_records(R)}
    if len(runs) < 3:
        pytest.skip(f"judged on a mean over at least 3 seeds; build/seeds holds seed(s) {sorted(runs)}: {SEEDS_HINT}")
    ranks = sorted(next(iter(runs.values())), key=int)
    acc = [statistics.mean(sweep[r]["task_accuracy"] for sweep in runs.values()) for r in ranks]
    by_rank = {r: round(a, 3) for r, a in zip(ranks, acc, strict=True)}
    assert acc[-1] >= acc[0] + 0.10, f"mean accuracy by rank over seeds {sorted(runs)}: {by_rank}"
    steady = all(b >= a - 0.05 for a, b in itertools.pairwise(acc))
    assert steady, f"mean accuracy by rank over seeds {sorted(runs)}: {by_rank}; no rank should learn clearly less"


def _best_small_lora_share_of_full(metrics_of) -> tuple[str, float]:
    """The sweep's rank at or under 5% of the weights with the best validation accuracy, and its test
    accuracy as a share of full fine-tuning's."""
    total, full = metrics_of("full.trainable_params"), metrics_of("full.task_accuracy")
    small = {r: row for r, row in metrics_of("rank_sweep").items() if row["trainable_params"] <= 0.05 * total}
    assert small, "no rank of the sweep trains 5% of the weights or fewer"
    best = max(small, key=lambda r: small[r]["validation_accuracy"])
    return best, small[best]["task_accuracy"] / full


def test_the_best_small_lora_reaches_90_percent_of_full_finetuning_over_seeds():
    """The issue's aim: the best LoRA with at most 5% trainable weights reaches 90% of full fine-tuning's
    accuracy, on a mean over at least 3 seeds (`make seeds`). The candidates are the sweep's ranks at or under
    5%; the best is chosen on validation and judged on test. At 1,000 steps the best, r=4 (2.7%), reached 95 /
    65 / 88% of full fine-tuning at seeds 0/1/2 (mean 82%; a strict xfail until 2026-12-07): it was still
    learning. Ranks below the lesson's r now train 1,500 steps; r=4's runs at 1,500 (probes of the sweep's runs,
    2026-12-07), validation / test accuracy at 2.5e-3, 5e-3, 1e-2: seed 0 87.1/89.6, 99.6/100, 82.5/79.2%;
    seed 1 24.2/14.2, 97.9/86.7, 78.3/72.1%; seed 2 88.3/83.3, 98.8/93.3, 95.0/90.4%. Validation picks 5e-3 at
    every seed: 108 / 95 / 106% of full fine-tuning (92.5 / 90.8 / 87.9%), mean 103%."""
    shares = {rec["seed"]: _best_small_lora_share_of_full(lambda k, rec=rec: metric_of(rec, k))
              for rec in seed_records(R)}
    if len(shares) < 3:
        pytest.skip(f"judged on a mean over at least 3 seeds; build/seeds holds seed(s) {sorted(shares)}: {SEEDS_HINT}")
    mean = statistics.mean(share for _, share in shares.values())
    assert mean >= RATIO_OF_FULL, f"(rank, share of full fine-tuning's accuracy) by seed: {shares}; mean {mean:.2f}"


def test_each_rank_trains_at_its_own_learning_rate_picked_on_validation():
    """One rate for every rank (5e-3, tuned for r=8) let r=16 take steps too large for it: 54.6% at general perplexity
    1,331 in one clean-clone run, 89.2% at 713 in another. The sweep now tries half, once and twice the rate at
    each rank and keeps the best on the validation questions. Seed 0 (2026-12-07), validation / test accuracy
    and general perplexity at 2.5e-3, 5e-3 and 1e-2: r=1 (1,500 steps) 0.4/1.2% 14.6, 2.5/1.7% 27.5, 2.1/2.1% 44.0
    (picks 5e-3, noise); r=4 (1,500 steps) 87.1/89.6% 53.5, 99.6/100% 118, 82.5/79.2% 278 (picks 5e-3); r=16
    (1,000 steps) 100/94.2% 96.1, 58.8/54.6% 1,331, 2.1/3.3% 3,866 (picks 2.5e-3). The largest rank wants a
    smaller rate, and at the r=8 rate it forgets 14 times more."""
    sweep, rates, lesson_lr = metric(R, "rank_sweep"), metric(R, "rank_sweep_learning_rates"), metric(R, "lora_lr")
    for r, row in sweep.items():
        tried = sorted(float(k) for k in row["by_lr"])
        assert tried == pytest.approx(sorted(rates)), f"r={r} tried {tried}"
        assert float(lora_sweep.pick(row["by_lr"])) == pytest.approx(row["lr"]), f"r={r}: {row['lr']} is not the best"
        assert row["lr"] == pytest.approx(row["by_lr"][f"{row['lr']:g}"]["lr"])
    largest = sweep[max(sweep, key=int)]
    assert largest["lr"] < lesson_lr, f"the largest rank picked {largest['lr']:g}, the lesson's rate is {lesson_lr:g}"
    at_lesson_rate = largest["by_lr"][f"{lesson_lr:g}"]["general_perplexity"]
    assert at_lesson_rate > 3 * largest["general_perplexity"], (at_lesson_rate, largest["general_perplexity"])


def test_rank_one_is_too_small_to_learn_the_facts():
    # seed 0, r=1 at 2.5e-3 / 5e-3 / 1e-2: 1.7 / 2.5 / 2.1% after 1,000 steps, 1.2 / 1.7 / 2.1% after 1,500; the
    # best larger rank 100% (r=4, 1,500 steps at 5e-3). With one rate, two clean-clone runs: r=1 2.5% and 1.2%; the
    # best larger rank 87.9% (r=4) and 89.2% (r=16): which larger rank learns varied between runs, that r=1 does not
    # did not
    sweep = metric(R, "rank_sweep")
    ranks = sorted(sweep, key=int)
    r1 = sweep[ranks[0]]["task_accuracy"]
    best = max(sweep[r]["task_accuracy"] for r in ranks[1:])
    assert r1 <= 0.10, f"r={ranks[0]}: {r1:.1%}"
    assert best >= r1 + 0.30, sweep


def test_forgetting_grows_with_the_learning_rate_at_every_rank():
    # general-text perplexity (base 2.10) at lr 2.5e-3 / 5e-3 / 1e-2, seed 0 (2026-12-07): r=1 14.6 / 27.5 / 44.0
    # and r=4 53.5 / 118 / 278 after 1,500 steps, r=16 96.1 / 1,331 / 3,866 after 1,000. Seeds 1 and 2: r=4 at 1,500
    # 24.9 / 106 / 311 and 42.0 / 70.6 / 335; r=16 76.5 / 736 / 6,073 and 69.5 / 510 / 6,336. Across ranks at their
    # picked rates forgetting follows the rate as much as the rank: at 1,000 steps seed 2's r=4 picked 1e-2 and
    # forgot more (177) than r=16 at 2.5e-3 (69.5).
    for r, row in metric(R, "rank_sweep").items():
        ppl = [row["by_lr"][k]["general_perplexity"] for k in sorted(row["by_lr"], key=float)]
        assert all(b > a for a, b in itertools.pairwise(ppl)), f"r={r}: general-text perplexity by rate {ppl}"


def test_the_sweep_trains_at_loras_own_budget_and_the_small_ranks_longer():
    """Every sweep run trains at least the lesson's LoRA budget (1,000 steps: at 100 no rank had begun to answer);
    the ranks below the lesson's r train longer, because at 1,000 steps r=4 was still learning (58.8-87.9% test
    accuracy over seeds 0-2, its validation accuracy still rising at seed 2)."""
    steps, lesson, lesson_r = metric(R, "rank_sweep_steps"), metric(R, "lora_steps"), metric(R, "lora.r")
    assert metric(R, "variant_steps") == lesson, "the variants change the lesson's run one way: its own steps"
    for r, n in steps.items():
        assert n == lesson if int(r) >= lesson_r else n > lesson, f"r={r} trained {n} steps (lesson {lesson})"


def test_lora_update_is_larger_on_general_text():
    # What the notebook's "Where each update acts" prints: median over layers of |dW x| / |W x|; seed 0:
    # full FT 0.26 on task text, 0.19 on general text; LoRA 0.86 and 0.68 (3.5x full FT's on general text).
    size = metric(R, "update_size")
    assert size["LoRA"]["general"] > 2 * size["full FT"]["general"], size
    assert all(s["task"] > s["general"] for s in size.values()), f"each update should act more on the task: {size}"


def test_the_variants_change_what_trains_and_attention_only_learns_and_forgets_less():
    """The lesson's LoRA (r=8, alpha 16, 1,000 steps, lr 5e-3) changed one way each (course_utils.lora_sweep).
    Seed 0 (2026-12-07): all linear layers 98.8% at general perplexity 133 with 116,736 trainable weights;
    attention only 47.1% at 62.2 with 49,152 (the MLP's adapters carry most of the facts, and leaving the MLP
    alone halves the forgetting); DoRA 97.5% at 166 with 124,672 (the magnitudes add one number per output row).
    One seed: DoRA's difference from LoRA is within what seeds move, so only the parameter counts are asserted
    for it."""
    lora, v = metric(R, "lora"), metric(R, "variants")
    attn, dora = v["attention only"], v["DoRA"]
    assert attn["trainable_params"] < lora["trainable_params"] < dora["trainable_params"], v
    assert attn["task_accuracy"] <= lora["task_accuracy"] - 0.2, (attn, lora)
    assert attn["general_perplexity"] < lora["general_perplexity"], (attn, lora)
