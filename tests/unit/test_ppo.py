"""The course's PPO trainer: every piece against a hand-computed example, then end to end."""
import math

import numpy as np
import pytest
import rlhf_toy as toy  # the toy world lives with the tests (tests/unit/rlhf_toy.py)
import torch

from course_utils import evaluation, generation, memory
from course_utils.rlhf import common, ppo, reward
from course_utils.rlhf.ppo import run_ppo


def test_gae_hand_computed_gamma_lambda_one_is_reward_to_go_minus_value():
    rewards = torch.tensor([[1.0, 0.0, 2.0]])
    values = torch.tensor([[0.5, 0.5, 0.5]])
    mask = torch.ones(1, 3)
    adv, ret = ppo.gae(rewards, values, mask, gamma=1.0, lam=1.0)
    # returns are the rewards-to-go 3, 2, 2; advantages subtract V = 0.5
    assert torch.allclose(ret, torch.tensor([[3.0, 2.0, 2.0]]))
    assert torch.allclose(adv, torch.tensor([[2.5, 1.5, 1.5]]))


def test_gae_hand_computed_with_discount_and_lambda():
    rewards = torch.tensor([[0.0, 1.0]])
    values = torch.tensor([[0.2, 0.4]])
    adv, ret = ppo.gae(rewards, values, torch.ones(1, 2), gamma=0.9, lam=0.5)
    d1 = 1.0 + 0.9 * 0.0 - 0.4            # last step: the value after the end is 0
    d0 = 0.0 + 0.9 * 0.4 - 0.2
    a1, a0 = d1, d0 + 0.9 * 0.5 * d1
    assert torch.allclose(adv, torch.tensor([[a0, a1]]))
    assert torch.allclose(ret, torch.tensor([[a0 + 0.2, a1 + 0.4]]))


def test_gae_ignores_everything_after_the_end_of_the_answer():
    rewards = torch.tensor([[1.0, 0.0, 5.0, 7.0]])
    values = torch.tensor([[0.5, 0.5, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 0, 0]])
    adv, ret = ppo.gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert torch.allclose(adv, torch.tensor([[0.5, -0.5, 0.0, 0.0]]))
    assert torch.allclose(ret, torch.tensor([[1.0, 0.0, 0.0, 0.0]]))


def test_kl_estimates_k1_and_k3_hand_computed():
    logp = torch.tensor([math.log(0.5), math.log(0.2)])
    ref = torch.tensor([math.log(0.25), math.log(0.4)])
    k1, k3 = ppo.kl_estimates(logp, ref)
    assert torch.allclose(k1, torch.tensor([math.log(2), math.log(0.5)]), atol=1e-6)
    # k3 = (r - 1) - log r with r = ref / pi: r = 0.5 and 2
    assert torch.allclose(k3, torch.tensor([-0.5 - math.log(0.5), 1.0 - math.log(2)]), atol=1e-6)
    assert (k3 >= 0).all()


def test_kl_estimates_are_unbiased_on_a_known_distribution():
    pi, ref = torch.tensor([0.7, 0.2, 0.1]), torch.tensor([0.3, 0.3, 0.4])
    exact = float((pi * (pi / ref).log()).sum())
    g = torch.Generator().manual_seed(0)
    x = torch.multinomial(pi, 200_000, replacement=True, generator=g)
    k1, k3 = ppo.kl_estimates(pi.log()[x], ref.log()[x])
    assert abs(float(k1.mean()) - exact) < 0.01 and abs(float(k3.mean()) - exact) < 0.01
    assert float(k3.var()) < float(k1.var())  # k3's selling point: lower variance


