"""Lesson 02's exercises (transfer learning): freeze the body, mean pooling, parameter groups; each
check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from course_utils import encoders, vision
from course_utils.exercises import Exercise, ask, run_check, too_few_runs


def check_freeze_body(freeze_body: Callable) -> bool:
    """Easy: ``freeze_body(model)`` stops gradients in ``model.body`` and returns the number of
    parameters left trainable (the head's)."""
    def check():
        model = vision.SmallCNN(5)
        n = freeze_body(model)
        head = sum(p.numel() for p in model.head.parameters())
        if any(p.requires_grad for p in model.body.parameters()):
            return False, "some body parameters still have requires_grad=True"
        if not all(p.requires_grad for p in model.head.parameters()):
            return False, "the head must stay trainable: only freeze model.body"
        if n != head:
            return False, f"you returned {n}, but {head} parameters are trainable (the head's)"
        return True, f"{head} trainable parameters out of {sum(p.numel() for p in model.parameters())}"
    return run_check("freeze the body", check)


def freeze_body(model: nn.Module) -> int:
    """Solution: freeze the pretrained body; return how many parameters stay trainable."""
    model.body.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def check_mean_pool(mean_pool: Callable) -> bool:
    """Medium: ``mean_pool(hidden, mask)`` averages token vectors over real (mask == 1) tokens."""
    def check():
        gen = torch.Generator().manual_seed(0)
        hidden = torch.randn(3, 5, 4, generator=gen)
        mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 0, 0, 0]])
        got = mean_pool(hidden, mask)
        want = encoders.mean_pool(hidden, mask)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            return False, f"expected a tensor of shape {tuple(want.shape)}, got {getattr(got, 'shape', type(got))}"
        if torch.allclose(got, hidden.mean(1), atol=1e-5):
            return False, "that is the plain mean over all positions: padding must not count"
        if not torch.allclose(got, want, atol=1e-5):
            return False, "values differ from the masked mean: sum(hidden * mask) / sum(mask) per sentence"
        return True, "padding ignored, one vector per sentence"
    return run_check("mean pooling", check)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Solution: the average of the real tokens' vectors (padding has mask 0)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1)


def check_param_groups(param_groups: Callable) -> bool:
    """Hard: ``param_groups(model, body_lr, head_lr)`` returns optimiser groups: the trainable
    body parameters at ``body_lr``, the head's at ``head_lr``, each parameter exactly once."""
    def check():
        for frozen in (False, True):
            model = vision.SmallCNN(5)
            if frozen:
                model.body.requires_grad_(False)
            groups = param_groups(model, 1e-4, 1e-2)
            seen: list[int] = []
            for g in groups:
                ids = [id(p) for p in g["params"]]
                seen += ids
                head_ids = {id(p) for p in model.head.parameters()}
                if ids and set(ids) <= head_ids and g.get("lr") != 1e-2:
                    return False, "the head's group must use head_lr"
                if ids and not set(ids) & head_ids and g.get("lr") != 1e-4:
                    return False, "the body's group must use body_lr"
                if set(ids) & head_ids and not set(ids) <= head_ids:
                    return False, "keep head and body parameters in separate groups"
            if len(seen) != len(set(seen)):
                return False, "a parameter appears in two groups"
            want = {id(p) for p in model.parameters() if p.requires_grad}
            if set(seen) != want:
                if set(seen) - want:
                    return False, "frozen parameters were included"
                return False, "some trainable parameters are missing"
            torch.optim.AdamW(groups)  # must be a valid optimiser spec
        return True, "the pretrained body moves slowly, the new head quickly, frozen weights are left out"
    return run_check("parameter groups", check)


def param_groups(model: nn.Module, body_lr: float, head_lr: float) -> list[dict]:
    """Solution: a slow group for the trainable body, a fast one for the new head."""
    head = [p for p in model.head.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head}
    body = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": head, "lr": head_lr}]
    if body:
        groups.append({"params": body, "lr": body_lr})
    return groups


def _freeze_everything(model: nn.Module) -> int:
    model.requires_grad_(False)
    return 0


EXERCISES: tuple[Exercise, ...] = (
    Exercise("02", "freeze_body", check_freeze_body, freeze_body, wrong=(_freeze_everything,)),
    Exercise("02", "mean_pool", check_mean_pool, mean_pool, wrong=(lambda hidden, mask: hidden.mean(1),)),
    Exercise("02", "param_groups", check_param_groups, param_groups,
             wrong=(lambda model, body_lr, head_lr: [{"params": list(model.parameters()), "lr": head_lr}],
                    lambda model, body_lr, head_lr: param_groups(model, head_lr, body_lr))),  # swapped rates
)


