"""Reward modeling: the Bradley-Terry loss by hand and against trl's RewardTrainer."""
import math

import pytest
import rlhf_toy as toy  # the toy world lives with the tests (tests/unit/rlhf_toy.py)
import torch
from datasets import Dataset

from course_utils import chat, configs, profiles
from course_utils.rlhf import reward


def _rows(n=6):
    # the defects alternate: the list of defects is longer than the prompts on purpose
    return [dict(prompt=p, chosen=chat.format_completion("yes good crop"), rejected=chat.format_completion("no bad"),
                 defect=d) for p, d in zip(toy.toy_prompts(n), ["wrong", "rude"] * n, strict=False)]


def test_bradley_terry_loss_hand_computed():
    loss = reward.bradley_terry_loss(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0]))
    expected = (math.log(1 + math.exp(-2.0)) + math.log(1 + math.exp(1.0))) / 2
    assert math.isclose(float(loss), expected, rel_tol=1e-6)
    # equal rewards: the model is unsure, the loss is log 2
    assert math.isclose(float(reward.bradley_terry_loss(torch.zeros(3), torch.zeros(3))), math.log(2), rel_tol=1e-6)
    # a margin asks for a bigger gap
    assert reward.bradley_terry_loss(torch.tensor([1.0]), torch.tensor([0.0]), margin=1.0) > \
        reward.bradley_terry_loss(torch.tensor([1.0]), torch.tensor([0.0]))


def test_preference_probability_is_a_sigmoid_of_the_gap():
    p = reward.preference_probability(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 0.0]))
    assert torch.allclose(p, torch.tensor([1 / (1 + math.exp(-1)), 0.5]))


def test_bradley_terry_loss_rejects_unpaired_rewards():
    with pytest.raises(ValueError, match="pair up"):
        reward.bradley_terry_loss(torch.zeros(3), torch.zeros(2))


def test_reward_model_keeps_the_body_and_scores_one_scalar():
    tok = toy.toy_tokenizer()
    lm = toy.toy_policy(tok)
    rm = reward.make_reward_model(lm, tok)
    assert torch.equal(rm.model.embed_tokens.weight, lm.model.embed_tokens.weight)
    s = reward.score(rm, tok, toy.toy_prompts(3), ["yes", "no good", "bad" + chat.END])
    assert s.shape == (3,)
    # the end token is appended when missing: same score with or without it
    s2 = reward.score(rm, tok, toy.toy_prompts(3), ["yes" + chat.END, "no good", "bad"])
    assert torch.allclose(s, s2)


def test_scratch_loss_equals_trl_reward_trainer_loss_on_the_same_batch():
    tok = toy.toy_tokenizer()
    rm = reward.make_reward_model(toy.toy_policy(tok), tok)
    out = reward.bt_vs_trl(rm, tok, _rows())
    assert out["abs_diff"] < 1e-6 and out["pipeline_abs_diff"] < 1e-5, out


def test_pairwise_eval_reports_per_defect_accuracy():
    tok = toy.toy_tokenizer()
    rm = reward.make_reward_model(toy.toy_policy(tok), tok)
    ev = reward.pairwise_eval(rm, tok, _rows())
    assert set(ev["per_defect"]) == {"wrong", "rude"} and ev["n"] == 6 and len(ev["margins"]) == 6
    assert 0.0 <= ev["accuracy"] <= 1.0
    with pytest.raises(ValueError, match="at least one"):
        reward.pairwise_eval(rm, tok, [])


def test_reward_trainer_learns_a_toy_preference():
    tok = toy.toy_tokenizer()
    rows = _rows(16)
    rm, trainer = reward.train_reward_model(toy.toy_policy(tok), tok, Dataset.from_list(rows), steps=15,
                                            batch_size=8, learning_rate=3e-3)
    assert reward.pairwise_eval(rm, tok, rows)["accuracy"] == 1.0


def test_train_reward_model_names_missing_columns():
    tok = toy.toy_tokenizer()
    with pytest.raises(ValueError, match="rejected"):
        reward.train_reward_model(toy.toy_policy(tok), tok, Dataset.from_list([{"prompt": "a", "chosen": "b"}]),
                                  steps=1, batch_size=1, learning_rate=1e-3)


def test_random_heads_agree_with_the_model_and_leave_its_head_alone():
    tok = toy.toy_tokenizer()
    rm = reward.make_reward_model(toy.toy_policy(tok), tok)
    rows = _rows(6)
    head = rm.score.weight.detach().clone()
    accs = reward.random_head_accuracies(rm, tok, rows, n_heads=5, seed=1)
    assert len(accs) == 5 and all(0.0 <= a <= 1.0 for a in accs)
    assert torch.equal(rm.score.weight, head)  # the model's own head is restored
    assert accs == reward.random_head_accuracies(rm, tok, rows, n_heads=5, seed=1)  # seeded
    # the same computation as pairwise_eval when the random head is put in place of the model's
    gen = torch.Generator().manual_seed(1)
    w = torch.randn((5, rm.score.in_features), generator=gen) * rm.config.initializer_range
    with torch.no_grad():
        rm.score.weight.copy_(w[:1])
    assert math.isclose(reward.pairwise_eval(rm, tok, rows)["accuracy"], accs[0], abs_tol=1e-6)
    with pytest.raises(ValueError, match="n_heads >= 1"):
        reward.random_head_accuracies(rm, tok, rows, n_heads=0)


def test_default_recipe_is_lesson_06s_checked_and_keys_the_cache_as_a_plain_dict(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "tiny")
    cfg = profiles.get_profile(verbose=False).lesson("06")
    r = reward.default_recipe()
    assert isinstance(r, reward.RewardRecipe)
    assert dict(r) == {"steps": cfg.rm_steps, "batch_size": cfg.rm_batch_size, "learning_rate": cfg.rm_lr,
                       "max_length": cfg.max_length, "seed": cfg.seed}
    assert reward.cache_path(r, "fp") == reward.cache_path(dict(r), "fp")  # the same cached model either way
    with pytest.raises(configs.ConfigError, match=r"RewardRecipe\.batch_size = 0: batch_size must be an int >= 1"):
        reward.RewardRecipe(**{**r, "batch_size": 0})