def test_per_token_rewards_put_the_score_on_the_last_real_token():
    logp = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -1.0, -3.0], [-0.5, -1.0, -1.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    rewards, k1 = ppo.per_token_rewards(torch.tensor([2.0, -1.0]), logp, ref, mask, kl_coef=0.1)
    assert torch.allclose(k1, torch.tensor([[0.5, 0.0, 2.0], [-0.5, 0.0, 0.0]]))
    assert torch.allclose(rewards, torch.tensor([[-0.05, 0.0, 2.0 - 0.2], [0.05, -1.0, 0.0]]))


def test_whitening_hand_computed_and_masked():
    x = torch.tensor([[1.0, 2.0, 3.0, 100.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    w = common.masked_whiten(x, mask)
    # mean 2, unbiased variance 1 over the three real values; the padded one becomes 0
    assert torch.allclose(w, torch.tensor([[-1.0, 0.0, 1.0, 0.0]]), atol=1e-4)
    unshifted = common.masked_whiten(x, mask, shift_mean=False)[0, :3]
    assert torch.allclose(unshifted, torch.tensor([1.0, 2.0, 3.0]), atol=1e-4)


def test_masked_mean_and_var_reject_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        common.masked_mean(torch.ones(2, 3), torch.ones(3, 2))
    with pytest.raises(ValueError, match="at least two"):
        common.masked_var(torch.ones(1, 3), torch.tensor([[1, 0, 0]]))


def test_policy_loss_clipping_hand_computed():
    old = torch.zeros(1, 4)
    new = torch.log(torch.tensor([[1.5, 0.5, 1.1, 0.7]]))
    adv = torch.tensor([[1.0, -1.0, 1.0, 1.0]])
    loss, stats = ppo.policy_loss(new, old, adv, torch.ones(1, 4), cliprange=0.2)
    # per token: min(rA, clip(r)A) = 1.2 (clipped), -0.8 (clipped), 1.1, 0.7; the loss is minus the mean
    assert math.isclose(float(loss), -(1.2 - 0.8 + 1.1 + 0.7) / 4, rel_tol=1e-5)
    assert math.isclose(stats["clipfrac"], 0.5)


def test_clipped_objective_matches_policy_loss_and_works_on_numpy():
    r = np.linspace(0.2, 2.0, 10)
    for a in (1.0, -1.0):
        obj = ppo.clipped_objective(r, a, 0.2)
        loss, _ = ppo.policy_loss(torch.tensor(np.log(r))[None], torch.zeros(1, 10), torch.full((1, 10), a),
                                  torch.ones(1, 10), 0.2)
        assert math.isclose(-float(loss), float(obj.mean()), rel_tol=1e-6)
    assert ppo.clipped_objective(np.array([3.0]), 1.0, 0.2)[0] == pytest.approx(1.2)   # gain capped
    assert ppo.clipped_objective(np.array([0.1]), -1.0, 0.2)[0] == pytest.approx(-0.8)  # capped for bad actions too
    assert ppo.clipped_objective(np.array([3.0]), -1.0, 0.2)[0] == pytest.approx(-3.0)  # but losses are never hidden


def test_value_loss_clipping_hand_computed():
    old = torch.tensor([[0.0, 0.0]])
    new = torch.tensor([[1.0, 0.1]])
    ret = torch.tensor([[1.0, 1.0]])
    loss, clipfrac = ppo.value_loss(new, old, ret, torch.ones(1, 2), cliprange_value=0.2)
    # token 0: unclipped error 0, clipped 0.2 -> error 0.8^2 counts; token 1: within the clip, 0.9^2
    assert math.isclose(float(loss), 0.5 * (0.64 + 0.81) / 2, rel_tol=1e-5)
    assert clipfrac == 0.5


def test_first_eos_mask_keeps_the_end_token_and_drops_what_follows():
    r = torch.tensor([[5, 6, 0, 7, 0], [5, 6, 7, 8, 9], [0, 5, 5, 5, 5]])
    m = generation.first_eos_mask(r, eos_id=0)
    assert m.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]


def test_sampling_masks_after_end_and_left_pads_prompts():
    tok = toy.toy_tokenizer()
    model = toy.toy_policy(tok)
    prompts = [tok(p)["input_ids"] for p in toy.toy_prompts(4)]
    prompts[0] = prompts[0][1:]  # different lengths -> left padding
    torch.manual_seed(0)
    qr, attn, ctx = generation.sample(model, tok, prompts, max_new_tokens=8)
    assert ctx == max(len(p) for p in prompts) and attn[0, 0] == 0
    resp, m = qr[:, ctx:], attn[:, ctx:]
    for row, mrow in zip(resp.tolist(), m.tolist(), strict=True):
        if tok.eos_token_id in row:
            end = row.index(tok.eos_token_id)
            assert all(x == 1 for x in mrow[: end + 1]) and all(x == 0 for x in mrow[end + 1:])
            assert all(t == tok.pad_token_id for t in row[end + 1:])


def test_left_padding_does_not_change_log_probs():
    tok = toy.toy_tokenizer()
    model = toy.toy_policy(tok)
    ids = tok(toy.toy_prompts(1)[0] + "good yes")["input_ids"]
    a, am = common.pad([ids], tok.pad_token_id, side="left")
    b, bm = common.pad([ids, ids + [5, 5, 5]], tok.pad_token_id, side="left")
    lp_a, _ = common.forward_response(model, a, am, context_len=a.shape[1] - 2)
    lp_b, _ = common.forward_response(model, b[:1], bm[:1], context_len=b.shape[1] - 2)
    assert torch.allclose(lp_a, lp_b, atol=1e-5)


def test_forward_response_is_the_full_forward_at_the_response_positions():
    tok = toy.toy_tokenizer()
    model = toy.toy_policy(tok)
    ids, mask = common.pad([tok(p + "good yes")["input_ids"] for p in toy.toy_prompts(3)], tok.pad_token_id,
                           side="left")
    ctx = ids.shape[1] - 2
    full = model(input_ids=ids, attention_mask=mask, position_ids=common.position_ids(mask)).logits  # (B, T, V)
    lp, logits = common.forward_response(model, ids, mask, context_len=ctx, temperature=0.5)
    assert logits.shape == (3, 2, full.shape[-1])
    assert torch.allclose(logits, full[:, ctx - 1:-1] / (0.5 + 1e-7), atol=1e-5)
    assert torch.allclose(lp, common.gather_logprobs(full[:, ctx - 1:-1] / (0.5 + 1e-7), ids[:, ctx:]), atol=1e-5)


def test_config_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiple"):
        ppo.PPOConfig(batch_size=6, mini_batch_size=4)
    with pytest.raises(ValueError, match="at least 1"):
        ppo.PPOConfig(steps=0)


def test_value_model_needs_a_score_head():
    tok = toy.toy_tokenizer()
    with pytest.raises(TypeError, match="score"):
        ppo.ValueModel(toy.toy_policy(tok))


def test_ppo_learns_to_say_the_rewarded_word():
    """End to end on a tiny problem: reward = how often the answer says "good"."""
    tok = toy.toy_tokenizer()
    good = tok.convert_tokens_to_ids("good")
    policy, ref = toy.toy_policy(tok, seed=0), toy.toy_policy(tok, seed=0)
    value = ppo.ValueModel(toy.toy_scorer(tok, seed=1))

    def reward_fn(prompt_ids, responses):
        return torch.tensor([sum(t == good for t in r) / max(len(r), 1) for r in responses])

    cfg = ppo.PPOConfig(steps=14, batch_size=16, mini_batch_size=8, ppo_epochs=4, learning_rate=3e-3,
                        max_new_tokens=6, kl_coef=0.01, missing_eos_penalty=None, seed=0)
    torch.manual_seed(0)
    trainer = ppo.PPOTrainer(policy, ref, value, reward_fn, tok, toy.toy_prompts(32), cfg)
    hist = trainer.train()
    first = np.mean([h["score"] for h in hist[:3]])
    last = np.mean([h["score"] for h in hist[-3:]])
    assert first < 0.15 and last > first + 0.3, (first, last)
    assert hist[-1]["kl"] > 0.0  # the policy moved away from the reference ...
    assert all(0.0 <= h["clipfrac"] <= 1.0 and h["entropy"] > 0 for h in hist)
    for p_ref, p0 in zip(ref.parameters(), toy.toy_policy(tok, seed=0).parameters(), strict=True):
        assert torch.equal(p_ref, p0)  # ... and the reference did not move


def test_run_ppo_trains_a_copy_and_leaves_the_start_model_alone():
    tok = toy.toy_tokenizer()
    start = toy.toy_policy(tok, seed=0)
    rm = reward.make_reward_model(toy.toy_policy(tok, seed=2), tok)
    before = [p.clone() for p in start.parameters()]
    cfg = ppo.PPOConfig(steps=1, batch_size=8, mini_batch_size=8, ppo_epochs=1, learning_rate=1e-2, max_new_tokens=4)
    policy, trainer, seconds = run_ppo(start, tok, rm, toy.toy_prompts(8), cfg)
    assert len(trainer.history) == 1 and seconds > 0
    assert all(torch.equal(a, b) for a, b in zip(before, start.parameters(), strict=True))
    assert all(p.requires_grad for p in start.parameters())  # later lessons can still train a copy
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))


def test_step_memory_counts_four_models_and_leaves_training_unchanged():
    tok = toy.toy_tokenizer()
    rm = reward.make_reward_model(toy.toy_policy(tok, seed=2), tok)
    cfg = ppo.PPOConfig(steps=2, batch_size=8, mini_batch_size=4, ppo_epochs=1, learning_rate=1e-2, max_new_tokens=4)

    def trainer():
        torch.manual_seed(0)
        start = toy.toy_policy(tok, seed=0)
        return ppo.PPOTrainer(common.fresh_copy(start), start, ppo.value_model_from(rm),
                              ppo.reward_model_fn(rm, tok.pad_token_id), tok, toy.toy_prompts(8), cfg)
    def train(t, measure: bool):
        mem = t.step_memory(extra_models=[rm]) if measure else None
        torch.manual_seed(1)  # the same global random state for both runs' sampling
        return t.train(), mem
    (plain, _), (measured, mem) = train(trainer(), False), train(trainer(), True)
    assert [h["score"] for h in plain] == [h["score"] for h in measured]  # measuring changed nothing
    one = memory.measure_training_memory(toy.toy_policy(tok, seed=0), {"input_ids": torch.ones(1, 4, dtype=torch.long),
                                                                       "labels": torch.ones(1, 4, dtype=torch.long)})
    assert mem["weights_mb"] > 3 * one["weights_mb"]  # policy, reference, value model, reward model
    assert mem["gradients_mb"] > 1.5 * one["gradients_mb"]  # policy and value model are trained
    assert mem["activations_mb"] > 0


def test_grpo_step_memory_counts_two_models_and_leaves_the_policy_and_random_state_alone():
    tok = toy.toy_tokenizer()
    policy, ref = toy.toy_policy(tok, seed=0), toy.toy_policy(tok, seed=0)
    before = [p.detach().clone() for p in policy.parameters()]
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    mem = ppo.grpo_step_memory(policy, ref, tok, toy.toy_prompts(2), num_generations=4, max_new_tokens=4)
    assert torch.equal(state, torch.random.get_rng_state())  # sampling for the measurement drew nothing
    assert all(torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))
    params = sum(p.numel() * p.element_size() for p in policy.parameters()) / 2**20
    assert mem["weights_mb"] == pytest.approx(2 * params, rel=0.05)  # policy and reference, no value or reward model
    assert mem["gradients_mb"] == pytest.approx(params, rel=0.01)     # only the policy is trained
    assert mem["optimizer_mb"] == pytest.approx(2 * params, rel=0.01)  # AdamW's two moments
    assert mem["activations_mb"] > 0
    with pytest.raises(ValueError, match="num_generations"):
        ppo.grpo_step_memory(policy, ref, tok, toy.toy_prompts(2), num_generations=1, max_new_tokens=4)


