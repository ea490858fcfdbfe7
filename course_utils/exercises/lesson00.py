"""Lesson 00's exercises (setup and the memory calculator): each check, its solution, wrong answers."""
from __future__ import annotations

from collections.abc import Callable

from course_utils import memory
from course_utils.exercises import Exercise, close, run_check


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
