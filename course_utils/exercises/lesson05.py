"""Lesson 05's exercises (QLoRA): absmax int8, bits per parameter, blockwise NF4, and three questions
(the 4-bit model's footprint, running out of memory on long batches, an outlier in int8 and NF4);
each check with its solution and wrong answers."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from course_utils import quant
from course_utils.exercises import Exercise, ask, run_check, too_few_runs


def check_int8(quantize_int8: Callable) -> bool:
    """Easy: ``quantize_int8(w) -> (q int8, scale)`` with w ≈ q * scale and max|q| = 127."""
    def check():
        torch.manual_seed(0)
        w = torch.randn(32, 16)
        q, scale = quantize_int8(w)
        if not torch.is_tensor(q) or q.dtype != torch.int8:
            return False, f"q should be an int8 tensor, got {getattr(q, 'dtype', type(q).__name__)}"
        ref_q, ref_s = quant.absmax_int8(w)
        if abs(float(scale) - float(ref_s)) > 1e-6:
            return False, f"scale should be max|w| / 127 = {float(ref_s):.5f}, got {float(scale):.5f}"
        if (q.int() - ref_q.int()).abs().max() > 0:
            return False, "q should be round(w / scale): check the rounding"
        err = float((q.float() * float(scale) - w).abs().max())
        return True, f"max error {err:.4f} <= half a step ({float(ref_s) / 2:.4f})"
    return run_check("absmax int8", check)


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Solution: one scale for the whole tensor."""
    scale = w.abs().max() / 127
    return torch.round(w / scale).to(torch.int8), scale