def test_kl_coefficient_sweep_runs_once_then_is_read_from_the_cache(tmp_path, monkeypatch):
    """Lesson 08's frontier reads lesson 07's sweep: the same arguments train nothing the second time."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    tok = toy.toy_tokenizer()
    start, rm = toy.toy_policy(tok, seed=0), toy.toy_scorer(tok, seed=1)
    calls = []
    real_evaluate = evaluation.evaluate

    def counting_evaluate(*a, **k):
        calls.append(1)
        return real_evaluate(*a, **k)

    monkeypatch.setattr(evaluation, "evaluate", counting_evaluate)
    rows = [{"question": "good or bad", "relation": "spacing", "value": "30 cm", "crop": "maize", "answer": "good"}
            for _ in range(4)]
    cfg = ppo.PPOConfig(steps=1, batch_size=4, mini_batch_size=2, ppo_epochs=1, learning_rate=1e-3, max_new_tokens=3)
    first = ppo.kl_coefficient_sweep(start, tok, rm, toy.toy_prompts(8), rows, [0.0, 0.5], cfg, eval_max_new_tokens=3)
    assert [p["kl_coef"] for p in first] == [0.0, 0.5] and len(calls) == 2
    assert all(len(p["train_kl_curve"]) == 1 and p["seconds"] > 0 for p in first)
    again = ppo.kl_coefficient_sweep(start, tok, rm, toy.toy_prompts(8), rows, [0.0, 0.5], cfg, eval_max_new_tokens=3)
    assert again == first and len(calls) == 2  # read back, nothing trained or evaluated
    other = ppo.kl_coefficient_sweep(start, tok, rm, toy.toy_prompts(8), rows, [0.5], cfg, eval_max_new_tokens=3)
    assert len(other) == 1 and len(calls) == 3  # other settings: a new sweep, the old one untouched


def test_the_kl_sweeps_coefficient_0_run_is_the_clip_sweeps_default_run(tmp_path, monkeypatch):
    """Lesson 07's clip sweep reads its eps = 0.2 row from the KL sweep's coefficient-0 run instead of
    training it again: the same settings and seed must give the same run, summarised the same way."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    tok = toy.toy_tokenizer()
    start, rm = toy.toy_policy(tok, seed=0), toy.toy_scorer(tok, seed=1)
    rows = [{"question": "good or bad", "relation": "spacing", "value": "30 cm", "crop": "maize", "answer": "good"}
            for _ in range(4)]
    settings = dict(steps=3, batch_size=4, mini_batch_size=2, ppo_epochs=2, learning_rate=1e-3, max_new_tokens=3)
    sweep = ppo.kl_coefficient_sweep(start, tok, rm, toy.toy_prompts(8), rows, [0.0, 0.5], ppo.PPOConfig(**settings),
                                     eval_max_new_tokens=3)
    shared = next(p for p in sweep if p["kl_coef"] == 0.0)
    _, tr, _ = run_ppo(start, tok, rm, toy.toy_prompts(8), ppo.PPOConfig(kl_coef=0.0, cliprange=0.2, **settings))
    assert shared["cliprange"] == 0.2
    assert shared["run"] == ppo.run_summary(tr.history)
    assert shared["run"]["kl"] == tr.history[-1]["kl"] and len(shared["train_kl_curve"]) == 3
    with pytest.raises(ValueError, match="no steps"):
        ppo.run_summary([])


