"""Quantization from scratch (lesson 05): absmax int8 and blockwise NF4, plus the 4-bit loader.

The from-scratch functions are plain PyTorch so a learner can read every step; lesson 05 checks
them against bitsandbytes on the same tensor (:func:`compare_nf4_with_bnb`).
"""
from __future__ import annotations

import copy
import math
from statistics import NormalDist

import torch

from course_utils import devices

#: NF4 spends its 16 levels on quantiles of a standard normal: weights are roughly normal,
#: so each level is used about equally often. The outermost quantile is taken at this
#: probability (not 1.0, whose quantile is infinite); the value is the one QLoRA uses.
NF4_OFFSET = 0.9677083


def _check_float(w: torch.Tensor, name: str = "w") -> None:
    if not isinstance(w, torch.Tensor) or not w.is_floating_point():
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {type(w).__name__}"
                        f"{'' if not isinstance(w, torch.Tensor) else ' of ' + str(w.dtype)}")
    if w.numel() == 0:
        raise ValueError(f"{name} is empty: nothing to quantize")


# --------------------------------------------------------------------------- absmax int8
def absmax_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize ``w`` to int8 with one scale for the whole tensor: q = round(127 * w / max|w|)."""
    _check_float(w)
    scale = w.abs().max().float().clamp_min(1e-12) / 127.0
    q = torch.round(w.float() / scale).clamp(-127, 127).to(torch.int8)
    return q, scale


def dequantize_int8(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Back to float: w ≈ q * scale."""
    return q.float() * scale


# --------------------------------------------------------------------------- NF4
def nf4_levels() -> torch.Tensor:
    """The 16 NF4 levels, built from normal quantiles: 8 on the positive side, 7 on the
    negative side and an exact zero (so padding and zeros quantize without error), scaled
    to [-1, 1]."""
    nd = NormalDist()
    pos = [nd.inv_cdf(p) for p in torch.linspace(NF4_OFFSET, 0.5, 9).tolist()[:-1]]
    neg = [-nd.inv_cdf(p) for p in torch.linspace(NF4_OFFSET, 0.5, 8).tolist()[:-1]]
    levels = torch.tensor(sorted(pos + neg + [0.0]), dtype=torch.float32)
    return levels / levels.abs().max()


