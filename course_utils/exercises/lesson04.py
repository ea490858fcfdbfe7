"""Lesson 04's exercises (LoRA): counting adapter parameters, the LoRA forward pass, a LoRA layer, and
three questions (LoRA's forgetting, serving many adapters, the rank of full fine-tuning's update);
each check with its solution and wrong answers."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from course_utils.exercises import Exercise, ask, run_check, too_few_runs


def check_lora_param_count(lora_param_count: Callable) -> bool:
    """Easy: ``lora_param_count(d_in, d_out, r)``: how many numbers A and B hold."""
    def check():
        for d_in, d_out, r in [(192, 192, 8), (192, 512, 4), (4096, 4096, 16), (10, 3, 1)]:
            got, want = lora_param_count(d_in, d_out, r), r * (d_in + d_out)
            if got != want:
                return False, (f"d_in={d_in}, d_out={d_out}, r={r}: expected {want}, got {got} "
                               f"(A is r x d_in, B is d_out x r)")
        return True, "r * (d_in + d_out): for 4096 x 4096 at r=16 that is 0.8% of the matrix"
    return run_check("LoRA parameter count", check)


def lora_param_count(d_in: int, d_out: int, r: int) -> int:
    """Solution: A is r x d_in, B is d_out x r."""
    return r * (d_in + d_out)


def check_lora_forward(lora_forward: Callable) -> bool:
    """Medium: ``lora_forward(x, W, A, B, alpha, r)`` = x W^T + (alpha / r) x A^T B^T."""
    def check():
        torch.manual_seed(0)
        x, W = torch.randn(3, 16), torch.randn(8, 16)
        A, B = torch.randn(4, 16), torch.randn(8, 4)
        want = x @ W.T + (x @ A.T @ B.T) * (8 / 4)
        got = lora_forward(x, W, A, B, 8, 4)
        if tuple(got.shape) != (3, 8):
            return False, f"output should be (batch, d_out) = (3, 8), got {tuple(got.shape)}"
        if torch.allclose(got, x @ W.T + x @ A.T @ B.T, atol=1e-5):
            return False, "scale the update by alpha / r"
        if not torch.allclose(got, want, atol=1e-4):
            return False, f"max difference {float((got - want).abs().max()):.3g} from x W^T + (alpha/r) x A^T B^T"
        return True, "the frozen path plus the scaled low-rank path"
    return run_check("LoRA forward", check)


def lora_forward(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                 alpha: float, r: int) -> torch.Tensor:
    """Solution: the frozen path plus the low-rank path, scaled by alpha / r."""
    return x @ W.T + (x @ A.T @ B.T) * (alpha / r)


def check_lora_layer(make_layer: Callable) -> bool:
    """Hard: ``make_layer(base, r, alpha)`` returns an nn.Module that wraps the frozen ``base``
    Linear with trainable ``A`` (r x in) and ``B`` (out x r, zeros) scaled by alpha / r."""
    def check():
        torch.manual_seed(0)
        base = nn.Linear(24, 12)
        layer = make_layer(base, 4, 8)
        x = torch.randn(5, 24)
        if not torch.allclose(layer(x), base(x), atol=1e-6):
            return False, "at initialisation the layer must compute exactly what base does: start B at zero"
        trainable = [p for p in layer.parameters() if p.requires_grad]
        n = sum(p.numel() for p in trainable)
        if n != 4 * (24 + 12):
            return False, f"expected {4 * (24 + 12)} trainable numbers (A and B only; freeze base), got {n}"
        shapes = sorted(tuple(p.shape) for p in trainable)
        if shapes != sorted([(4, 24), (12, 4)]):
            return False, f"A should be (r, in) = (4, 24) and B (out, r) = (12, 4), got {shapes}"
        A = next(p for p in trainable if tuple(p.shape) == (4, 24))
        B = next(p for p in trainable if tuple(p.shape) == (12, 4))
        if A.abs().sum().item() == 0:
            return False, "A must start random (only B starts at zero), or B gets no gradient"
        with torch.no_grad():
            B.normal_()
        want = base(x) + x @ A.T @ B.T * 2.0
        if not torch.allclose(layer(x), want, atol=1e-4):
            return False, "with non-zero B the output should be base(x) + (alpha/r) x A^T B^T"
        layer(x).sum().backward()
        if base.weight.grad is not None:
            return False, "the base weight received a gradient: freeze it (requires_grad_(False))"
        return True, "a working LoRA layer: frozen W, trainable A and B, zero update at the start"
    return run_check("a LoRA layer", check)


class MyLoRA(nn.Module):
    """Solution: a frozen Linear plus B A, with B starting at zero."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.A = nn.Parameter(torch.empty(r, base.in_features))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scaling = alpha / r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + x @ self.A.T @ self.B.T * self.scaling


def make_layer(base: nn.Linear, r: int, alpha: float) -> nn.Module:
    """Solution: the LoRA layer around ``base``."""
    return MyLoRA(base, r, alpha)


class _RandomB(MyLoRA):
    """Wrong: B starts random, so the layer does not start as ``base``."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__(base, r, alpha)
        nn.init.normal_(self.B)


class _Unfrozen(MyLoRA):
    """Wrong: the base weight stays trainable."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__(base, r, alpha)
        base.requires_grad_(True)


EXERCISES: tuple[Exercise, ...] = (
    Exercise("04", "lora_param_count", check_lora_param_count, lora_param_count,
             wrong=(lambda i, o, r: i * o, lambda i, o, r: r * i * o)),
    Exercise("04", "lora_forward", check_lora_forward, lora_forward,
             wrong=(lambda x, W, A, B, alpha, r: x @ W.T + x @ A.T @ B.T,)),  # not scaled by alpha / r
    Exercise("04", "make_layer", check_lora_layer, make_layer,
             wrong=(_RandomB, _Unfrozen, lambda base, r, alpha: base)),
)


