"""What is this machine, and what should the course do on it?

:func:`detect` reads the accelerator (CUDA, Apple MPS, or CPU), its memory and capabilities;
:func:`recommend` turns that into a profile, a dtype, a batch size and a fine-tuning method
for a model of a given size; :func:`summary` prints both for a notebook. Nothing here touches
the network except :func:`hub_reachable`, which is bounded (2 s) and only called when asked.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

import psutil

HUB_HOST = "huggingface.co"


@dataclass(frozen=True)
class Hardware:
    """A snapshot of the machine the notebook runs on."""

    device: str  # "cuda", "mps" or "cpu"
    gpu_name: str | None = None
    total_memory_gb: float | None = None
    free_memory_gb: float | None = None
    compute_capability: tuple[int, int] | None = None
    bf16: bool = False
    fp16: bool = False
    in_colab: bool = False
    cpu_count: int = 1
    ram_gb: float = 0.0


@dataclass(frozen=True)
class Recommendation:
    """What the course suggests for this machine and a model of ``model_params`` parameters."""

    profile: str
    dtype: str
    batch_size: int
    method: str  # "full", "lora" or "qlora"
    reason: str


def in_colab() -> bool:
    """Are we inside Google Colab?"""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def detect(torch_module: Any = None) -> Hardware:
    """Detect the accelerator. ``torch_module`` lets tests pass a fake ``torch``."""
    if torch_module is None:
        import torch as torch_module  # noqa: PLC0415  +2.7 s on `import course_utils.hardware` (lesson 00's set-up)
    cpu_count = os.cpu_count() or 1
    ram_gb = psutil.virtual_memory().total / 2**30
    colab = in_colab()
    cuda = torch_module.cuda
    if cuda.is_available():
        props = cuda.get_device_properties(0)
        free, total = cuda.mem_get_info(0)
        cc = (int(props.major), int(props.minor))
        return Hardware(device="cuda", gpu_name=props.name, total_memory_gb=total / 2**30,
                        free_memory_gb=free / 2**30, compute_capability=cc,
                        bf16=bool(cuda.is_bf16_supported()) and cc >= (8, 0), fp16=cc >= (5, 3),
                        in_colab=colab, cpu_count=cpu_count, ram_gb=ram_gb)
    mps = getattr(getattr(torch_module, "backends", None), "mps", None)
    if mps is not None and mps.is_available():
        # Apple GPUs share the machine's RAM; bf16 arrived with macOS 14 and recent PyTorch.
        return Hardware(device="mps", gpu_name=f"Apple {platform.machine()} GPU", total_memory_gb=ram_gb,
                        free_memory_gb=psutil.virtual_memory().available / 2**30, bf16=False, fp16=True,
                        in_colab=colab, cpu_count=cpu_count, ram_gb=ram_gb)
    return Hardware(device="cpu", in_colab=colab, cpu_count=cpu_count, ram_gb=ram_gb)


def hub_reachable(timeout: float = 2.0, host: str = HUB_HOST, port: int = 443) -> bool:
    """Can we open a TCP connection to the Hugging Face Hub? Never takes more than ``timeout``.

    ``HF_HUB_OFFLINE=1`` means no, without trying. DNS is resolved in a worker thread so a
    hanging resolver cannot block the notebook past the deadline."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        return False
    deadline = time.monotonic() + timeout

    def attempt() -> bool:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, addr = infos[0]
        with socket.socket(family, kind, proto) as s:
            s.settimeout(max(0.05, deadline - time.monotonic()))
            s.connect(addr)
        return True

    pool = cf.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(attempt).result(timeout=timeout)
    except Exception:
        return False
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def recommend(hw: Hardware, model_params: float = 135e6, online: bool | None = None) -> Recommendation:
    """Profile, dtype, batch size and method for fine-tuning ``model_params`` parameters on ``hw``.

    The method is the cheapest that fits: full fine-tuning needs about 16 bytes per parameter
    (weights, gradients, two Adam moments, master copy), LoRA about 2 (frozen 16-bit weights),
    QLoRA about 0.6 (4-bit weights); each plus room for activations (see :mod:`course_utils.memory`).
    ``online=None`` checks the Hub (2 s at most) only when a GPU makes the hub profile sensible.
    """
    if model_params <= 0:
        raise ValueError(f"model_params must be positive, got {model_params!r}")
    if hw.device == "cpu":
        return Recommendation("tiny", "float32", 8, "full",
                              "no GPU: the tiny profile runs every notebook on a CPU in minutes")
    dtype = "bfloat16" if hw.bf16 else "float16"
    mem = hw.free_memory_gb if hw.free_memory_gb is not None else (hw.total_memory_gb or 0)
    need_full, need_lora, need_qlora = (model_params * b / 2**30 * 1.3 for b in (16, 2, 0.6))
    if need_full <= mem:
        method = "full"
    elif need_lora <= mem:
        method = "lora"
    elif need_qlora <= mem and hw.device == "cuda":
        method = "qlora"
    else:
        return Recommendation("tiny", "float32", 8, "full",
                              f"{model_params / 1e6:.0f}M parameters do not fit in {mem:.0f} GB even in 4-bit")
    spare = mem - {"full": need_full, "lora": need_lora, "qlora": need_qlora}[method]
    batch = 8 if spare < 8 else 16 if spare < 24 else 32  # activations grow with the batch
    if hw.device == "mps":
        return Recommendation("tiny", dtype, batch, method if method != "qlora" else "lora",
                              "Apple GPU: the tiny profile (bitsandbytes 4-bit needs CUDA); try hub by hand")
    if online is None:
        online = hub_reachable()
    if not online:
        return Recommendation("tiny", dtype, batch, method,
                              f"{hw.gpu_name} found but the Hub is unreachable: tiny profile")
    return Recommendation("hub", dtype, batch, method,
                          f"{hw.gpu_name} with {mem:.0f} GB free and the Hub reachable: "
                          f"hub profile, {method} fine-tuning")


def summary(hw: Hardware | None = None, model_params: float = 135e6, online: bool | None = None,
            profile=None) -> str:
    """A few readable lines about the machine and the recommendation. The Hub check (2 s at most)
    happens only on a GPU, exactly as :func:`course_utils.profiles.get_profile` makes it, so the
    two agree; ``profile`` adds the profile the notebook actually uses."""
    hw = hw or detect()
    rec = recommend(hw, model_params, online=online)
    lines = [f"device        : {hw.device}" + (f" ({hw.gpu_name})" if hw.gpu_name else ""),
             f"CPU cores/RAM : {hw.cpu_count} cores, {hw.ram_gb:.1f} GB"]
    if hw.device != "cpu":
        lines.append(f"GPU memory    : {hw.free_memory_gb:.1f} GB free of {hw.total_memory_gb:.1f} GB")
        if hw.compute_capability:
            lines.append(f"compute cap.  : {hw.compute_capability[0]}.{hw.compute_capability[1]}")
    lines += [f"bf16 / fp16   : {'yes' if hw.bf16 else 'no'} / {'yes' if hw.fp16 else 'no'}",
              f"Colab         : {'yes' if hw.in_colab else 'no'}",
              f"recommended   : profile={rec.profile}, dtype={rec.dtype}, batch={rec.batch_size}, "
              f"method={rec.method} for {model_params / 1e6:.0f}M params",
              f"why           : {rec.reason}"]
    if profile is not None:
        lines.append(f"profile used  : {profile.name} ({profile.dtype} frozen weights on {profile.device})"
                     f" -- {profile.reason}")
    return "\n".join(lines)
