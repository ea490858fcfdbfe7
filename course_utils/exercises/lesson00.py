"""Lesson 00's exercises (setup and the memory calculator): each check, its solution, wrong answers."""
from __future__ import annotations

import math
from collections.abc import Callable

from course_utils import memory
from course_utils.exercises import Exercise, ask, close, run_check, too_few_runs


def check_weights_gb(fn: Callable[[], float]) -> bool:
    """Easy: ``fn()`` gives the weights of a 1-billion-parameter model in bfloat16, in GB (2**30 bytes)."""
    expected = 1e9 * 2 / 2**30

    def check():
        answer = fn()
        if close(answer, 1e9 * 4 / 2**30, 0.02):
            return False, "that is float32 (4 bytes per parameter); bfloat16 has 2"
        ok = close(answer, expected, 0.02)
        return ok, (f"{expected:.2f} GB: 2 bytes per parameter" if ok
                    else "hint: parameters x bytes per parameter / 2**30")
    return run_check("weights of 1B parameters in bf16", check)


def weights_gb() -> float:
    """Solution: 2 bytes per bfloat16 parameter."""
    return 1e9 * 2 / 2**30


def check_adam_bytes_per_param(fn: Callable[[], int]) -> bool:
    """Medium: ``fn()`` gives the bytes per parameter of full fine-tuning in bf16 mixed precision with AdamW."""
    def check():
        answer = fn()
        if answer == 16:
            return True, "2 (bf16 weights) + 2 (bf16 gradients) + 4 (fp32 master) + 8 (two fp32 Adam moments) = 16"
        if answer == 12:
            return False, "close: you forgot one part. Which copy of the weights does the optimizer update?"
        return False, "list the parts: weights, gradients, a float32 master copy, Adam's two moments"
    return run_check("bytes per parameter, full fine-tuning with AdamW", check)


def adam_bytes_per_param() -> int:
    """Solution: bf16 weights + bf16 grads + fp32 master copy + two fp32 Adam moments."""
    return 2 + 2 + 4 + 8


def largest_batch(model: str, method: str, gpu_gb: float, seq_len: int, max_batch: int = 256) -> int:
    """Solution (and the check's reference): the largest power-of-two batch for which the estimate
    fits on the GPU (0 if none)."""
    best, batch = 0, 1
    while batch <= max_batch:
        est = memory.estimate_for(model, method, batch_size=batch, seq_len=seq_len)
        if not memory.fits(est, gpu_gb):
            break
        best, batch = batch, batch * 2
    return best


def check_largest_batch(fn: Callable[[str, str, float, int], int]) -> bool:
    """Hard: a function giving the largest power-of-two batch that fits (see ``largest_batch``)."""
    cases = [("Llama-2-7B", "qlora", 16, 1024), ("Llama-2-7B", "lora", 24, 512), ("SmolLM2-135M", "full", 16, 2048),
             ("Llama-2-70B", "qlora", 80, 512), ("Llama-2-13B", "full", 80, 512)]

    def check():
        for case in cases:
            got, want = fn(*case), largest_batch(*case)
            if got != want:
                return False, f"for {case} you return {got}, the calculator allows {want}"
        return True, "you can now size a run before you start it"
    return run_check("largest batch that fits", check)


EXERCISES: tuple[Exercise, ...] = (
    Exercise("00", "weights_gb", check_weights_gb, weights_gb,
             feedback=((lambda: 1e9 * 4 / 2**30, "float32"),)),
    Exercise("00", "adam_bytes_per_param", check_adam_bytes_per_param, adam_bytes_per_param,
             wrong=(lambda: 12,)),
    Exercise("00", "largest_batch", check_largest_batch, largest_batch,
             wrong=(lambda *a: 1, lambda m, me, g, s: largest_batch(m, me, g, s) * 2)),
)


# --------------------------------------------------------------------------- questions (issue 16)
LORA_MEMORY = {"A": "under a fifth of it: with so few trainable parameters there is little to store",
               "B": "clearly less, but still between a fifth and nine tenths of it",
               "C": "about the same or more (over nine tenths): the adapters cost as much as they save"}


def check_predict_lora_memory(prediction: str | None, full: dict, lora: dict, trainable: int, n_params: int) -> bool:
    """Predict, then run: one LoRA step's measured memory, against full fine-tuning's (dicts of MB per part)."""
    ratio = lora["total_mb"] / full["total_mb"]
    correct = "A" if ratio < 0.2 else "C" if ratio > 0.9 else "B"
    big = {m: memory.estimate_for("Llama-2-7B", m, batch_size=4, seq_len=512).total_gb for m in ("full", "lora")}
    why = (f"LoRA trained {trainable / n_params:.1%} of the parameters, yet its step took {lora['total_mb']:.1f} MB "
           f"against full fine-tuning's {full['total_mb']:.1f} MB ({ratio:.0%}). What LoRA removes is the "
           f"gradients and AdamW state of the frozen weights ({full['gradients_mb'] + full['optimizer_mb']:.1f} MB "
           f"here); the weights themselves ({lora['weights_mb']:.1f} MB) are still needed for the forward pass, and "
           f"the activations ({full['activations_mb']:.1f} MB full, {lora['activations_mb']:.1f} MB LoRA) mostly stay, "
           "because the gradient must flow back through every frozen layer to reach the adapters below it (only a "
           "frozen matrix without an adapter may skip saving its input). The "
           "saving depends on which part dominates: for Llama-2-7B at batch 4 x 512 the calculator gives "
           f"{big['full']:.0f} GB full against {big['lora']:.0f} GB LoRA, because there the gradients and optimizer "
           "state of billions of parameters are the bulk.")
    return ask("predict_lora_memory", prediction, LORA_MEMORY, correct, why)