# --------------------------------------------------------------------------- questions (issue 16)
FORGETTING = {"A": "lower than full fine-tuning's: LoRA trains only a few percent of the weights, so it forgets less",
              "B": "about the same as full fine-tuning's (within 25%)",
              "C": "higher than full fine-tuning's"}


def check_predict_forgetting(prediction: str | None, base_ppl: float, full_ppl: float, lora_ppl: float) -> bool:
    """Predict, then run: LoRA's general-text perplexity against full fine-tuning's."""
    ratio = lora_ppl / full_ppl
    correct = "B" if 0.8 <= ratio <= 1.25 else "A" if ratio < 0.8 else "C"
    here = {"A": "Here LoRA's narrow low-rank window also kept its update off general text.",
            "B": "Here the two recipes ended up forgetting about as much.",
            "C": "Here LoRA, with few directions to move, moved them far; 'Where each update acts' below measures "
                 "how much each update adds to the layers' outputs on general text."}[correct]
    why = (f"general-text perplexity: base model {base_ppl:.2f}, full fine-tuning {full_ppl:.2f}, LoRA {lora_ppl:.2f} "
           f"({ratio:.2f}x full fine-tuning's). How many weights train does not set forgetting; how far the update "
           "moves the outputs on general text does, and lesson 03 showed that grows with the learning rate and the "
           "number of steps. LoRA's recipe has its own, higher learning rate and its own budget of steps. "
           f"{here} Biderman et al. (2024), comparing both on 7B models, summarised 'LoRA learns less and forgets "
           "less': a tendency of the recipes they tuned, not a guarantee of the method.")
    return ask("predict_forgetting", prediction, FORGETTING, correct, why)


SERVING = {"A": "merge each adapter into its own copy of the model: merged models run fastest",
           "B": "keep one frozen base model in memory and apply each request's adapter on top of it",
           "C": "merge all 30 adapters into the one base model (W plus the sum of their updates) and serve that"}


def check_decide_serving(answer: str | None) -> bool:
    """Decide: serve 30 customers' LoRA adapters of one 7B base model from one GPU."""
    why = ("30 merged copies of a 7B model take 30 x about 14 GB in 16 bits, while each adapter is a fraction "
           "of a percent of the model's size, beside one shared base. Merging is worth it for one task served "
           "alone, since it removes the side path's extra work; with many tasks that side path (r (d_in + d_out) "
           "multiply-adds per layer and token) is cheap, and serving systems such as S-LoRA or vLLM's multi-LoRA "
           "keep one base and batch requests for different adapters together. Summing all 30 updates into one "
           "model gives every customer the other 29 customers' changes as well: each update was trained alone, on "
           "the bare base.")
    return ask("decide_serving", answer, SERVING, "B", why,
               hints={"A": "Fast, but 30 full copies of the model do not fit on one GPU.",
                      "C": "The updates were not trained to be added together."})


UPDATE_RANK = {"A": "concentrated: at the smaller rank you tried, a rank-r matrix holds far more of it (1.5x or more) "
                    "than of a random matrix, though not nearly all of it",
               "B": "spread over all directions like noise: a rank-r matrix holds about as much of it as of a random "
                    "matrix",
               "C": "exactly low-rank: the smaller rank you tried already holds nearly all of it (95% or more)"}


def check_experiment_update_rank(answer: str | None, runs: dict[int, tuple[float, float]]) -> bool:
    """Experiment: ``runs`` maps each rank you tried to the shares of full fine-tuning's update and of a
    random matrix's that the best rank-r matrix holds."""
    verdict = too_few_runs("experiment_update_rank", answer, runs, UPDATE_RANK, "my_r")
    if verdict is not None:
        return verdict
    (r_lo, (ft_lo, rnd_lo)), (r_hi, (ft_hi, rnd_hi)) = min(runs.items()), max(runs.items())
    correct = "C" if ft_lo >= 0.95 else "A" if ft_lo >= 1.5 * rnd_lo else "B"
    why = (f"the best rank-{r_lo} matrix holds {ft_lo:.0%} of full fine-tuning's update and {rnd_lo:.0%} of a random "
           f"matrix's; at rank {r_hi}, {ft_hi:.0%} and {rnd_hi:.0%}. Full fine-tuning was free to change every "
           "direction of every matrix, and a random matrix spreads its size over all of them: the further the real "
           "update's share rises above the random one, the closer the update is to low-rank. That the change "
           "needed to adapt a model has a low 'intrinsic rank' is the bet of the LoRA paper (Hu et al., 2021, after "
           "Aghajanyan et al., 2020). It is only approximate: Biderman et al. (2024) found full fine-tuning's "
           "updates on code and maths to have a rank 10-100x higher than typical LoRA settings, one reason LoRA "
           "learns less there.")
    return ask("experiment_update_rank", answer, UPDATE_RANK, correct, why)


EXERCISES += (
    Exercise("04", "predict_forgetting", check_predict_forgetting, "C", wrong=("A", "B"), kind="predict",
             measured=(2.10, 19.6, 133.3)),
    Exercise("04", "decide_serving", check_decide_serving, "B", wrong=("A", "C"), kind="decide",
             feedback=(("A", "do not fit"),)),
    Exercise("04", "experiment_update_rank", check_experiment_update_rank, "A", wrong=("B", "C"), kind="experiment",
             measured=({8: (0.50, 0.15), 32: (0.90, 0.47)},)),
)