def _int8_scale_255(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = w.abs().max() / 255
    return torch.round(w / scale).to(torch.int8), scale


def check_bits_per_param(bits_per_param: Callable) -> bool:
    """Medium: ``bits_per_param(blocksize, double_quant)``: 4 bits plus each weight's share of
    its block's scale (fp32; with double quantization an int8 plus a share of an fp32 per 256 blocks)."""
    def check():
        for bs, dq in [(64, False), (64, True), (128, False), (32, True)]:
            got, want = float(bits_per_param(bs, dq)), quant.bits_per_parameter(bs, dq)
            if abs(got - want) > 1e-6:
                return False, f"blocksize {bs}, double_quant={dq}: expected {want:.4f} bits, got {got:.4f}"
        return True, "NF4 with 64-value blocks: 4.5 bits; with double quantization about 4.127"
    return run_check("bits per parameter", check)


def bits_per_param(blocksize: int, double_quant: bool) -> float:
    """Solution: 4 bits + the scale's share; double quantization stores it in 8 bits plus a
    32-bit scale per 256 scales."""
    if double_quant:
        return 4 + 8 / blocksize + 32 / (blocksize * 256)
    return 4 + 32 / blocksize


def check_nf4(quantize_nf4: Callable) -> bool:
    """Hard: ``quantize_nf4(w, blocksize) -> (codes, absmax)``: per block, scale by the absmax and
    pick the index of the nearest of the 16 NF4 levels (``quant.nf4_levels()``)."""
    def check():
        torch.manual_seed(0)
        w = torch.randn(10, 20)  # 200 values: the last block of 64 is partial
        codes, absmax = quantize_nf4(w, 64)
        ref_codes, ref_absmax = quant.quantize_nf4(w, 64)
        absmax = torch.as_tensor(absmax).float().flatten()
        if absmax.numel() != ref_absmax.numel():
            return False, f"expected {ref_absmax.numel()} block scales (ceil(200 / 64)), got {absmax.numel()}"
        if not torch.allclose(absmax, ref_absmax, atol=1e-6):
            return False, "each block's scale is the max |w| in that block"
        codes = torch.as_tensor(codes).flatten().long()
        if codes.numel() != 200:
            return False, f"one code per weight: expected 200, got {codes.numel()}"
        agree = float((codes == ref_codes.long()).float().mean())
        if agree < 1.0:
            return False, f"{agree:.0%} of the codes match: pick argmin |w / absmax - level|"
        return True, "your NF4 codes match the course's (and bitsandbytes')"
    return run_check("blockwise NF4", check)


def quantize_nf4(w: torch.Tensor, blocksize: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Solution: blockwise absmax scaling, then the nearest NF4 level."""
    flat = w.flatten()
    n_blocks = math.ceil(flat.numel() / blocksize)
    padded = torch.cat([flat, flat.new_zeros(n_blocks * blocksize - flat.numel())]).view(n_blocks, blocksize)
    absmax = padded.abs().max(dim=1).values
    normed = padded / absmax[:, None]
    codes = (normed[..., None] - quant.nf4_levels()).abs().argmin(dim=-1)
    return codes.flatten()[: flat.numel()], absmax


def _nf4_one_level(w: torch.Tensor, blocksize: int) -> tuple[torch.Tensor, torch.Tensor]:
    codes, absmax = quantize_nf4(w, blocksize)
    return torch.full_like(codes, 7), absmax


def _nf4_global_scale(w: torch.Tensor, blocksize: int) -> tuple[torch.Tensor, torch.Tensor]:
    codes, absmax = quantize_nf4(w, blocksize)
    return codes, torch.full_like(absmax, float(w.abs().max()))


EXERCISES: tuple[Exercise, ...] = (
    Exercise("05", "quantize_int8", check_int8, quantize_int8, wrong=(_int8_scale_255, lambda w: (w, 1.0))),
    Exercise("05", "bits_per_param", check_bits_per_param, bits_per_param, wrong=(lambda bs, dq: 4.0,)),
    Exercise("05", "quantize_nf4", check_nf4, quantize_nf4, wrong=(_nf4_one_level, _nf4_global_scale)),
)


# --------------------------------------------------------------------------- questions (issue 16)
FOOTPRINT = {"A": "at most a fifth of fp32's: 4 bits instead of 32, plus the block scales",
             "B": "well above a fifth of fp32's, though far below it",
             "C": "about the same as fp32's (80% or more): the weights are dequantized for every computation anyway"}


def check_predict_footprint(prediction: str | None, fp32_mb: float, nf4_mb: float, emb_mb: float) -> bool:
    """Predict, then run: the memory footprint of the model loaded in NF4, against fp32."""
    ratio = nf4_mb / fp32_mb
    correct = "A" if ratio <= 0.2 else "C" if ratio >= 0.8 else "B"
    why = (f"the model went from {fp32_mb:.2f} MB in fp32 to {nf4_mb:.2f} MB in NF4 ({ratio:.0%}), and {emb_mb:.2f} MB "
           "of that is the embedding, kept in full precision. Each quantized Linear weight costs 4 bits plus its "
           "share of a 32-bit scale per block of 64, 4.5 bits or 14% of fp32; embeddings and norms stay as they "
           "were, and in a model this small the embedding is a large share of all the weights. Dequantization "
           "happens one layer at a time during the forward pass, and the result is dropped, so it adds nothing to "
           "what is stored. In a 7B model the embedding and output layers are a few percent of the weights, and "
           "the whole model comes close to 4.5 bits per weight: about 4 GB instead of 14 GB in bf16.")
    return ask("predict_footprint", prediction, FOOTPRINT, correct, why)


OOM = {"A": "lower the LoRA rank from 16 to 4: fewer trainable parameters, less memory",
       "B": "turn on gradient checkpointing, and use a paged optimizer for the spikes",
       "C": "turn on double quantization: the frozen base shrinks further"}


def check_decide_oom(answer: str | None) -> bool:
    """Decide: a QLoRA run on a 16 GB GPU runs out of memory on a batch of long examples."""
    why = ("long sequences fill memory with activations: each layer keeps its intermediate results for the "
           "backward pass, and they grow with the number of tokens. Gradient checkpointing keeps only each layer's "
           "input and recomputes the rest during backward (about a third more compute); a paged optimizer, one of "
           "QLoRA's three ingredients with NF4 and double quantization, moves the optimizer state to CPU memory "
           "when such a spike comes. The other two save little: a 7B model's weights take about 4 GB in NF4 and "
           "double quantization saves about 0.37 bits per weight (some 0.3 GB), while the adapters with their "
           "gradients and AdamW state stay under 1 GB even at rank 16.")
    return ask("decide_oom", answer, OOM, "B", why,
               hints={"A": "The adapters are well under 1% of a 7B model: a lower rank saves a few hundred MB at most.",
                      "C": "It saves about 0.3 GB on a 7B model; a long batch's activations take gigabytes."})


OUTLIER = {"A": "both grow with the outlier: one huge weight stretches any scale",
           "B": "int8's grows with the outlier, while blockwise NF4's stays where it was",
           "C": "neither changes much: one weight among so many cannot matter"}


def check_experiment_outlier(answer: str | None, runs: dict[float, tuple[float, float]]) -> bool:
    """Experiment: ``runs`` maps each outlier size (x max|w|) to int8's and NF4's relative error on the
    other weights."""
    verdict = too_few_runs("experiment_outlier", answer, runs, OUTLIER, "my_outlier")
    if verdict is not None:
        return verdict
    (lo, (i8_lo, nf_lo)), (hi, (i8_hi, nf_hi)) = min(runs.items()), max(runs.items())
    g8, g4 = i8_hi / max(i8_lo, 1e-12), nf_hi / max(nf_lo, 1e-12)
    correct = "C" if g8 < 1.2 and g4 < 1.2 else "B" if g4 < 1.2 else "A"
    cross = (f" At {hi:g}x the 8-bit format is already worse than the 4-bit one, though without an outlier it has "
             "16 times as many levels." if i8_hi > nf_hi else "")
    if correct == "C":
        cross += " An outlier no larger than the largest weight changes nothing: it does not set the scale."
    why = (f"with an outlier of {lo:g}x max|w| the other weights' error was {i8_lo:.1%} in int8 and {nf_lo:.1%} in "
           f"NF4; at {hi:g}x, {i8_hi:.1%} and {nf_hi:.1%}. int8 has one scale for the whole tensor, max|w| / 127: "
           "once the outlier sets max|w|, the step between levels grows with it for every weight, and the small "
           "ones round to zero. Blockwise NF4 gives each block of 64 its own scale, so only the outlier's own "
           f"block is coarsened.{cross} This is why LLM.int8() keeps outlier features in 16 bits "
           "(Dettmers et al., 2022) and why QLoRA scales small blocks.")
    return ask("experiment_outlier", answer, OUTLIER, correct, why)


EXERCISES += (
    Exercise("05", "predict_footprint", check_predict_footprint, "B", wrong=("A", "C"), kind="predict",
             measured=(8.19, 2.28, 1.43)),
    Exercise("05", "decide_oom", check_decide_oom, "B", wrong=("A", "C"), kind="decide",
             feedback=(("A", "few hundred MB"),)),
    Exercise("05", "experiment_outlier", check_experiment_outlier, "B", wrong=("A", "C"), kind="experiment",
             measured=({2: (0.024, 0.092), 100: (0.94, 0.092)},)),
)