OUT_OF_MEMORY = {"A": "lower the LoRA rank from 16 to 4: fewer trainable parameters",
                 "B": "turn on gradient checkpointing, or halve the batch and accumulate gradients over two steps",
                 "C": "switch to 8-bit AdamW to shrink the optimizer state"}


def check_decide_out_of_memory(answer: str | None) -> bool:
    """Decide: QLoRA of a 7B model on a 16 GB GPU runs out of memory at batch 8 x 1024 tokens."""
    est = memory.estimate_for("Llama-2-7B", "qlora", batch_size=8, seq_len=1024).as_dict("GB")
    rank4 = memory.estimate_for("Llama-2-7B", "qlora", batch_size=8, seq_len=1024, lora_rank=4).total_gb
    ckpt = memory.estimate_for("Llama-2-7B", "qlora", batch_size=8, seq_len=1024,
                               gradient_checkpointing=True).total_gb
    why = (f"the calculator puts this step at {est['total']:.1f} GB, of which the activations are "
           f"{est['activations']:.1f} GB; the 4-bit weights take {est['weights']:.1f} GB and the adapters' gradients "
           f"and AdamW state only {est['gradients'] + est['optimizer']:.2f} GB. So rank 4 ({rank4:.1f} GB) or an "
           "8-bit optimizer barely move the total: attack the activations, which grow with batch x sequence. "
           f"Gradient checkpointing keeps only each layer's input and recomputes the rest ({ckpt:.1f} GB, about "
           "a third more compute); a smaller micro-batch with gradient accumulation keeps the same effective batch. "
           "The QLoRA paper trains with gradient checkpointing, and adds paged optimizers for the memory spikes.")
    return ask("decide_out_of_memory", answer, OUT_OF_MEMORY, "B", why,
               hints={"A": "The adapters are already tiny next to the rest: a smaller rank saves megabytes.",
                      "C": "With QLoRA the optimizer only holds the adapters' moments: there is little to shrink."})


SEQ_LEN = {"A": "in proportion to the length (twice the tokens, twice the memory)",
           "B": "faster than the length: attention compares every token with every other",
           "C": "slower than the length: only part of the memory depends on it"}


def check_experiment_seq_len(answer: str | None, runs: dict[int, dict]) -> bool:
    """Experiment: ``runs`` maps the sequence length of each of your runs to its measured memory (MB per part)."""
    verdict = too_few_runs("experiment_seq_len", answer, runs, SEQ_LEN, "my_seq_len")
    if verdict is not None:
        return verdict
    (short, m_short), (long, m_long) = min(runs.items()), max(runs.items())
    growth = math.log(m_long["total_mb"] / m_short["total_mb"]) / math.log(long / short)
    correct = "A" if 0.9 <= growth <= 1.1 else "B" if growth > 1.1 else "C"
    fixed = m_short["weights_mb"] + m_short["gradients_mb"] + m_short["optimizer_mb"]
    why = (f"from {short} to {long} tokens per row ({long / short:.2f}x) the total went from {m_short['total_mb']:.1f} "
           f"to {m_long['total_mb']:.1f} MB ({m_long['total_mb'] / m_short['total_mb']:.2f}x), the activations from "
           f"{m_short['activations_mb']:.1f} to {m_long['activations_mb']:.1f} MB "
           f"({m_long['activations_mb'] / m_short['activations_mb']:.2f}x). Weights, gradients and optimizer state "
           f"({fixed:.1f} MB) do not depend on the input; the activations hold a few vectors per token and layer, so "
           "they grow with the number of tokens. The s x s attention scores would add a part growing with the square "
           "of the length, but PyTorch's fused attention (scaled_dot_product_attention, like FlashAttention) does "
           "not store them: it recomputes them in the backward pass. The calculator above still counts them, "
           "which makes it an upper bound at long sequences.")
    return ask("experiment_seq_len", answer, SEQ_LEN, correct, why)


EXERCISES += (
    Exercise("00", "predict_lora_memory", check_predict_lora_memory, "B", wrong=("A", "C"), kind="predict",
             measured=({"weights_mb": 8.2, "gradients_mb": 8.2, "optimizer_mb": 16.4, "activations_mb": 79.7,
                        "total_mb": 112.4},
                       {"weights_mb": 8.4, "gradients_mb": 0.2, "optimizer_mb": 0.4, "activations_mb": 60.9,
                        "total_mb": 69.8}, 49152, 2145984)),
    Exercise("00", "decide_out_of_memory", check_decide_out_of_memory, "B", wrong=("A", "C"), kind="decide",
             feedback=(("A", "megabytes"),)),
    Exercise("00", "experiment_seq_len", check_experiment_seq_len, "C", wrong=("A", "B"), kind="experiment",
             measured=({128: {"weights_mb": 8.2, "gradients_mb": 8.2, "optimizer_mb": 16.4, "activations_mb": 79.7,
                              "total_mb": 112.4},
                        256: {"weights_mb": 8.2, "gradients_mb": 8.2, "optimizer_mb": 16.4, "activations_mb": 159.3,
                              "total_mb": 192.1}},)),
)
