"""Lesson 07's exercises (PPO): the k3 KL estimate, the clipped objective, GAE, and three questions (the judges
after PPO, reward hacking, sampling temperature); each check with its solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from course_utils import evaluation
from course_utils.exercises import Exercise, ask, close, run_check, too_few_runs
from course_utils.rlhf import ppo


def check_k3(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """Easy: ``fn(logp, ref_logp)`` is the per-token k3 estimate of KL(pi || ref)."""
    logp = torch.log(torch.tensor([0.5, 0.2, 0.9, 0.05]))
    ref = torch.log(torch.tensor([0.25, 0.4, 0.9, 0.3]))

    def check():
        got = torch.as_tensor(fn(logp, ref), dtype=torch.float)
        k1, k3 = ppo.kl_estimates(logp, ref)
        if got.shape != k3.shape:
            return False, f"return one value per token, shape {tuple(k3.shape)}"
        if close(got, k1, 1e-5):
            return False, "that is k1 = log pi - log ref; k3 is (r - 1) - log r with r = ref / pi"
        if (got < -1e-6).any():
            return False, "k3 can never be negative: check which way round the ratio goes (r = ref / pi)"
        ok = close(got, k3, 1e-5)
        return ok, "never negative and unbiased" if ok else "not yet: r = exp(ref_logp - logp)"
    return run_check("the k3 KL estimate", check)


def k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Solution: (r - 1) - log r with r = ref / pi, per token."""
    log_r = ref_logp - logp
    return (log_r.exp() - 1) - log_r


def check_clipped_objective(fn: Callable[[np.ndarray, float, float], np.ndarray]) -> bool:
    """Medium: ``fn(ratio, advantage, eps)`` is PPO's clipped surrogate objective per token."""
    ratio = np.linspace(0.1, 3.0, 30)

    def check():
        for adv in (2.0, -1.5):
            got = np.asarray(fn(ratio, adv, 0.2), dtype=float)
            want = ppo.clipped_objective(ratio, adv, 0.2)
            if close(got, ratio * adv, 1e-6):
                return False, "that is the unclipped objective r * A: clip the ratio to [1 - eps, 1 + eps]"
            if close(got, np.clip(ratio, 0.8, 1.2) * adv, 1e-6):
                return False, f"with A={adv} you always clip; PPO takes the minimum of the clipped and unclipped terms"
            if not close(got, want, 1e-6):
                return False, f"with A={adv} the values differ from min(r A, clip(r) A)"
        return True, "a pessimistic bound: no gain beyond the clip, but every loss counts"
    return run_check("the clipped objective", check)


def clipped_objective(ratio: np.ndarray, advantage: float, eps: float) -> np.ndarray:
    """Solution: the minimum of the unclipped and the clipped term."""
    return np.minimum(ratio * advantage, np.clip(ratio, 1 - eps, 1 + eps) * advantage)


def check_gae(fn: Callable[[Sequence[float], Sequence[float], float, float], Sequence[float]]) -> bool:
    """Hard: ``fn(rewards, values, gamma, lam)`` gives GAE advantages of one answer (lists of floats)."""
    cases = [([0.0, 0.0, 1.0], [0.1, 0.2, 0.3], 1.0, 0.95), ([1.0, -0.5, 0.2, 2.0], [0.5, 0.0, -0.3, 1.0], 0.9, 0.7),
             ([0.3], [1.0], 1.0, 1.0)]

    def check():
        for r, v, g, lam in cases:
            got = [float(x) for x in fn(r, v, g, lam)]
            want, _ = ppo.gae(torch.tensor([r]), torch.tensor([v]), torch.ones(1, len(r)), g, lam)
            want = want[0].tolist()
            if len(got) != len(want):
                return False, f"one advantage per token: expected {len(want)}, got {len(got)}"
            if not close(got, want, 1e-5):
                return False, (f"rewards={r}, values={v}, gamma={g}, lam={lam}: expected "
                               f"{[round(x, 4) for x in want]}, got {[round(x, 4) for x in got]} "
                               f"(go backwards; the value after the last token is 0)")
        return True, "with lam=1 this is reward-to-go minus the value; with lam=0 it is the one-step TD error"
    return run_check("generalised advantage estimation", check)



def gae(rewards: Sequence[float], values: Sequence[float], gamma: float, lam: float) -> list[float]:
    """Solution: backwards from the last token, whose next value is 0."""
    advantages, next_adv = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        next_value = values[t + 1] if t + 1 < len(values) else 0.0
        delta = rewards[t] + gamma * next_value - values[t]
        next_adv = delta + gamma * lam * next_adv
        advantages[t] = next_adv
    return advantages


EXERCISES: tuple[Exercise, ...] = (
    Exercise("07", "k3", check_k3, k3,
             wrong=(lambda lp, ref: k3(ref, lp),),  # the ratio the wrong way round
             feedback=((lambda lp, ref: lp - ref, "k1"),)),
    Exercise("07", "clipped_objective", check_clipped_objective, clipped_objective,
             wrong=(lambda r, a, e: np.maximum(r * a, np.clip(r, 1 - e, 1 + e) * a),),
             feedback=((lambda r, a, e: r * a, "unclipped"),)),
    Exercise("07", "gae", check_gae, gae,
             wrong=(lambda r, v, g, lam: [x - y for x, y in zip(r, v, strict=True)],
                    lambda r, v, g, lam: gae(r, v, g, 1.0))),  # ignores lambda
)


