"""The course's own PPO trainer for language models (RLHF), small enough to read in one sitting.

trl removed its ``PPOTrainer`` in 1.13, so the course carries this one. It follows the recipe
of Ziegler et al. (2019) and InstructGPT (Ouyang et al., 2022) with the implementation details
collected by Huang et al. (2022, "The N Implementation Details of RLHF with PPO"). One step:

1. **Rollout.** The policy samples one answer per prompt (temperature, no top-k / top-p);
   every token after the first end-of-sequence token is masked out.
2. **Score.** A reward function (the reward model) scores prompt + answer; an answer that never
   ends gets ``missing_eos_penalty`` taken off its score.
3. **Per-token reward.** ``-kl_coef * (log pi - log ref)`` on every answer token (the k1 KL
   estimate against the frozen reference), plus the score on the answer's last token.
4. **Advantages.** A value model predicts the return at every token; GAE(gamma, lambda) turns
   rewards and values into advantages; returns = advantages + values; advantages are whitened.
5. **Update.** ``ppo_epochs`` passes over shuffled minibatches of the rollout: the clipped policy
   loss, the clipped value loss and an optional entropy bonus, one optimizer for both models.

The value model is separate from the policy (InstructGPT's choice): a copy of the reward model
whose scalar head is read at every position (:class:`ValueModel`), so it starts out already
knowing what a good answer looks like and the policy's body is not pulled two ways.
"""
from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from course_utils import cache, devices, memory, progress
from course_utils.generation import pad, sample
from course_utils.rlhf.common import (
    entropy_from_logits,
    forward_response,
    fresh_copy,
    masked_mean,
    masked_whiten,
    position_ids,
)

#: ``reward_fn(prompt_ids, response_ids) -> scores``: one float per (prompt, answer) pair; the
#: answers are token-id lists that end at (and include) the end token when there is one.
RewardFn = Callable[[list[list[int]], list[list[int]]], torch.Tensor]