def test_clip_range_sweep_reads_the_shared_run_and_trains_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    tok = toy.toy_tokenizer()
    start, rm = toy.toy_policy(tok, seed=0), toy.toy_scorer(tok, seed=1)
    rows = [{"question": "good or bad", "relation": "spacing", "value": "30 cm", "crop": "maize", "answer": "good"}
            for _ in range(4)]
    config = ppo.PPOConfig(steps=2, batch_size=4, mini_batch_size=2, ppo_epochs=1, learning_rate=1e-3, max_new_tokens=3)
    sweep = ppo.kl_coefficient_sweep(start, tok, rm, toy.toy_prompts(8), rows, [0.0], config, eval_max_new_tokens=3)
    clip = ppo.clip_range_sweep(start, tok, rm, toy.toy_prompts(8), [0.05, 0.2], config, kl_sweep=sweep)
    assert [p["cliprange"] for p in clip] == [0.05, 0.2]
    assert clip[1]["source"] == "the KL sweep's coefficient-0 run" and clip[1]["seconds"] == sweep[0]["seconds"]
    assert {k: clip[1][k] for k in sweep[0]["run"]} == sweep[0]["run"]
    _, tr, _ = run_ppo(start, tok, rm, toy.toy_prompts(8), ppo.PPOConfig(**{**vars(config), "kl_coef": 0.0,
                                                                           "cliprange": 0.05}))
    assert clip[0]["source"].startswith("trained here")
    assert {k: clip[0][k] for k in ("approx_kl", "clipfrac", "kl", "score")} == ppo.run_summary(tr.history)
    alone = ppo.clip_range_sweep(start, tok, rm, toy.toy_prompts(8), [0.2], config)  # nothing to read: trains it
    assert alone[0]["source"].startswith("trained here") and alone[0]["kl"] == clip[1]["kl"]
