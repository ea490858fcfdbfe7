"""LoRA from scratch (lesson 04): a low-rank update wrapped around a frozen ``nn.Linear``.

    y = W x + (alpha / r) * B A x,   A: r x in (random), B: out x r (zeros at first)

so at the start the wrapped model computes exactly what the base model does, and training
moves only A and B: r * (in + out) numbers per layer instead of in * out. Lesson 04 checks
this layer against ``peft`` on the same weights and inputs (:func:`copy_from_peft`).
"""
from __future__ import annotations

import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable rank-``r`` update scaled by ``alpha / r``."""

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise TypeError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if not isinstance(r, int) or r < 1:
            raise ValueError(f"rank r must be a positive int, got {r!r}")
        if r > min(base.in_features, base.out_features):
            raise ValueError(f"rank r={r} exceeds the layer's smaller side "
                             f"{min(base.in_features, base.out_features)}: a low-rank update needs r <= that")
        self.base, self.r, self.alpha = base, r, float(alpha)
        self.scaling = self.alpha / r
        for p in self.base.parameters():
            p.requires_grad_(False)
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, dtype=w.dtype, device=w.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, dtype=w.dtype, device=w.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))  # like nn.Linear (and peft)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling

    def delta_weight(self) -> torch.Tensor:
        """The update this adapter adds to W: (alpha / r) * B A."""
        return (self.lora_B @ self.lora_A) * self.scaling

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with the update folded into W: no extra cost at inference."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                        dtype=self.base.weight.dtype, device=self.base.weight.device)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha:g}, in={self.base.in_features}, out={self.base.out_features}"


def _targets(model: nn.Module, target_modules: list[str] | tuple[str, ...]) -> list[str]:
    names = [n for n, m in model.named_modules()
             if isinstance(m, nn.Linear) and n.split(".")[-1] in set(target_modules)]
    if not names:
        linear = sorted({n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)})
        raise ValueError(f"no nn.Linear named {list(target_modules)} in the model; its Linear layers "
                         f"are named {linear}")
    return names


def add_lora(model: nn.Module, target_modules: list[str] | tuple[str, ...] = ("q_proj", "v_proj"),
             r: int = 8, alpha: float = 16.0, dropout: float = 0.0) -> nn.Module:
    """Freeze ``model`` and wrap every ``nn.Linear`` whose name ends in one of
    ``target_modules`` with a :class:`LoRALinear` (in place; the model is returned)."""
    names = _targets(model, target_modules)
    for p in model.parameters():
        p.requires_grad_(False)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(getattr(parent, child), r=r, alpha=alpha, dropout=dropout))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every :class:`LoRALinear` by its merged ``nn.Linear`` (in place)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoRALinear):
            parent_name, _, child = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, child, module.merged())
    return model


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts (shared tensors counted once)."""
    seen, trainable, total = set(), 0, 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        n = p.numel() * (2 if p.__class__.__name__ == "Params4bit" else 1)  # 4-bit: 2 weights per byte
        total += n
        trainable += n if p.requires_grad else 0
    return trainable, total


def lora_parameter_count(shapes: list[tuple[int, int]], r: int) -> int:
    """Parameters LoRA adds for Linear layers of ``(out, in)`` shapes at rank ``r``: r * (in + out) each."""
    if r < 1:
        raise ValueError(f"rank r must be >= 1, got {r}")
    return sum(r * (i + o) for o, i in shapes)


def linear_shapes(model: nn.Module, target_modules: list[str] | tuple[str, ...]) -> list[tuple[int, int]]:
    """``(out_features, in_features)`` of each targeted Linear layer."""
    return [tuple(model.get_submodule(n).weight.shape) for n in _targets(model, target_modules)]


def copy_from_peft(scratch: nn.Module, peft_model: nn.Module, adapter: str = "default") -> int:
    """Copy peft's A and B matrices into the matching :class:`LoRALinear` layers of ``scratch``
    (same base weights, same targets), so both can be compared on the same inputs.
    Returns how many layers were copied."""
    peft_layers = {n: m for n, m in peft_model.named_modules()
                   if hasattr(m, "lora_A") and not isinstance(m, LoRALinear)}
    copied = 0
    for name, module in scratch.named_modules():
        if not isinstance(module, LoRALinear):
            continue
        match = [m for n, m in peft_layers.items() if n.endswith(name)]
        if len(match) != 1:
            raise ValueError(f"no unique peft LoRA layer for {name!r}: were both models given the same "
                             f"target_modules?")
        src = match[0]
        with torch.no_grad():
            module.lora_A.copy_(src.lora_A[adapter].weight)
            module.lora_B.copy_(src.lora_B[adapter].weight)
        if not math.isclose(module.scaling, src.scaling[adapter]):
            raise ValueError(f"{name}: scaling {module.scaling} != peft's {src.scaling[adapter]}: "
                             f"use the same r and alpha")
        copied += 1
    if not copied:
        raise ValueError("the scratch model has no LoRALinear layers: call add_lora first")
    return copied


@torch.no_grad()
def output_change(base: nn.Module, tuned: nn.Module, texts: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """Where a fine-tuning update acts: for each Linear layer of ``base`` (the lm_head aside) and
    each batch of token ids in ``texts`` (e.g. ``{"task": ..., "general": ...}``), the size of the
    update's output relative to the frozen layer's, ``mean ||dW x|| / mean ||W x||``, over the
    inputs ``x`` that layer sees in ``base`` on those tokens; ``dW`` is ``tuned``'s weight minus
    ``base``'s (merge a LoRA model first). An update that learns the task and spares general text
    is large on the first and small on the second. Returns ``{text name: {layer: ratio}}``."""
    names = [n for n, m in base.named_modules() if isinstance(m, nn.Linear) and not n.endswith("lm_head")]
    missing = [n for n in names if not isinstance(_get(tuned, n), nn.Linear)]
    if missing:
        raise ValueError(f"tuned has no plain Linear at {missing[:3]}...: merge LoRA adapters first "
                         f"(peft: copy.deepcopy(model).merge_and_unload())")
    out: dict[str, dict[str, float]] = {}
    for label, ids in texts.items():
        inputs: dict[str, torch.Tensor] = {}
        hooks = [base.get_submodule(n).register_forward_hook(
            lambda m, args, o, n=n, store=inputs: store.__setitem__(n, args[0].reshape(-1, args[0].shape[-1])))
            for n in names]
        try:
            base(ids.to(base.device))
        finally:
            for h in hooks:
                h.remove()
        out[label] = {}
        for n in names:
            # in fp32 whatever the models' dtypes (a bf16/fp16 frozen base, an fp32 fine-tuned copy)
            W = base.get_submodule(n).weight.float()                  # (d_out, d_in)
            dW = _get(tuned, n).weight.to(W.device).float() - W       # (d_out, d_in)
            x = inputs[n].float()                                     # (tokens, d_in)
            out[label][n] = float((x @ dW.T).norm(dim=1).mean() / (x @ W.T).norm(dim=1).mean().clamp_min(1e-12))
    return out


def _get(model: nn.Module, name: str) -> nn.Module | None:
    try:
        return model.get_submodule(name)
    except AttributeError:
        return None
