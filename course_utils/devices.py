"""One rule for devices and precision, used by every helper, trainer and lesson.

* **Inputs follow the model.** A helper that feeds a model moves its tensors to
  :func:`device_of` that model first (:func:`to_device`).
* **Trained weights are float32, always.** :func:`for_training` casts a model's trainable
  weights to fp32 before any optimizer sees them: AdamW steps at fine-tuning learning rates
  (1e-5 and below) are smaller than bf16's resolution and vanish, and plain AdamW on fp16
  weights turns zero-gradient entries into NaN. Half precision is for frozen weights only
  (LoRA/QLoRA bases, reference models, a reward model at inference).
* **Speed and memory come from autocast.** :func:`autocast_dtype`: bfloat16 on a CUDA GPU of
  compute capability 8.0 or more (A100, L4, H100, RTX 30xx+), float16 with a loss scaler below
  that (T4, V100), nothing on a CPU or Apple GPU. :func:`trainer_precision` says the same to
  ``transformers``/trl trainers; :func:`autocast` and :func:`grad_scaler` to hand-written loops.
* **bf16 support is decided without emulation.** torch answers ``is_bf16_supported()`` True on
  a T4 (7.5) by emulating bf16 in float32, which is slow; the course asks for cc >= 8.0.

Functions take ``torch_module`` (default: ``torch``) so tests can pass a fake GPU.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch

#: The first compute capability with native bfloat16 (NVIDIA Ampere).
BF16_MIN_CAPABILITY = (8, 0)


def cuda_available(torch_module: Any = None) -> bool:
    """Is there a CUDA GPU?"""
    t = torch_module or torch
    return bool(t.cuda.is_available())


def bf16_supported(torch_module: Any = None) -> bool:
    """Native bfloat16 on this machine's GPU: CUDA with compute capability >= 8.0 (never emulation)."""
    t = torch_module or torch
    if not cuda_available(t):
        return False
    return tuple(t.cuda.get_device_capability(0)) >= BF16_MIN_CAPABILITY and bool(t.cuda.is_bf16_supported())


def autocast_dtype(device: str | torch.device | None = None, torch_module: Any = None) -> torch.dtype | None:
    """The dtype training computes in under autocast on ``device`` (default: the GPU if any):
    bfloat16 where native, float16 on older CUDA GPUs, None (plain fp32) on CPU and MPS."""
    t = torch_module or torch
    kind = torch.device(device).type if device is not None else ("cuda" if cuda_available(t) else "cpu")
    if kind != "cuda":
        return None
    return torch.bfloat16 if bf16_supported(t) else torch.float16


def trainer_precision(torch_module: Any = None) -> dict[str, bool]:
    """``use_cpu`` / ``bf16`` / ``fp16`` for a ``TrainingArguments`` (SFT, Reward, DPO, GRPO configs):
    mixed precision on a GPU by :func:`autocast_dtype`, plain fp32 on a CPU."""
    dt = autocast_dtype(None, torch_module)
    return {"use_cpu": not cuda_available(torch_module), "bf16": dt is torch.bfloat16, "fp16": dt is torch.float16}


def device_of(model: Any) -> torch.device:
    """The device a model computes on: its ``device`` attribute (``transformers`` and peft
    models, the course's value model), else its first parameter's."""
    dev = getattr(model, "device", None)
    if dev is not None:
        return torch.device(dev)
    try:
        return next(model.parameters()).device
    except StopIteration:
        raise ValueError("the model has no parameters and no `device`: cannot tell where to put its inputs") from None


def _device(target: Any) -> torch.device:
    """``target`` itself if it names a device, else the device of the model it is."""
    return torch.device(target) if isinstance(target, (str, torch.device)) else device_of(target)


def to_device(batch: Mapping[str, Any], target: Any) -> dict[str, Any]:
    """``batch`` with every tensor moved to ``target`` (a device, or a model: its device);
    everything else is passed through."""
    dev = _device(target)
    return {k: v.to(dev) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def for_training(model: Any) -> Any:
    """Cast ``model``'s trainable weights to float32 in place (frozen ones keep their dtype) and
    return it. Call before building an optimizer; see the module docstring for why."""
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32 and p.is_floating_point():
            p.data = p.data.float()
    return model


def trainable_dtypes(model: Any) -> set[torch.dtype]:
    """The dtypes of ``model``'s trainable weights (the learning guards check it is {float32})."""
    return {p.dtype for p in model.parameters() if p.requires_grad}


@contextlib.contextmanager
def autocast(target: Any) -> Iterator[None]:
    """Mixed precision for a forward pass on ``target`` (a model or a device): autocast in
    :func:`autocast_dtype` on a CUDA GPU, nothing at all elsewhere (CPU figures stay exact)."""
    dev = _device(target)
    dt = autocast_dtype(dev)
    if dt is None:
        yield
        return
    with torch.autocast(device_type="cuda", dtype=dt):
        yield


def grad_scaler(target: Any) -> torch.amp.GradScaler:
    """A loss scaler that is on only where autocast runs in float16 (whose small gradients
    would underflow); elsewhere ``scale``/``step``/``update`` are plain pass-throughs."""
    dev = _device(target)
    on = autocast_dtype(dev) is torch.float16
    return torch.amp.GradScaler("cuda" if on else "cpu", enabled=on)
