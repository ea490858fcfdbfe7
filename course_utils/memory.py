"""Will it fit? Estimate, and measure, the memory one training step needs.

The estimate (:func:`estimate_training_memory`) adds four parts, in bytes:

* **weights**   ``P * b_w``; QLoRA stores the quantised linear weights in NF4 with double
  quantisation, ``4.127 / 8`` bytes per weight (Dettmers et al., 2023), and keeps the
  embeddings in the compute dtype.
* **gradients** ``T * b_g`` for the ``T`` trainable parameters (all ``P`` for full
  fine-tuning; the adapters for LoRA/QLoRA, kept in float32).
* **optimizer** AdamW keeps two float32 moments, ``8 T`` bytes (``2 T`` for 8-bit AdamW,
  ``0`` for plain SGD); full fine-tuning in 16-bit also keeps a float32 master copy (``4 T``).
* **activations** what the forward pass saves for backward, per layer
  ``b * s * h * (A + 2 a s / h) * e`` with ``A = 18`` (the inputs of the attention and MLP
  matrix multiplies, norms and activations; after Korthikanti et al., 2022, without dropout
  masks; ``A = 12`` for LoRA/QLoRA, whose frozen MLP weights need not save their inputs)
  plus the language-model head's logits and their float32 softmax, ``b * s * V * (e + 8)``.
  With gradient checkpointing only each layer's input is kept, plus one layer's worth.

``P`` parameters, ``b`` batch, ``s`` sequence length, ``h`` hidden size, ``a`` heads, ``V``
vocabulary, ``e`` bytes per activation element. Frameworks add workspace and fragmentation
(typically 10-20 % on a GPU), so leave head-room: :func:`fits` keeps 15 % spare.
:func:`measure_training_memory` measures the same four parts on a real model, and the unit
tests check that the estimate's total is within 25 % of the measurement on small Llama and
GPT-2 models, for full fine-tuning and LoRA.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from course_utils import devices

BYTES = {"float32": 4, "fp32": 4, "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2, "int8": 1, "nf4": 0.5}
OPTIMIZER_BYTES = {"adamw": 8, "adam": 8, "adamw8bit": 2, "paged_adamw8bit": 2, "sgd": 0}
METHODS = ("full", "lora", "qlora")
NF4_BYTES_PER_WEIGHT = 4.127 / 8
ACTIVATION_ELEMENTS_PER_TOKEN_HIDDEN = {"full": 18, "lora": 12, "qlora": 12}

#: Shapes of well-known models (parameters, layers, hidden size, heads, vocabulary, tied embeddings).
_SHAPE_FIELDS = ("n_params", "n_layers", "hidden_size", "n_heads", "vocab_size", "tied_embeddings")
MODEL_SHAPES: dict[str, dict[str, Any]] = {name: dict(zip(_SHAPE_FIELDS, row, strict=True)) for name, row in {
    "SmolLM2-135M": (134.5e6, 30, 576, 9, 49152, True),
    "SmolLM2-360M": (361.8e6, 32, 960, 15, 49152, True),
    "Qwen2.5-0.5B": (494e6, 24, 896, 14, 151936, True),
    "Llama-2-7B": (6.74e9, 32, 4096, 32, 32000, False),
    "Llama-2-13B": (13.0e9, 40, 5120, 40, 32000, False),
    "Llama-2-70B": (69.0e9, 80, 8192, 64, 32000, False),
}.items()}

#: Memory of common GPUs, in GB.
GPUS = {"T4": 16, "L4": 24, "A10G": 24, "RTX 4090": 24, "A100-40GB": 40, "A100-80GB": 80, "H100": 80}


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes for each part of one training step, and their total."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    method: str
    trainable_params: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    @property
    def total_mb(self) -> float:
        return self.total / 2**20

    @property
    def total_gb(self) -> float:
        return self.total / 2**30

    def as_dict(self, unit: str = "MB") -> dict[str, float]:
        """The parts and the total in ``unit`` ("B", "MB" or "GB")."""
        div = {"B": 1, "MB": 2**20, "GB": 2**30}[unit]
        parts = {k: v / div for k, v in asdict(self).items()
                 if k in ("weights", "gradients", "optimizer", "activations")}
        return {**parts, "total": self.total / div}


def _positive(name: str, value: float, allow_zero: bool = False) -> None:
    if not isinstance(value, (int, float)) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def lora_trainable_params(n_layers: int, hidden_size: int, rank: int = 16, modules_per_layer: int = 4) -> int:
    """Adapter parameters of rank-``rank`` LoRA on ``modules_per_layer`` square (h x h) matrices per layer."""
    return int(n_layers * modules_per_layer * rank * 2 * hidden_size)


def estimate_training_memory(
    n_params: float, method: str = "full", dtype: str = "float32", optimizer: str = "adamw", *,
    batch_size: int = 1, seq_len: int = 512, n_layers: int, hidden_size: int, n_heads: int | None = None,
    vocab_size: int, tied_embeddings: bool = True, trainable_params: float | None = None, lora_rank: int = 16,
    gradient_checkpointing: bool = False,
) -> MemoryEstimate:
    """Estimate one training step's memory (see the module docstring for the formula)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if dtype not in BYTES or dtype in ("int8", "nf4"):
        raise ValueError(f"unknown training dtype {dtype!r}; use float32, bfloat16 or float16")
    if optimizer not in OPTIMIZER_BYTES:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_BYTES)}")
    for name, v in [("n_params", n_params), ("batch_size", batch_size), ("seq_len", seq_len),
                    ("n_layers", n_layers), ("hidden_size", hidden_size), ("vocab_size", vocab_size)]:
        _positive(name, v)
    n_heads = n_heads or max(1, hidden_size // 64)
    e = BYTES[dtype]
    embed = vocab_size * hidden_size * (1 if tied_embeddings else 2)
    if embed > n_params:
        raise ValueError(f"n_params={n_params:g} is smaller than the embeddings alone ({embed:g}): check the shapes")

    if method == "full":
        trainable = n_params if trainable_params is None else trainable_params
        weights = n_params * e
        gradients = trainable * e
        optim = trainable * OPTIMIZER_BYTES[optimizer] + (trainable * 4 if e < 4 else 0)
    else:
        if trainable_params is not None:
            trainable = trainable_params
        else:
            trainable = lora_trainable_params(n_layers, hidden_size, lora_rank)
        _positive("trainable_params", trainable)
        base = (n_params - embed) * NF4_BYTES_PER_WEIGHT + embed * e if method == "qlora" else n_params * e
        weights = base + trainable * 4
        gradients = trainable * 4
        optim = trainable * OPTIMIZER_BYTES[optimizer]

    tokens = batch_size * seq_len
    per_layer = tokens * (ACTIVATION_ELEMENTS_PER_TOKEN_HIDDEN[method] * hidden_size + 2 * n_heads * seq_len) * e
    if gradient_checkpointing:
        layers = n_layers * tokens * hidden_size * e + per_layer
    else:
        layers = n_layers * per_layer
    logits = tokens * vocab_size * (e + 8)
    return MemoryEstimate(weights=weights, gradients=gradients, optimizer=optim, activations=layers + logits,
                          method=method, trainable_params=trainable)


def estimate_for(model_name: str, method: str = "full", dtype: str = "bfloat16", **kwargs: Any) -> MemoryEstimate:
    """:func:`estimate_training_memory` for a model in :data:`MODEL_SHAPES`."""
    if model_name not in MODEL_SHAPES:
        raise ValueError(f"unknown model {model_name!r}; known: {', '.join(MODEL_SHAPES)}")
    return estimate_training_memory(method=method, dtype=dtype, **{**MODEL_SHAPES[model_name], **kwargs})


def shape_of(model: torch.nn.Module) -> dict[str, Any]:
    """The shape arguments of :func:`estimate_training_memory` for a ``transformers`` model."""
    cfg = model.config
    get = lambda *names: next(getattr(cfg, n) for n in names if getattr(cfg, n, None) is not None)  # noqa: E731
    n_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    return dict(n_params=n_params, n_layers=get("num_hidden_layers", "n_layer"),
                hidden_size=get("hidden_size", "n_embd"), n_heads=get("num_attention_heads", "n_head"),
                vocab_size=get("vocab_size"),
                tied_embeddings=bool(getattr(cfg, "tie_word_embeddings", True)))


def fits(estimate: MemoryEstimate, gpu_gb: float, headroom: float = 0.15) -> bool:
    """Does the estimate fit in ``gpu_gb`` with ``headroom`` (a fraction) to spare?"""
    _positive("gpu_gb", gpu_gb)
    return estimate.total_gb <= gpu_gb * (1 - headroom)


def _tensor_bytes(tensors, seen: set[int]) -> int:
    total = 0
    for t in tensors:
        if t is None or not isinstance(t, torch.Tensor):
            continue
        storage = t.untyped_storage()
        key = storage.data_ptr()
        if key in seen or storage.nbytes() == 0:
            continue
        seen.add(key)
        total += storage.nbytes()
    return total


def measure_step_memory(models: Sequence[torch.nn.Module],
                        loss_fn: Callable[[], torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]],
                        optimizer_cls: Callable[..., torch.optim.Optimizer] = torch.optim.AdamW,
                        ) -> dict[str, float]:
    """Measure, in MB, the memory one training step keeps alive, part by part, for a method that
    holds several models (PPO: policy, reference, value and reward model; DPO: policy and reference).

    Weights and buffers of every model are counted from their storages (shared ones once);
    activations are the tensors autograd saves for backward while ``loss_fn()`` runs (caught with
    ``saved_tensors_hooks``, parameters excluded), plus any tensors it returns beside the loss as
    kept alive until backward (``(loss, [logits])``); gradients and optimizer state are counted after
    one ``backward`` and ``step`` of the trainable parameters. This counts tensors, not allocator
    overhead, so it is the same on CPU and GPU. The models are left unchanged (the step is undone).
    """
    params = list(dict.fromkeys(p for m in models for p in m.parameters()))
    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise ValueError("the model(s) have no trainable parameters: nothing to train")
    backup = [p.detach().clone() for p in trainable]
    seen: set[int] = set()
    weights = _tensor_bytes(params + [b for m in models for b in m.buffers()], seen)
    param_ptrs = set(seen)
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = loss_fn()
    loss, kept = out if isinstance(out, tuple) else (out, [])
    activations = _tensor_bytes([t for t in saved if t.untyped_storage().data_ptr() not in param_ptrs] + list(kept),
                                set(param_ptrs))
    loss.backward()
    gradients = _tensor_bytes([p.grad for p in trainable], set())
    opt = optimizer_cls(trainable, lr=1e-3)
    opt.step()
    optim = _tensor_bytes([v for state in opt.state.values() for v in state.values()
                           if isinstance(v, torch.Tensor) and v.dim() > 0], set())
    with torch.no_grad():
        for p, b in zip(trainable, backup, strict=True):
            p.copy_(b)
            p.grad = None
    saved.clear()  # free the activations now (emptied, not deleted: pack still refers to the list)
    del out, loss, kept, opt
    mb = 2**20
    parts = {"weights_mb": weights / mb, "gradients_mb": gradients / mb, "optimizer_mb": optim / mb,
             "activations_mb": activations / mb}
    return {**parts, "total_mb": sum(parts.values())}


def measure_training_memory(model: torch.nn.Module, batch: dict[str, torch.Tensor],
                            optimizer_cls: Callable[..., torch.optim.Optimizer] = torch.optim.AdamW,
                            ) -> dict[str, float]:
    """:func:`measure_step_memory` for one model trained on ``batch`` with its own loss (SFT, LoRA):
    weights, gradients, AdamW state and the activations autograd saves, including the logits."""
    if "labels" not in batch:
        raise ValueError("batch needs 'labels' (for a causal LM, a copy of input_ids) to compute a loss")
    batch = devices.to_device(batch, model)
    model.train()

    def loss_fn() -> tuple[torch.Tensor, list[torch.Tensor]]:
        out = model(**batch)
        return out.loss, [out.logits]  # the logits stay alive until backward: activations too
    return measure_step_memory([model], loss_fn, optimizer_cls)
