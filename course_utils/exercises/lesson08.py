"""Lesson 08's exercises (DPO): the implicit reward, the DPO loss, the KL-regularised optimal policy, and
three questions (beta and the KL, SFT before DPO, beta on fixed log-probabilities); each check with its
solution and wrong answers."""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_utils.exercises import Exercise, ask, close, run_check, too_few_runs
from course_utils.rlhf import dpo


def check_implicit_reward(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """Easy: ``fn(policy_logps, ref_logps, beta)`` is DPO's implicit reward of each answer."""
    pol, ref = torch.tensor([-10.0, -4.0, -7.5]), torch.tensor([-12.0, -4.0, -5.0])

    def check():
        got = torch.as_tensor(fn(pol, ref, 0.1), dtype=torch.float)
        want = 0.1 * (pol - ref)
        if close(got, -want, 1e-6):
            return False, "the sign is flipped: the reward is beta * (log pi - log ref)"
        if close(got, pol - ref, 1e-6):
            return False, "almost: multiply by beta"
        return close(got, want, 1e-6), ("an answer the policy likes more than the reference gets a positive reward"
                                        if close(got, want, 1e-6) else f"expected {want.tolist()}")
    return run_check("implicit reward", check)


def implicit_reward(policy_logps: torch.Tensor, ref_logps: torch.Tensor, beta: float) -> torch.Tensor:
    """Solution: beta times the log-ratio of policy to reference."""
    return beta * (policy_logps - ref_logps)


def check_dpo_loss(fn: Callable[..., torch.Tensor]) -> bool:
    """Medium: ``fn(pc, pr, rc, rr, beta)`` is the mean sigmoid DPO loss from sequence log-likelihoods."""
    def check():
        g = torch.Generator().manual_seed(8)
        pc, pr, rc, rr = (-20 + 5 * torch.randn(32, generator=g) for _ in range(4))
        got = torch.as_tensor(fn(pc, pr, rc, rr, 0.2), dtype=torch.float)
        want = dpo.dpo_loss(pc, pr, rc, rr, 0.2)["loss"]
        if got.numel() != 1:
            return False, "return the mean over pairs, one number"
        if close(got, dpo.dpo_loss(pr, pc, rr, rc, 0.2)["loss"], 1e-5):
            return False, "chosen and rejected are swapped"
        if close(got, -torch.nn.functional.logsigmoid(0.2 * (pc - pr)).mean(), 1e-5):
            return False, "you left out the reference model: use log-ratios log pi - log ref"
        ok = close(got, want, 1e-5)
        return ok, ("the same formula as trl's DPOTrainer (loss_type='sigmoid')" if ok
                    else f"expected {float(want):.5f}, got {float(got):.5f}")
    return run_check("DPO loss", check)


def dpo_loss(pc: torch.Tensor, pr: torch.Tensor, rc: torch.Tensor, rr: torch.Tensor, beta: float) -> torch.Tensor:
    """Solution: -log sigmoid of beta times the chosen minus the rejected log-ratio, averaged."""
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def check_optimal_policy(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> bool:
    """Hard: ``fn(ref_probs, rewards, beta)`` is the optimum of max E[r] - beta KL(pi || ref) over a
    few answers: pi*(y) = ref(y) exp(r(y) / beta) / Z."""
    ref = torch.tensor([0.5, 0.3, 0.15, 0.05])
    r = torch.tensor([0.0, 1.0, 2.0, -1.0])

    def check():
        for beta in (0.5, 2.0):
            got = torch.as_tensor(fn(ref, r, beta), dtype=torch.float)
            want = ref * torch.exp(r / beta)
            want = want / want.sum()
            if not close(got.sum(), 1.0, 1e-5):
                return False, "the probabilities must sum to 1: divide by Z"
            if not close(got, want, 1e-5):
                return False, f"beta={beta}: expected {[round(x, 4) for x in want.tolist()]}"
        return True, "small beta: all mass on the best answer; large beta: stays at the reference"
    return run_check("the KL-regularised optimal policy", check)


def optimal_policy(ref_probs: torch.Tensor, rewards: torch.Tensor, beta: float) -> torch.Tensor:
    """Solution: reweight the reference by exp(r / beta), then normalise."""
    unnormalised = ref_probs * torch.exp(rewards / beta)
    return unnormalised / unnormalised.sum()


EXERCISES: tuple[Exercise, ...] = (
    Exercise("08", "implicit_reward", check_implicit_reward, implicit_reward,
             feedback=((lambda p, r, b: p - r, "beta"),)),
    Exercise("08", "dpo_loss", check_dpo_loss, dpo_loss,
             wrong=(lambda pc, pr, rc, rr, b: -F.logsigmoid(b * (pc - pr)).mean(),),  # no reference model
             feedback=((lambda pc, pr, rc, rr, b: dpo_loss(pr, pc, rr, rc, b), "swapped"),)),
    Exercise("08", "optimal_policy", check_optimal_policy, optimal_policy,
             wrong=(lambda ref, r, b: torch.softmax(r / b, 0),),  # forgets the reference
             feedback=((lambda ref, r, b: ref * torch.exp(r / b), "sum to 1"),)),  # not normalised
)


# --------------------------------------------------------------------------- questions (issue 16)
BETA_KL = {"A": "the smallest beta: a weaker leash lets the policy move further in the same steps",
           "B": "the largest beta: it scales up the implicit rewards, so the loss pushes harder",
           "C": "about the same (within 20%): on deterministic pairs beta does not stop the drift"}


def check_predict_beta_kl(prediction: str | None, kl_by_beta: dict[float, float], steps: int) -> bool:
    """Predict, then run: which of the frontier's DPO runs ends furthest from the SFT model (KL)."""
    (lo, kl_lo), (hi, kl_hi) = min(kl_by_beta.items()), max(kl_by_beta.items())
    correct = "C" if abs(kl_lo - kl_hi) <= 0.2 * max(kl_lo, kl_hi) else "A" if kl_lo > kl_hi else "B"
    here = {"A": "Here the smallest beta went furthest.", "B": "Here the largest beta went furthest, against the "
            "usual pattern: one seed and a few steps are noisy, so compare with the frontier's other points.",
            "C": "Here the runs were too short or too noisy for beta to tell them apart."}[correct]
    why = (f"after {steps} steps on the same pairs, beta {lo:g} ended {kl_lo:.2f} nats per answer from the SFT model "
           f"and beta {hi:g} ended {kl_hi:.2f}. A pair's gradient is beta times sigmoid(-beta * gap) times the "
           "gradient of its log-ratio gap; Adam divides out the overall scale, so what beta really sets is when a "
           "pair stops pushing: once its gap is a few times 1/beta. A small beta keeps every pair pushing for "
           f"longer, so in the same number of steps the policy moves further. {here} The drift toy showed that beta "
           "sets how fast the push fades, not where it stops; in a short run, how fast is what you see, which is why "
           "the DPO paper could trace a reward-KL frontier by varying beta.")
    return ask("predict_beta_kl", prediction, BETA_KL, correct, why)


SFT_FIRST = {"A": "run DPO on the pretrained model with those pairs, the pretrained model as the reference",
             "B": "fine-tune it on the chosen answers (or other demonstrations) first, then run DPO from that "
                  "model, with it as the reference",
             "C": "train a reward model on the pairs first: DPO cannot learn from pairs without one"}


def check_decide_sft_first(answer: str | None) -> bool:
    """Decide: a pretrained model and a public set of pairs written by others; what comes first?"""
    why = ("DPO's loss comes from an objective that keeps the policy near the reference, and it assumes the pairs "
           "are answers the reference itself could give: it reweights what the reference says rather than teaching "
           "a new way of answering. A pretrained model does not answer in the chat format at all, so every chosen "
           "and rejected answer is far from what it would write, and the policy would have to learn the format and "
           "the preference at once from differences of log-ratios. The DPO paper uses an SFT model as the "
           "reference, and where none exists it first maximises the likelihood of the chosen answers; the lesson's "
           "pairs were the SFT model's own answers for the same reason.")
    return ask("decide_sft_first", answer, SFT_FIRST, "B", why,
               hints={"A": "DPO reweights what the reference already says; it is not meant to teach a format from "
                           "scratch.",
                      "C": "That is PPO's road: DPO's loss uses the policy's own log-ratios as the reward."})


BETA_FIXED = {"A": "both the loss and the preference accuracy", "B": "the loss (and the margins), not the accuracy",
              "C": "neither: beta only matters during training"}


def check_experiment_beta(answer: str | None, runs: dict[float, tuple[float, float]]) -> bool:
    """Experiment: ``runs`` maps each beta you tried to (DPO loss, preference accuracy) on fixed log-probabilities."""
    verdict = too_few_runs("experiment_beta", answer, runs, BETA_FIXED, "my_beta")
    if verdict is not None:
        return verdict
    (lo, (loss_lo, acc_lo)), (hi, (loss_hi, acc_hi)) = min(runs.items()), max(runs.items())
    acc_moved, loss_moved = abs(acc_hi - acc_lo) > 1e-6, abs(loss_hi - loss_lo) > 1e-6
    correct = "A" if acc_moved else "B" if loss_moved else "C"
    why = (f"with beta {lo:g} the loss on the same log-probabilities was {loss_lo:.4f} and the accuracy {acc_lo:.1%}; "
           f"with beta {hi:g}, {loss_hi:.4f} and {acc_hi:.1%}. The implicit reward is beta times a log-ratio, so "
           "beta rescales every reward and margin but cannot flip the sign of a margin: which answer the policy "
           "prefers is beta-free, and the accuracy only counts signs. The loss -log sigmoid(beta * gap) does "
           "change: toward log 2 for a tiny beta, and for a large one dominated by the pairs ranked the wrong way. "
           "In training that is what matters: beta decides how hard each pair still pushes, and so how far the "
           "policy moves in a run of a given length (the frontier above).")
    return ask("experiment_beta", answer, BETA_FIXED, correct, why)


EXERCISES += (
    Exercise("08", "predict_beta_kl", check_predict_beta_kl, "A", wrong=("B", "C"), kind="predict",
             measured=({0.05: 1.09, 0.1: 0.92, 0.5: 0.45}, 30)),
    Exercise("08", "decide_sft_first", check_decide_sft_first, "B", wrong=("A", "C"), kind="decide",
             feedback=(("C", "PPO's road"),)),
    Exercise("08", "experiment_beta", check_experiment_beta, "B", wrong=("A", "C"), kind="experiment",
             measured=({0.1: (0.62, 0.68), 0.5: (0.55, 0.68)},)),
)