@dataclass
class PPOConfig:
    """Hyperparameters of :class:`PPOTrainer` (names follow trl's former ``PPOConfig``)."""

    steps: int = 20                 # rollout + update rounds
    batch_size: int = 16            # prompts per rollout
    mini_batch_size: int = 8        # answers per gradient step
    ppo_epochs: int = 4             # passes over each rollout
    learning_rate: float = 1e-5
    max_new_tokens: int = 20
    temperature: float = 1.0        # sampling temperature; log-probs use the same one
    kl_coef: float = 0.05           # beta of the per-token KL penalty
    cliprange: float = 0.2          # epsilon of the clipped policy loss
    cliprange_value: float = 0.2    # clip of the value loss around the rollout's values
    vf_coef: float = 0.1            # weight of the value loss
    ent_coef: float = 0.0           # weight of the entropy bonus (0: logged only)
    gamma: float = 1.0
    lam: float = 0.95
    missing_eos_penalty: float | None = 1.0
    max_grad_norm: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch_size % self.mini_batch_size:
            raise ValueError(f"batch_size ({self.batch_size}) must be a multiple of mini_batch_size "
                             f"({self.mini_batch_size})")
        for name in ("steps", "batch_size", "mini_batch_size", "ppo_epochs", "max_new_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.kl_coef < 0 or self.cliprange <= 0 or self.temperature <= 0:
            raise ValueError("kl_coef must be >= 0, cliprange and temperature > 0")


# ----------------------------------------------------------------------------- the pieces
def kl_estimates(logprobs: torch.Tensor, ref_logprobs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token estimates of KL(pi || ref) from tokens sampled by pi (Schulman's note).

    k1 = log pi - log ref: unbiased, can be negative on a single token.
    k3 = (r - 1) - log r with r = ref / pi: also unbiased, never negative, lower variance."""
    log_r = ref_logprobs - logprobs
    return -log_r, torch.expm1(log_r) - log_r


def per_token_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
                      mask: torch.Tensor, kl_coef: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Rewards at every answer token: -kl_coef * k1, plus the score on the last real token.
    Returns ``(rewards, k1)``, both zero after the end of each answer."""
    k1, _ = kl_estimates(logprobs, ref_logprobs)
    k1 = k1 * mask
    rewards = -kl_coef * k1
    last = mask.long().sum(-1) - 1
    if (last < 0).any():
        raise ValueError("every answer needs at least one unmasked token")
    rewards[torch.arange(len(scores)), last] += scores.to(rewards.dtype)
    return rewards, k1


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0,
        lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation, backwards over the answer tokens.

    delta_t = r_t + gamma * V_{t+1} - V_t;  A_t = delta_t + gamma * lam * A_{t+1}; the value after
    the last token is 0. Returns ``(advantages, returns)`` with returns = advantages + values."""
    m = mask.to(values.dtype)
    values, rewards = values * m, rewards * m
    next_adv = torch.zeros_like(values[:, 0])
    advs = []
    for t in reversed(range(values.shape[1])):
        next_value = values[:, t + 1] if t + 1 < values.shape[1] else torch.zeros_like(next_adv)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_adv = delta + gamma * lam * next_adv
        advs.append(next_adv)
    adv = torch.stack(advs[::-1], dim=1) * m
    return adv, adv + values


def clipped_objective(ratio, advantage, cliprange: float = 0.2):
    """PPO's surrogate per token: min(r * A, clip(r, 1 - eps, 1 + eps) * A) (to be maximised).
    Works on tensors and NumPy arrays alike (the lesson's widget plots it)."""
    lib = torch if isinstance(ratio, torch.Tensor) else __import__("numpy")
    clipped = lib.clip(ratio, 1 - cliprange, 1 + cliprange)
    return lib.minimum(ratio * advantage, clipped * advantage)


def policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                mask: torch.Tensor, cliprange: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The clipped policy loss -E[min(r A, clip(r) A)], with r = pi / pi_old per token.
    Returns the loss and its diagnostics (clip fraction, approximate KL to pi_old, mean ratio)."""
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    with torch.no_grad():
        stats = {"clipfrac": float(masked_mean((clipped > unclipped).float(), mask)),
                 "approx_kl": float(masked_mean(0.5 * log_ratio ** 2, mask)),
                 "ratio": float(masked_mean(ratio, mask))}
    return loss, stats


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               cliprange_value: float) -> tuple[torch.Tensor, float]:
    """The clipped value loss 0.5 * E[max((V - R)^2, (V_clip - R)^2)], with V_clip kept within
    ``cliprange_value`` of the rollout's values. Returns the loss and the clip fraction."""
    v_clipped = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    loss1, loss2 = (values - returns) ** 2, (v_clipped - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(loss1, loss2), mask)
    return loss, float(masked_mean((loss2 > loss1).float(), mask))


# ----------------------------------------------------------------------------- models
class ValueModel(nn.Module):
    """Per-token values from a sequence-classification model: its transformer body and its
    scalar ``score`` layer read at every position (not only the last, as for a reward)."""

    def __init__(self, seq_cls_model: nn.Module):
        super().__init__()
        if not hasattr(seq_cls_model, "score"):
            raise TypeError("ValueModel needs a sequence-classification model with a `score` layer "
                            "(e.g. AutoModelForSequenceClassification(num_labels=1), like the reward model)")
        self.body = getattr(seq_cls_model, seq_cls_model.base_model_prefix)
        self.head = seq_cls_model.score

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask,
                           position_ids=position_ids(attention_mask), use_cache=False).last_hidden_state
        return self.head(hidden).squeeze(-1).float()


def value_model_from(reward_model: nn.Module) -> ValueModel:
    """A trainable value model initialised from (a copy of) the reward model."""
    return ValueModel(copy.deepcopy(reward_model))


def reward_model_fn(reward_model: nn.Module, pad_id: int) -> RewardFn:
    """Wrap a sequence-classification reward model as a :data:`RewardFn`."""

    @torch.no_grad()
    def score(prompt_ids: list[list[int]], response_ids: list[list[int]]) -> torch.Tensor:
        ids, mask = pad([p + r for p, r in zip(prompt_ids, response_ids, strict=True)], pad_id, side="right")
        dev = reward_model.device
        return reward_model(input_ids=ids.to(dev), attention_mask=mask.to(dev)).logits[:, 0].float().cpu()

    return score


# ----------------------------------------------------------------------------- the trainer
@dataclass
class Rollout:
    """One batch of sampled answers and everything PPO computes from it before updating."""

    query_response: torch.Tensor   # (B, P + R) prompts left-padded to P, answers after them
    attention_mask: torch.Tensor   # (B, P + R)
    context_len: int               # P
    mask: torch.Tensor             # (B, R) 1 on answer tokens up to and including the end token
    logprobs: torch.Tensor         # (B, R) log pi_old of each answer token
    ref_logprobs: torch.Tensor     # (B, R) log ref
    values: torch.Tensor           # (B, R) V of the state before each answer token
    scores: torch.Tensor           # (B,) reward-model scores (after the missing-end penalty)
    rewards: torch.Tensor          # (B, R) per-token rewards
    advantages: torch.Tensor       # (B, R) whitened GAE advantages
    returns: torch.Tensor          # (B, R)


class PPOTrainer:
    """PPO for a causal LM: ``trainer.train()`` runs ``config.steps`` rounds and returns the log.

    ``policy`` is trained; ``ref_policy`` (frozen) anchors the KL penalty; ``value_model`` is a
    :class:`ValueModel`; ``reward_fn`` scores answers; ``prompts`` are chat-formatted strings."""

    def __init__(self, policy: nn.Module, ref_policy: nn.Module, value_model: ValueModel, reward_fn: RewardFn,
                 tokenizer, prompts: Sequence[str], config: PPOConfig | None = None):
        self.config = config or PPOConfig()
        if len(prompts) < self.config.batch_size:
            raise ValueError(f"need at least batch_size={self.config.batch_size} prompts, got {len(prompts)}")
        if tokenizer.pad_token_id is None or tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer needs a pad token and an end-of-sequence token")
        self.policy, self.ref_policy, self.value_model = policy, ref_policy, value_model
        self.reward_fn, self.tokenizer = reward_fn, tokenizer
        self.prompt_ids = [tokenizer(p)["input_ids"] for p in prompts]
        # one device for the four models (the policy's); trained weights in fp32, speed from autocast
        self.device = devices.device_of(policy)
        ref_policy.to(self.device)
        value_model.to(self.device)
        devices.for_training(policy)
        devices.for_training(value_model)
        self.scaler = devices.grad_scaler(self.device)
        for m in (policy, ref_policy, value_model):
            m.eval()  # no dropout anywhere: log-probs of the rollout and of the update must agree
        # the reference is only ever run under torch.no_grad(); its weights are left untouched
        params = [p for m in (policy, value_model) for p in m.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=self.config.learning_rate, eps=1e-5)
        self.generator = torch.Generator().manual_seed(self.config.seed)
        self.history: list[dict[str, float]] = []
        self._order: list[int] = []

    def _next_prompts(self) -> list[list[int]]:
        """The next batch of prompts, reshuffled after every pass over the data set."""
        if len(self._order) < self.config.batch_size:
            self._order += torch.randperm(len(self.prompt_ids), generator=self.generator).tolist()
        batch, self._order = self._order[: self.config.batch_size], self._order[self.config.batch_size:]
        return [self.prompt_ids[i] for i in batch]

    @torch.no_grad()
    def rollout(self, prompt_ids: list[list[int]]) -> Rollout:
        """Steps 1-4: sample, score, per-token rewards, values and GAE advantages."""
        c, tok = self.config, self.tokenizer
        with devices.autocast(self.device):
            qr, attn, ctx = sample(self.policy, tok, prompt_ids, c.max_new_tokens, temperature=c.temperature)
            logprobs, _ = forward_response(self.policy, qr, attn, ctx, c.temperature)
            ref_logprobs, _ = forward_response(self.ref_policy, qr, attn, ctx, c.temperature)
            values = self.value_model(qr, attn)[:, ctx - 1: -1]
        mask = attn[:, ctx:]
        responses = [r[m.bool()].tolist() for r, m in zip(qr[:, ctx:].cpu(), mask.cpu(), strict=True)]
        scores = torch.as_tensor(self.reward_fn(prompt_ids, responses), dtype=torch.float).to(qr.device)
        ended = torch.tensor([len(r) > 0 and r[-1] == tok.eos_token_id for r in responses], device=qr.device)
        if c.missing_eos_penalty is not None:
            scores = scores - c.missing_eos_penalty * (~ended).float()
        rewards, _ = per_token_rewards(scores, logprobs, ref_logprobs, mask, c.kl_coef)
        advantages, returns = gae(rewards, values, mask, c.gamma, c.lam)
        advantages = masked_whiten(advantages, mask)
        return Rollout(qr, attn, ctx, mask, logprobs, ref_logprobs, values * mask, scores, rewards,
                       advantages, returns)

    def minibatch_loss(self, ro: Rollout, idx: torch.Tensor):
        """PPO's loss on the rollout's rows ``idx``: clipped policy loss + ``vf_coef`` * clipped value
        loss - ``ent_coef`` * entropy. Returns the loss, its three parts, the policy's clip statistics
        and the value clip fraction."""
        c = self.config
        qr, attn, m = ro.query_response[idx], ro.attention_mask[idx], ro.mask[idx]
        with devices.autocast(self.device):  # fp32 on a CPU; bf16/fp16 compute on a GPU
            logprobs, logits = forward_response(self.policy, qr, attn, ro.context_len, c.temperature)
            values = self.value_model(qr, attn)[:, ro.context_len - 1: -1]
        pg_loss, pg_stats = policy_loss(logprobs, ro.logprobs[idx], ro.advantages[idx], m, c.cliprange)
        vf_loss, vf_clipfrac = value_loss(values, ro.values[idx], ro.returns[idx], m, c.cliprange_value)
        entropy = masked_mean(entropy_from_logits(logits), m)
        loss = pg_loss + c.vf_coef * vf_loss - c.ent_coef * entropy
        return loss, (pg_loss, vf_loss, entropy), pg_stats, vf_clipfrac

    def step_memory(self, extra_models: Sequence[nn.Module] = ()) -> dict[str, float]:
        """One PPO update's memory, part by part (:func:`course_utils.memory.measure_step_memory`):
        the weights of the policy, reference and value model (and ``extra_models``: the reward
        model, which ``reward_fn`` hides), the trained models' gradients and AdamW state, and one
        minibatch's activations. It samples a fresh rollout with the random state saved and put
        back, so training afterwards is unchanged."""
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        state, order = self.generator.get_state(), list(self._order)
        with torch.random.fork_rng(devices=cuda):
            ro = self.rollout(self._next_prompts())
            idx = torch.arange(min(self.config.mini_batch_size, ro.query_response.shape[0]))
            mem = memory.measure_step_memory([self.policy, self.ref_policy, self.value_model, *extra_models],
                                             lambda: self.minibatch_loss(ro, idx)[0])
        self.generator.set_state(state)
        self._order = order
        return mem

    def update(self, ro: Rollout) -> dict[str, float]:
        """Step 5: ``ppo_epochs`` passes of clipped policy + value updates over minibatches."""
        c = self.config
        logs: dict[str, list[float]] = {k: [] for k in ("pg_loss", "vf_loss", "clipfrac", "vf_clipfrac",
                                                           "approx_kl", "ratio", "entropy")}
        n = ro.query_response.shape[0]
        for _ in range(c.ppo_epochs):
            perm = torch.randperm(n, generator=self.generator)
            for start in range(0, n, c.mini_batch_size):
                idx = perm[start:start + c.mini_batch_size]
                loss, (pg_loss, vf_loss, entropy), pg_stats, vf_clipfrac = self.minibatch_loss(ro, idx)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()  # the scaler is a pass-through except under fp16
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]],
                                         c.max_grad_norm)
                self.scaler.step(self.optimizer)
                self.scaler.update()
                for k, v in (("pg_loss", pg_loss.item()), ("vf_loss", vf_loss.item()), ("vf_clipfrac", vf_clipfrac),
                             ("entropy", entropy.item()), *pg_stats.items()):
                    logs[k].append(v)
        return {k: sum(v) / len(v) for k, v in logs.items()}

    def step(self) -> dict[str, float]:
        """One rollout and its update; returns (and keeps) the step's log."""
        t0 = time.time()
        ro = self.rollout(self._next_prompts())
        k1, k3 = kl_estimates(ro.logprobs, ro.ref_logprobs)
        m = ro.mask.float()
        stats = {
            "step": len(self.history) + 1,
            "score": float(ro.scores.mean()),                       # reward-model score of the answers
            "kl": float((k1 * m).sum(-1).mean()),                  # nats per answer, k1 estimate
            "kl_k3": float((k3 * m).sum(-1).mean()),               # the same KL, k3 estimate
            "reward": float(ro.rewards.sum(-1).mean()),            # score - kl_coef * kl: what PPO maximises
            "response_len": float(m.sum(-1).mean()),
            "value_mean": float(masked_mean(ro.values, ro.mask)),
        }
        stats.update(self.update(ro))
        stats["seconds"] = time.time() - t0
        self.history.append(stats)
        return stats

    def train(self, steps: int | None = None, log_every: int = 0) -> list[dict[str, float]]:
        """Run ``steps`` (default ``config.steps``) PPO steps; print a line every ``log_every``."""
        n = steps or self.config.steps
        with progress.bar(n, "PPO") as bar:
            for i in range(n):
                s = self.step()
                bar.update()
                bar.set_postfix(score=f"{s['score']:+.3f}", kl=f"{s['kl']:.3f}", refresh=False)
                if log_every and (i % log_every == 0 or i == n - 1):
                    print(f"step {s['step']:3d}  score {s['score']:+.3f}  kl {s['kl']:.3f}  "
                          f"clipfrac {s['clipfrac']:.3f}  entropy {s['entropy']:.3f}  vf_loss {s['vf_loss']:.3f}")
        return self.history

    def config_dict(self) -> dict:
        return asdict(self.config)