def quantize_nf4(w: torch.Tensor, blocksize: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Blockwise NF4: split ``w`` (flattened) into blocks of ``blocksize`` values, scale each
    block by its absmax into [-1, 1] and store the index of the nearest NF4 level.

    Returns ``(codes, absmax)``: one uint8 code in 0..15 per value (unpacked; bitsandbytes
    packs two per byte) and one float32 scale per block."""
    _check_float(w)
    if not isinstance(blocksize, int) or blocksize < 2:
        raise ValueError(f"blocksize must be an int >= 2, got {blocksize!r}")
    flat = w.detach().float().flatten()
    n_blocks = math.ceil(flat.numel() / blocksize)
    padded = flat.new_zeros(n_blocks * blocksize)  # on w's device
    padded[: flat.numel()] = flat
    blocks = padded.view(n_blocks, blocksize)
    absmax = blocks.abs().max(dim=1).values
    normed = blocks / absmax.clamp_min(1e-12)[:, None]
    levels = nf4_levels().to(flat.device)
    codes = (normed.unsqueeze(-1) - levels).abs().argmin(dim=-1).to(torch.uint8)
    return codes.flatten()[: flat.numel()], absmax


def dequantize_nf4(codes: torch.Tensor, absmax: torch.Tensor, shape: torch.Size | tuple[int, ...],
                   blocksize: int = 64) -> torch.Tensor:
    """Back to float: each value is its level times its block's absmax."""
    n = math.prod(shape)
    if codes.numel() != n:
        raise ValueError(f"{codes.numel()} codes cannot fill shape {tuple(shape)} ({n} values)")
    if absmax.numel() != math.ceil(n / blocksize):
        raise ValueError(f"{absmax.numel()} block scales for {n} values with blocksize {blocksize}: "
                         f"expected {math.ceil(n / blocksize)}; use the blocksize you quantized with")
    scale = absmax.float().repeat_interleave(blocksize)[:n]
    return (nf4_levels().to(codes.device)[codes.long()] * scale.to(codes.device)).view(tuple(shape))


def pack_4bit(codes: torch.Tensor) -> torch.Tensor:
    """Two 4-bit codes per byte, first one in the high nibble (the layout bitsandbytes uses)."""
    c = codes.flatten().to(torch.uint8)
    if c.numel() % 2:
        c = torch.cat([c, c.new_zeros(1)])
    return (c[0::2] << 4) | c[1::2]


def double_quantize(absmax: torch.Tensor, blocksize: int = 256) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """QLoRA's double quantization: the per-block fp32 scales are themselves quantized to int8
    (after subtracting their mean), in blocks of ``blocksize`` scales with one fp32 scale each.

    Returns ``(q_absmax int8, scale per block of scales, mean)``; see :func:`double_dequantize`."""
    _check_float(absmax, "absmax")
    mean = absmax.float().mean()
    centred = absmax.float() - mean
    n_blocks = math.ceil(centred.numel() / blocksize)
    padded = centred.new_zeros(n_blocks * blocksize)
    padded[: centred.numel()] = centred
    blocks = padded.view(n_blocks, blocksize)
    scale = blocks.abs().max(dim=1).values.clamp_min(1e-12) / 127.0
    q = torch.round(blocks / scale[:, None]).clamp(-127, 127).to(torch.int8).flatten()[: centred.numel()]
    return q, scale, mean


def double_dequantize(q: torch.Tensor, scale: torch.Tensor, mean: torch.Tensor, blocksize: int = 256) -> torch.Tensor:
    """Recover the per-block scales from their int8 form."""
    s = scale.repeat_interleave(blocksize)[: q.numel()]
    return q.float() * s + mean


def bits_per_parameter(blocksize: int = 64, double_quant: bool = False, dq_blocksize: int = 256) -> float:
    """Storage per weight: 4 bits plus the block scale's share (32 bits, or 8 + 32/256 with
    double quantization). 64-value blocks: 4.5 bits; with double quantization ≈ 4.127."""
    if double_quant:
        return 4 + 8 / blocksize + 32 / (blocksize * dq_blocksize)
    return 4 + 32 / blocksize


def quantization_error(w: torch.Tensor, w_hat: torch.Tensor) -> dict[str, float]:
    """Mean and max absolute error of a reconstruction, and its error relative to |w|'s mean."""
    if w.shape != w_hat.shape:
        raise ValueError(f"shapes differ: {tuple(w.shape)} vs {tuple(w_hat.shape)}")
    err = (w.float() - w_hat.float()).abs()
    return {"mean_abs": float(err.mean()), "max_abs": float(err.max()),
            "relative": float(err.mean() / w.float().abs().mean().clamp_min(1e-12))}


# --------------------------------------------------------------------------- whole models
#: The storage formats :func:`round_trip` knows, with the bits each weight costs (64-value blocks
#: for the 4-bit ones; int8 keeps one fp32 scale per output row).
FORMATS = ("fp32", "int8", "fp4", "nf4", "nf4+dq")


def round_trip_weight(w: torch.Tensor, fmt: str, blocksize: int = 64) -> torch.Tensor:
    """``w`` stored in ``fmt`` and read back (the same shape and dtype): what the model computes
    with after quantization. int8 is absmax per output row (as LLM.int8's vector-wise scales);
    fp4 is bitsandbytes' 4-bit float; nf4 is :func:`quantize_nf4`; nf4+dq also double-quantizes
    the block scales (:func:`double_quantize`)."""
    _check_float(w)
    if fmt == "fp32":
        return w.clone()
    if fmt == "int8":
        scale = w.float().abs().amax(dim=-1, keepdim=True).clamp_min(1e-12) / 127.0
        return (torch.round(w.float() / scale).clamp(-127, 127) * scale).to(w.dtype)
    if fmt == "fp4":
        import bitsandbytes.functional as bnbf  # noqa: PLC0415  (heavy import, only for this format)

        if w.numel() % blocksize:
            raise ValueError(f"fp4: {w.numel()} weights do not fill whole blocks of {blocksize} (bitsandbytes' CPU "
                             f"kernels need them, see bnb_nf4); pick a blocksize that divides {tuple(w.shape)}")
        blocks = w.float().reshape(-1, blocksize).contiguous()  # whole blocks per row: see bnb_nf4
        packed, state = bnbf.quantize_4bit(blocks, blocksize=blocksize, quant_type="fp4")
        return bnbf.dequantize_4bit(packed, state).reshape(w.shape).to(w.dtype)
    if fmt in ("nf4", "nf4+dq"):
        codes, absmax = quantize_nf4(w, blocksize)
        if fmt == "nf4+dq":
            absmax = double_dequantize(*double_quantize(absmax))
        return dequantize_nf4(codes, absmax, w.shape, blocksize).to(w.dtype)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


@torch.no_grad()
def round_trip(model: torch.nn.Module, fmt: str, blocksize: int = 64) -> torch.nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` weights went through ``fmt`` and back (embeddings,
    the output layer and norms untouched, as bitsandbytes leaves them): measures what a storage format costs the
    model's predictions, on any device, without a quantized kernel."""
    out = copy.deepcopy(model)
    keep = {id(e.weight) for e in (out.get_input_embeddings(), out.get_output_embeddings()) if e is not None}
    for m in out.modules():
        if isinstance(m, torch.nn.Linear) and id(m.weight) not in keep:
            m.weight.copy_(round_trip_weight(m.weight, fmt, blocksize))
    return out


# --------------------------------------------------------------------------- bitsandbytes
def bnb_nf4(w: torch.Tensor, blocksize: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """bitsandbytes' NF4 of ``w``: ``(packed codes, absmax, dequantized)``.

    bitsandbytes 0.50's CPU dequantize kernel assumes each row holds whole blocks: for a tensor
    whose last dimension is not a multiple of ``blocksize`` it returns wrong values (the codes
    and scales are right). Lessons compare on tensors whose rows are whole blocks; this refuses
    others rather than report a misleading difference."""
    import bitsandbytes.functional as bnbf  # noqa: PLC0415  +3.8 s on `import course_utils.quant` (lesson 00, via models)

    _check_float(w)
    if w.device.type == "cpu" and w.shape[-1] % blocksize:
        raise ValueError(f"last dimension {w.shape[-1]} is not a multiple of blocksize {blocksize}: "
                         f"bitsandbytes' CPU dequantize is wrong for such shapes; reshape to whole "
                         f"blocks per row (e.g. w.reshape(-1, {blocksize}))")
    packed, state = bnbf.quantize_4bit(w.float().contiguous(), blocksize=blocksize, quant_type="nf4")
    return packed.flatten(), state.absmax.float(), bnbf.dequantize_4bit(packed, state)


def compare_nf4_with_bnb(w: torch.Tensor, blocksize: int = 64) -> dict[str, float]:
    """Quantize ``w`` from scratch and with bitsandbytes; how far apart are they?

    Returns the max |difference| of the level tables, the share of identical packed codes, the
    max |difference| of the block scales and of the dequantized tensors."""
    import bitsandbytes.functional as bnbf  # noqa: PLC0415  +3.8 s on `import course_utils.quant` (lesson 00, via models)

    codes, absmax = quantize_nf4(w, blocksize)
    ours = dequantize_nf4(codes, absmax, w.shape, blocksize)
    packed, bnb_absmax, theirs = bnb_nf4(w, blocksize)
    bnb_levels = bnbf.get_4bit_type("nf4", device="cpu").float()
    return {
        "levels_max_abs_diff": float((nf4_levels() - bnb_levels).abs().max()),
        "codes_identical_fraction": float((pack_4bit(codes) == packed.to(torch.uint8)).float().mean()),
        "absmax_max_abs_diff": float((absmax - bnb_absmax).abs().max()),
        "dequantized_max_abs_diff": float((ours - theirs.float()).abs().max()),
    }


def linear_shapes_ok_for_bnb(model: torch.nn.Module, blocksize: int = 64) -> dict[str, tuple[int, int]]:
    """The ``nn.Linear`` layers whose input width is not a multiple of ``blocksize`` (empty
    dict: every layer is safe for bitsandbytes' CPU 4-bit kernels)."""
    return {n: (m.out_features, m.in_features) for n, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and m.in_features % blocksize}


def load_4bit(source: str, compute_dtype: torch.dtype | None = None, double_quant: bool = False,
              device: str | torch.device | None = None):
    """Load a causal LM (a saved folder or a Hub id, e.g. ``models.base_model_source(profile)``)
    with its Linear layers in NF4 (bitsandbytes); embeddings, norms and (transformers' default)
    the lm_head stay in ``compute_dtype``. ``device`` defaults to the GPU when there is one;
    ``compute_dtype`` to the autocast dtype there (bf16 or fp16) and fp32 on a CPU, where
    bitsandbytes >= 0.49 runs 4-bit too."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig  # noqa: PLC0415  +2.0 s, as above

    device = torch.device(device) if device is not None else torch.device("cuda" if devices.cuda_available() else "cpu")
    compute_dtype = compute_dtype or devices.autocast_dtype(device) or torch.float32
    cfg = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                             bnb_4bit_compute_dtype=compute_dtype, bnb_4bit_use_double_quant=double_quant)
    model = AutoModelForCausalLM.from_pretrained(source, quantization_config=cfg, device_map={"": str(device)},
                                                 dtype=compute_dtype, trust_remote_code=False)
    if device.type == "cpu":
        keep_trainable_on_cpu(model)
    return model


def keep_trainable_on_cpu(model) -> int:
    """bitsandbytes 0.50 on a CPU with AVX512-BF16 repacks a 4-bit layer's weights for a fast
    inference kernel the first time it runs in eval mode without gradients; that kernel has no
    backward, so LoRA adapters *before* such a layer silently get no gradient afterwards.
    Switch the repacking off (and undo it where it happened) so evaluation and training can
    alternate. Returns how many 4-bit layers were touched."""
    import bitsandbytes as bnb  # noqa: PLC0415  +3.8 s on `import course_utils.quant` (lesson 00, via models)
    from bitsandbytes.nn.modules import _convert_weight_packed_for_cpu_inverse  # noqa: PLC0415  as above

    n = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            state = module.weight.quant_state
            if getattr(state, "packing_format_for_cpu", False):
                module.weight.data, module.weight.quant_state = _convert_weight_packed_for_cpu_inverse(
                    module.weight.data, state)
            n += 1
    return n
