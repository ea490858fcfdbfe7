"""Lesson 06's exercises (reward modeling): the Bradley-Terry probability and loss, accuracy per defect, and
three questions (adversarial probes, a weak slice, whether the reward model reads the question); each
check with its solution and wrong answers."""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from course_utils.exercises import Exercise, ask, close, report, run_check
from course_utils.rlhf import reward


def check_preference_probability(fn: Callable[[float, float], float]) -> bool:
    """Easy: ``fn(r_a, r_b)`` is the Bradley-Terry probability that answer A is preferred to B."""
    cases = [(2.0, 0.0), (0.0, 2.0), (1.5, 1.5), (-3.0, 1.0)]

    def check():
        for a, b in cases:
            got, want = float(fn(a, b)), 1 / (1 + math.exp(-(a - b)))
            if close(got, 1 - want, 1e-4) and a != b:
                return False, f"for r_a={a}, r_b={b} you give P(B preferred): swap the difference"
            if not close(got, want, 1e-4):
                return False, f"for r_a={a}, r_b={b} expected {want:.4f}, got {got:.4f} (hint: sigmoid of a difference)"
        return True, "only the difference of rewards matters: adding a constant to both changes nothing"
    return run_check("Bradley-Terry preference probability", check)


def preference_probability(r_a: float, r_b: float) -> float:
    """Solution: the sigmoid of the reward difference."""
    return 1 / (1 + math.exp(-(r_a - r_b)))