def grpo_step_memory(policy, ref, tokenizer, prompts: Sequence[str], num_generations: int, max_new_tokens: int,
                     beta: float = 0.05, seed: int = 0) -> dict[str, float]:
    """One GRPO update's memory, part by part (:func:`course_utils.memory.measure_step_memory`), to set
    beside :meth:`PPOTrainer.step_memory`: ``num_generations`` sampled answers to each prompt (one
    batch of ``len(prompts) * num_generations`` sequences, as trl's ``GRPOTrainer`` takes it), the
    policy's and the reference's weights, the policy's activations, gradients and AdamW state. No
    value model (the group's mean reward is the baseline) and no reward model when the rewards are
    judge functions. The advantages are placeholders: the tensors held do not depend on their values."""
    if num_generations < 2:
        raise ValueError(f"GRPO compares answers within a group: num_generations must be >= 2, got {num_generations}")
    ids = [tokenizer(p)["input_ids"] for p in prompts for _ in range(num_generations)]
    cuda = [devices.device_of(policy).index or 0] if devices.device_of(policy).type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        qr, attn, ctx = sample(policy, tokenizer, ids, max_new_tokens)       # (B, T), B = prompts x generations
    mask = attn[:, ctx:].float()                                             # (B, R) the answers' real tokens
    adv = torch.tensor([1.0, -1.0], device=qr.device).repeat(qr.shape[0] // 2 + 1)[: qr.shape[0], None]  # (B, 1)

    def loss_fn() -> torch.Tensor:
        logp, _ = forward_response(policy, qr, attn, ctx)                    # (B, R)
        with torch.no_grad():
            ref_logp, _ = forward_response(ref, qr, attn, ctx)
        ratio = torch.exp(logp - logp.detach())                             # 1, but carries the gradient
        _, kl = kl_estimates(logp, ref_logp)                                 # k3 estimate per token
        return masked_mean(-ratio * adv + beta * kl, mask)
    return memory.measure_step_memory([policy, ref], loss_fn)


def run_ppo(start, tokenizer, rm, prompts: Sequence[str], config: PPOConfig, log_every: int = 0):
    """Train a copy of ``start`` with :class:`PPOTrainer` against the reward model ``rm`` (value
    model: a copy of ``rm``; reference: ``start`` itself, frozen). Returns ``(policy, trainer, seconds)``."""
    torch.manual_seed(config.seed)
    policy = fresh_copy(start)
    trainer = PPOTrainer(policy, start, value_model_from(rm), reward_model_fn(rm, tokenizer.pad_token_id),
                         tokenizer, prompts, config)
    t0 = time.time()
    trainer.train(log_every=log_every)
    return policy, trainer, time.time() - t0


def run_summary(history: Sequence[dict[str, float]]) -> dict[str, float]:
    """What a short run did, from its trainer's per-step log: the mean KL between the policy before
    and after an update (``approx_kl``) and the mean clip fraction, the KL to the reference at the
    last step (``kl``), and the mean sampled score of the last three steps (``score``)."""
    if not history:
        raise ValueError("the run has no steps to summarise")
    return {"approx_kl": float(sum(s["approx_kl"] for s in history) / len(history)),
            "clipfrac": float(sum(s["clipfrac"] for s in history) / len(history)),
            "kl": float(history[-1]["kl"]),
            "score": float(sum(s["score"] for s in history[-3:]) / len(history[-3:]))}


def clip_range_sweep(start, tokenizer, rm, prompts: Sequence[str], clipranges: Sequence[float], config: PPOConfig,
                     kl_sweep: Sequence[dict] = ()) -> list[dict]:
    """PPO from ``start`` with no KL penalty at each clip range (everything else from ``config``):
    per clip range the run's :func:`run_summary`, its seconds and where it came from (``source``).
    A run of ``kl_sweep`` (:func:`kl_coefficient_sweep` called with this same ``config``) at KL
    coefficient 0 and the same clip range is the same run, same settings and seed: it is read
    from there instead of trained twice."""
    shared = {p["cliprange"]: p for p in kl_sweep if p["kl_coef"] == 0.0}
    points = []
    for eps in clipranges:
        if eps in shared:
            summary, secs, source = shared[eps]["run"], shared[eps]["seconds"], "the KL sweep's coefficient-0 run"
        else:
            pol, tr, secs = run_ppo(start, tokenizer, rm, prompts,
                                    PPOConfig(**{**asdict(config), "kl_coef": 0.0, "cliprange": eps}))
            summary, source = run_summary(tr.history), f"trained here in {secs:.0f} s"
            del pol, tr
        points.append({"cliprange": eps, **summary, "seconds": secs, "source": source})
    return points


def kl_coefficient_sweep(start, tokenizer, rm, prompts: Sequence[str], eval_rows: Sequence[dict],
                         kl_coefs: Sequence[float], config: PPOConfig, eval_max_new_tokens: int) -> list[dict]:
    """PPO from ``start`` at each KL coefficient (everything else from ``config``), each policy
    evaluated on ``eval_rows``: reward and KL of sampled answers, reward-model and judge scores,
    seconds, the KL of the training batches per step, and the run's :func:`run_summary` (``run``; with
    its ``cliprange``, so lesson 07's clip sweep can read the run the two sweeps share). Cached
    (``paths.cache_dir()``, keyed by the weights, prompts, rows and settings), so lesson 08's
    reward-vs-KL frontier reads lesson 07's sweep instead of running it again."""
    from course_utils import evaluation  # noqa: PLC0415  circular: evaluation imports ppo

    key = {"v": 3, "start": cache.fingerprint(start), "rm": cache.fingerprint(rm), "config": asdict(config),
           "coefs": list(kl_coefs), "prompts": list(prompts), "rows": [dict(r) for r in eval_rows],
           "eval_max_new_tokens": eval_max_new_tokens}
    folder = cache.folder_for("ppo-kl-sweep", key)

    def build(tmp) -> None:
        points = []
        for coef in kl_coefs:
            run_config = PPOConfig(**{**asdict(config), "kl_coef": coef})
            pol, tr, secs = run_ppo(start, tokenizer, rm, prompts, run_config)
            ev = evaluation.evaluate(pol, tokenizer, eval_rows, reward_model=rm, ref=start,
                                     max_new_tokens=eval_max_new_tokens, n_samples=3)
            points.append({"kl_coef": coef, "kl": ev["kl"], "sample_reward": ev["sample_reward"],
                           "rm_score": ev["rm_score"], "judge_score": ev["judge_score"],
                           "sample_judge_score": ev["sampled"]["judge_score"], "task_accuracy": ev["task_accuracy"],
                           "seconds": secs, "cliprange": run_config.cliprange, "run": run_summary(tr.history),
                           "train_kl_curve": [s["kl"] for s in tr.history]})
            print(f"kl_coef {coef:<5}: KL {ev['kl']:6.2f}  sampled reward {ev['sample_reward']:+.3f}  "
                  f"judge {ev['judge_score']:.3f} greedy, {ev['sampled']['judge_score']:.3f} sampled  ({secs:.0f} s)")
        (tmp / "sweep.json").write_text(json.dumps(points, indent=2) + "\n")

    folder, built = cache.get_or_build(folder, build, ["sweep.json"], "delete that folder to run the sweep again",
                                       what="PPO KL-coefficient sweep")
    if not built:
        print(f"the KL-coefficient sweep from the cache ({folder.name}): the same run lesson 07 made")
    return json.loads((folder / "sweep.json").read_text())


def smoothed(xs: Sequence[float], k: int = 3) -> list[float]:
    """Moving average over ``k`` steps (for plots of noisy per-step logs)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    out = []
    for i in range(len(xs)):
        window = xs[max(0, i - k + 1): i + 1]
        out.append(sum(window) / len(window))
    return out


__all__ = ["PPOConfig", "PPOTrainer", "Rollout", "ValueModel", "value_model_from", "reward_model_fn", "run_ppo",
           "kl_coefficient_sweep", "run_summary", "kl_estimates", "per_token_rewards", "gae", "clipped_objective",
           "policy_loss", "value_loss", "smoothed"]
