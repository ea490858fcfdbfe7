"""Lesson 05's exercises (QLoRA): absmax int8, bits per parameter, blockwise NF4; each check with
its solution and wrong answers."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from course_utils import quant
from course_utils.exercises import Exercise, run_check


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