# --------------------------------------------------------------------------- questions (issue 16)
SCRATCH_TEXT = {"A": "near chance, although it fits its own training questions",
                "B": "well above chance but below the fine-tuned model: it learns the task, only less well",
                "C": "close to the fine-tuned model (within 0.1): same architecture, same labels, same steps"}


def check_predict_scratch_text(prediction: str | None, scratch_acc: float, scratch_train_acc: float,
                               finetune_acc: float, n_classes: int) -> bool:
    """Predict, then run: the scratch encoder's test accuracy on questions in words its training never had."""
    chance = 1 / n_classes
    correct = "A" if scratch_acc < chance + 0.1 else "C" if scratch_acc >= finetune_acc - 0.1 else "B"
    why = (f"the encoder trained from scratch scored {scratch_acc:.1%} on the test questions (chance {chance:.1%}) "
           f"and {scratch_train_acc:.1%} on its own training questions; the fine-tuned pretrained encoder "
           f"{finetune_acc:.1%}. "
           "Starting from random weights, a model can only learn from the words of its few training questions: the "
           "embeddings of word pieces that occur only in the test questions never receive a gradient and keep their "
           "random values, so a question in new words looks like noise to it. The pretrained encoder had met those "
           "words among a billion sentence pairs and already placed 'moisten' near 'irrigate'; with few labels, "
           "that knowledge is what generalises beyond the labelled words.")
    return ask("predict_scratch_text", prediction, SCRATCH_TEXT, correct, why)


LP_FT = {"A": "it saves compute: the probe does part of the work, so fine-tuning needs fewer steps",
         "B": "a random head would send large, meaningless gradients into the pretrained body in the first steps",
         "C": "the probe's weights stay fixed during fine-tuning, so the head cannot overfit the few labels"}


def check_decide_lp_ft(answer: str | None) -> bool:
    """Decide: why fit a linear probe before fine-tuning the whole encoder (LP-FT)?"""
    why = ("with a random head the first losses are large, and their gradients, passed back through the body, "
           "reshape the features of the few training questions to suit that random head, while the features of words "
           "those questions never use stay where they were: the two no longer line up, and questions in new words "
           "suffer. A head started from the fitted probe is already sensible, so the first gradients are small and "
           "the body changes only where the task asks. Kumar et al. (2022) called this feature distortion and found "
           "LP-FT better than plain fine-tuning, most clearly out of distribution; the body's smaller learning rate "
           "serves the same end.")
    return ask("decide_lp_ft", answer, LP_FT, "B", why,
               hints={"A": "The probe costs seconds, but saving steps is not why it is there: the same steps follow.",
                      "C": "The head keeps training during fine-tuning, at the larger of the two learning rates."})


BODY_LR = {"A": "the larger body learning rate scored lower", "B": "the larger body learning rate scored higher",
           "C": "about the same (within 0.02)"}


def check_experiment_body_lr(answer: str | None, runs: dict[float, float]) -> bool:
    """Experiment: ``runs`` maps each body learning rate you tried to fine-tuning's mean test accuracy."""
    verdict = too_few_runs("experiment_body_lr", answer, runs, BODY_LR, "my_body_lr")
    if verdict is not None:
        return verdict
    (low, a_low), (high, a_high) = min(runs.items()), max(runs.items())
    correct = "C" if abs(a_high - a_low) <= 0.02 else "A" if a_high < a_low else "B"
    tried = ", ".join(f"{lr:g}: {acc:.1%}" for lr, acc in sorted(runs.items()))
    why = (f"your body learning rates and accuracies were {tried}: from {low:g} to {high:g} the accuracy went from "
           f"{a_low:.1%} to {a_high:.1%}. The body's rate decides how far the pretrained "
           "filters move: too large, and the first steps, driven by a random head and a handful of images, overwrite "
           "the features pretraining found (forgetting, on a small scale); too small, and the body stays what it was, "
           "so fine-tuning is no better than freezing. In between, the body adapts without being erased, and where "
           "that lies depends on the data, the steps and the head's rate, which is why practitioners sweep it. "
           "ULMFiT (Howard and Ruder, 2018) went further, with smaller rates for lower layers.")
    return ask("experiment_body_lr", answer, BODY_LR, correct, why)


EXERCISES += (
    Exercise("02", "predict_scratch_text", check_predict_scratch_text, "A", wrong=("B", "C"), kind="predict",
             measured=(0.116, 0.812, 0.613, 8)),
    Exercise("02", "decide_lp_ft", check_decide_lp_ft, "B", wrong=("A", "C"), kind="decide",
             feedback=(("C", "keeps training"),)),
    Exercise("02", "experiment_body_lr", check_experiment_body_lr, "A", wrong=("B", "C"), kind="experiment",
             measured=({0.001: 0.509, 0.01: 0.534, 0.03: 0.348},)),
)