# --------------------------------------------------------------------------- questions (issue 16)
JUDGES = {"A": "it rises clearly: what the reward model rewards overlaps with what the judges check",
          "B": "it falls: PPO chases the reward model's score at the expense of real quality",
          "C": "it stays within the noise: PPO changes what the reward model sees, not what the judges check"}


def check_predict_judges(prediction: str | None, judge_before: float, judge_after: float, rm_before: float,
                         rm_after: float, n: int) -> bool:
    """Predict, then run: the judges' score (which PPO never sees) of the main PPO run's answers."""
    (lo_b, hi_b), (lo_a, hi_a) = evaluation.interval(judge_before, n), evaluation.interval(judge_after, n)
    correct = "A" if lo_a > hi_b else "B" if hi_a < lo_b else "C"
    verdict = {"A": "Here the two agreed enough for the judges to see a real gain.",
               "B": "Here they disagreed: the policy found answers the reward model overrates.",
               "C": "Here the reward gain did not reach the judges beyond the noise."}[correct]
    why = (f"the judges' score went from {judge_before:.3f} to {judge_after:.3f} on {n} held-out prompts (95% "
           f"intervals {lo_b:.2f}-{hi_b:.2f} and {lo_a:.2f}-{hi_a:.2f}), the reward-model score from {rm_before:+.2f} "
           f"to {rm_after:+.2f}. PPO only ever sees the reward model, so the judges move only as far as the two agree: "
           "lesson 06's reward model sees the forum's habits (rambling, unsafe tips, insults) well, and wrong facts "
           f"less well. {verdict} At scale, InstructGPT's labellers preferred the PPO model's answers to the SFT "
           "model's, with a KL penalty holding the policy near the SFT model, where the reward model is reliable.")
    return ask("predict_judges", prediction, JUDGES, correct, why)


HACKING = {"A": "keep training: the reward is still rising, and the reward is the objective",
           "B": "go back to an earlier checkpoint, raise the KL coefficient or lower the learning rate, and choose "
                "runs by an evaluation the policy never optimised (judges, people)",
           "C": "widen the clip range, so PPO escapes to a better optimum faster"}


def check_decide_reward_hacking(answer: str | None) -> bool:
    """Decide: the reward keeps rising while the KL races up and the answers turn strange."""
    why = ("a reward that keeps rising while the KL to the reference races up and the answers turn strange is reward "
           "hacking: the policy has found inputs on which the reward model, a learnt proxy, is wrong. The hacking "
           "experiment above is this on purpose (no KL penalty, large steps). The leash is the KL penalty and small "
           "steps, and the referee must be something the policy never optimised: Gao et al. (2022) measured that "
           "as the KL grows the proxy reward keeps rising while the true reward peaks and then falls.")
    return ask("decide_reward_hacking", answer, HACKING, "B", why,
               hints={"A": "The reward model is a proxy: its score rising says only that the policy found what "
                            "it scores highly.",
                      "C": "A wider clip lets each update move the policy further, the opposite of a leash."})


TEMPERATURE = {"A": "the lower temperature", "B": "the higher temperature", "C": "about the same (within 0.05)"}


def check_experiment_temperature(answer: str | None, runs: dict[float, float]) -> bool:
    """Experiment: ``runs`` maps each sampling temperature you tried to the judges' score of the answers."""
    verdict = too_few_runs("experiment_temperature", answer, runs, TEMPERATURE, "my_temperature")
    if verdict is not None:
        return verdict
    (cold, s_cold), (hot, s_hot) = min(runs.items()), max(runs.items())
    correct = "C" if abs(s_hot - s_cold) <= 0.05 else "A" if s_cold > s_hot else "B"
    here = {"A": "Here the likeliest answers were the better ones, so sampling hotter cost quality.",
            "B": "Here the hotter samples scored better: the policy's likeliest answers may hide a habit the "
                 "judges reject; read a few answers of each run.",
            "C": "Here the two temperatures were too close to tell apart on this many prompts: try 0 against 1.5."}
    why = (f"at temperature {cold:g} the PPO policy's answers scored {s_cold:.3f} with the judges, at temperature "
           f"{hot:g} they scored {s_hot:.3f}. Temperature divides the logits before the softmax: below 1 it sharpens "
           "the distribution toward the likeliest tokens (0 is greedy), above 1 it spreads it over the tail. "
           f"{here[correct]} PPO samples at temperature 1 while it trains, to explore and because its ratios assume "
           "the policy's own probabilities, but a deployed model usually answers greedily or at a low temperature.")
    return ask("experiment_temperature", answer, TEMPERATURE, correct, why)


EXERCISES += (
    Exercise("07", "predict_judges", check_predict_judges, "A", wrong=("B", "C"), kind="predict",
             measured=(0.579, 0.917, -0.28, 1.52, 240)),
    Exercise("07", "decide_reward_hacking", check_decide_reward_hacking, "B", wrong=("A", "C"), kind="decide",
             feedback=(("A", "proxy"),)),
    Exercise("07", "experiment_temperature", check_experiment_temperature, "A", wrong=("B", "C"), kind="experiment",
             measured=({0.3: 0.85, 1.0: 0.36},)),
)
