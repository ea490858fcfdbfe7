"""Solutions to lesson 05's exercises."""
import math

import torch

from course_utils import quant


def quantize_int8(w):
    """Easy: one scale for the whole tensor."""
    scale = w.abs().max() / 127
    return torch.round(w / scale).to(torch.int8), scale


def bits_per_param(blocksize, double_quant):
    """Medium: 4 bits + the scale's share; double quantization stores it in 8 bits plus a
    32-bit scale per 256 scales."""
    if double_quant:
        return 4 + 8 / blocksize + 32 / (blocksize * 256)
    return 4 + 32 / blocksize


def quantize_nf4(w, blocksize):
    """Hard: blockwise absmax scaling, then the nearest NF4 level."""
    flat = w.flatten()
    n_blocks = math.ceil(flat.numel() / blocksize)
    padded = torch.cat([flat, flat.new_zeros(n_blocks * blocksize - flat.numel())]).view(n_blocks, blocksize)
    absmax = padded.abs().max(dim=1).values
    normed = padded / absmax[:, None]
    codes = (normed[..., None] - quant.nf4_levels()).abs().argmin(dim=-1)
    return codes.flatten()[: flat.numel()], absmax