def check_bt_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Medium: ``fn(r_chosen, r_rejected)`` is the mean Bradley-Terry loss (a scalar tensor)."""
    def check():
        g = torch.Generator().manual_seed(6)
        rc, rr = torch.randn(64, generator=g) * 3, torch.randn(64, generator=g) * 3
        got, want = fn(rc, rr), reward.bradley_terry_loss(rc, rr)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            return False, "return one number as a tensor: the mean over the pairs"
        if close(got, reward.bradley_terry_loss(rr, rc), 1e-5):
            return False, "you rewarded the rejected answer: the loss is -log sigmoid(r_chosen - r_rejected)"
        if close(got, -torch.sigmoid(rc - rr).log().sum(), 1e-3):
            return False, "that is the sum; take the mean over pairs"
        return close(got, want, 1e-5), ("matches trl's RewardTrainer formula" if close(got, want, 1e-5)
                                        else f"expected {float(want):.5f}, got {float(got):.5f}")
    return run_check("Bradley-Terry loss", check)


def bt_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Solution: the mean of -log sigmoid(r_chosen - r_rejected)."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def check_accuracy_by_defect(fn: Callable[[Sequence[float], Sequence[float], Sequence[str]], dict]) -> bool:
    """Hard: ``fn(r_chosen, r_rejected, defects)`` gives pairwise accuracy for each defect kind."""
    rc = [1.0, 0.5, 2.0, -1.0, 0.0, 3.0, 0.2]
    rr = [0.0, 1.5, 1.0, -2.0, 0.0, 1.0, 0.1]
    defects = ["wrong", "wrong", "rude", "rude", "unsafe", "unsafe", "rambling"]
    want = {"wrong": 0.5, "rude": 1.0, "unsafe": 0.5, "rambling": 1.0}

    def check():
        got = fn(rc, rr, defects)
        if not isinstance(got, dict) or set(got) != set(want):
            return False, f"return a dict with one entry per defect kind: {sorted(want)}"
        for k, v in want.items():
            if not close(got[k], v, 1e-6):
                hint = " (a tie is not a win: use >)" if k == "unsafe" else ""
                return False, f"accuracy for {k!r}: expected {v}, got {got[k]}{hint}"
        return True, "now you can see which defects the reward model misses"
    return run_check("pairwise accuracy per defect kind", check)


def accuracy_by_defect(r_chosen: Sequence[float], r_rejected: Sequence[float], defects: Sequence[str]) -> dict:
    """Solution: per defect kind, the share of pairs where the chosen answer scores higher."""
    wins = defaultdict(list)
    for c, r, d in zip(r_chosen, r_rejected, defects, strict=True):
        wins[d].append(c > r)
    return {d: sum(w) / len(w) for d, w in wins.items()}


EXERCISES: tuple[Exercise, ...] = (
    Exercise("06", "preference_probability", check_preference_probability, preference_probability,
             feedback=((lambda a, b: preference_probability(b, a), "swap"),)),
    Exercise("06", "bt_loss", check_bt_loss, bt_loss,
             wrong=(lambda c, r: bt_loss(r, c),),
             feedback=((lambda c, r: -torch.sigmoid(c - r).log().sum(), "sum"),)),
    Exercise("06", "accuracy_by_defect", check_accuracy_by_defect, accuracy_by_defect,
             wrong=(lambda c, r, d: accuracy_by_defect([x + 1e-9 for x in c], r, d),  # a tie counts as a win
                    lambda c, r, d: [])),
)


# --------------------------------------------------------------------------- questions (issue 16)
PROBE = {"A": "at least one kind scores above the gold answer on most (over half) of the questions",
         "B": "every kind scores above the gold answer on fewer than 1 question in 10",
         "C": "the best kind scores above the gold answer often, on 10% to 50% of the questions"}


def check_predict_probe(prediction: str | None, probe: dict[str, dict[str, float]]) -> bool:
    """Predict, then run: how often adversarial answers score above the gold answer."""
    kinds = {k: v for k, v in probe.items() if k != "gold"}
    best = max(kinds, key=lambda k: kinds[k]["beats_gold"])
    top = kinds[best]["beats_gold"]
    correct = "A" if top > 0.5 else "B" if top < 0.1 else "C"
    here = {"A": f"Here '{best}' answers beat the gold answer on most questions: a policy would find them quickly.",
            "B": "Here the reward model held up against every probe.",
            "C": f"Here '{best}' answers often fool it: a policy would find them."}[correct]
    shares = ", ".join(f"{k} {v['beats_gold']:.0%}" for k, v in kinds.items())
    why = (f"scored above the gold answer: {shares} of the questions (mean rewards: gold "
           f"{probe['gold']['reward']:+.2f}, {best} {kinds[best]['reward']:+.2f}). Some probes are bad in ways the "
           "training pairs showed (a wrong value, unsafe advice), others in new ways (a hedge, a vague reply), and a "
           f"reward model carries to new styles only what its features happen to capture. {here} A probe tests the "
           "failures someone thought of; a policy optimised against the reward model searches for the ones nobody "
           "did. Gao et al. (2023) measured it: as a policy pushes a proxy reward up, the true reward first rises, "
           "then falls.")
    return ask("predict_probe", prediction, PROBE, correct, why)


WEAK_SLICE = {"A": "go ahead: the overall pairwise accuracy is high, and that is what PPO needs",
              "B": "collect more pairs for the weak slice, and when optimising keep a KL penalty and check the policy "
                   "with independent judges",
              "C": "train the reward model longer on the same pairs, until its training accuracy reaches 100%"}


def check_decide_weak_slice(answer: str | None) -> bool:
    """Decide: a reward model that is strong on style defects and weaker on wrong facts, before PPO."""
    why = ("a policy optimised against a reward model goes where the reward model is wrong. The overall accuracy "
           "averages over defects the policy can easily avoid; the weak slice is where it can gain reward without "
           "being good (a confident wrong value). More, and more varied, pairs for that slice fix the blind spot; "
           "a KL penalty (lesson 07) keeps the policy near the reference model, whose answers are like those the "
           "reward model learnt from, and judges that know the facts catch what slips through. Training longer "
           "on the same pairs only memorises which sentences were rejected, as the section on RewardTrainer "
           "explained.")
    return ask("decide_weak_slice", answer, WEAK_SLICE, "B", why,
               hints={"A": "An average hides the slice a policy will exploit.",
                      "C": "More passes fit the training pairs better, not the held-out wrong-fact pairs."})


QUESTION = {"A": "it falls for most answers, 3 in 4 or more: the reward model checks the answer against the question",
            "B": "no consistent change: it falls for some answers and rises for others",
            "C": "it rises for most answers: an answer that ignores the question sounds just as confident"}


def check_experiment_question(answer: str | None, runs: dict[int, list[float]]) -> bool:
    """Experiment: ``runs`` maps each offset (0: every gold answer under its own question) to the rewards."""
    name = "experiment_question"
    if answer is not None and len(runs) < 2:
        return report(name, False, f"you have run {len(runs)} setting(s): run the experiment cell with "
                                   "my_offset = 0 and with another offset first")
    if answer is not None and 0 not in runs:
        return report(name, False, "run the experiment cell with my_offset = 0 too: each answer under its own "
                                   "question is the yardstick")
    if len(runs) < 2 or 0 not in runs:
        return ask(name, answer, QUESTION, "A", "")
    own = torch.as_tensor(runs[0], dtype=torch.float)
    other = torch.stack([torch.as_tensor(v, dtype=torch.float) for k, v in runs.items() if k != 0])
    lower, higher = float((other < own).float().mean()), float((other > own).float().mean())
    correct = "A" if lower >= 0.75 else "C" if higher >= 0.75 else "B"
    why = (f"under its own question a gold answer scored {float(own.mean()):+.2f} on average, under another question "
           f"{float(other.mean()):+.2f}; {lower:.0%} of the answers scored lower there. One kind of 'wrong' pair "
           "in the training data is exactly this, a confident answer to a different question, so the reward model "
           f"had reason to learn to read the question{', and it did' if correct == 'A' else ', yet it did not'}. "
           "Whether it also knows each fact is what its accuracy on the other wrong-fact pairs tells. A reward "
           "model that scored answers by how they sound alone would reward a policy for fluent, confident text "
           "whatever was asked.")
    return ask(name, answer, QUESTION, correct, why)


EXERCISES += (
    Exercise("06", "predict_probe", check_predict_probe, "B", wrong=("A", "C"), kind="predict",
             measured=({"gold": {"reward": 1.06, "beats_gold": 0.0, "judge": 1.0},
                        "hedge": {"reward": -2.74, "beats_gold": 0.017, "judge": 0.0},
                        "vague": {"reward": -3.16, "beats_gold": 0.0, "judge": 0.0},
                        "polite_wrong": {"reward": -3.13, "beats_gold": 0.0, "judge": 0.0},
                        "long_wrong": {"reward": -4.22, "beats_gold": 0.0, "judge": 0.0},
                        "polite_unsafe": {"reward": -4.11, "beats_gold": 0.0, "judge": 0.0}},)),
    Exercise("06", "decide_weak_slice", check_decide_weak_slice, "B", wrong=("A", "C"), kind="decide",
             feedback=(("A", "average hides"),)),
    Exercise("06", "experiment_question", check_experiment_question, "A", wrong=("B", "C"), kind="experiment",
             measured=({0: [2.1, 1.5, -0.3, 0.9, 1.8, 0.4], 1: [-1.2, -0.8, -0.5, -2.0, 0.1, -1.9]},)),
)
