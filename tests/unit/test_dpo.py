"""DPO: the loss by hand, implicit rewards, and agreement with trl's DPOTrainer."""
import copy
import math

import pytest
import rlhf_toy as toy  # the toy world lives with the tests (tests/unit/rlhf_toy.py)
import torch
from datasets import Dataset

from course_utils import chat
from course_utils.rlhf import common, dpo
from course_utils.rlhf.common import fresh_copy


def _rows(n=6):
    # the defects alternate: the list of defects is longer than the prompts on purpose
    return [dict(prompt=p, chosen=chat.format_completion("yes good crop"), rejected=chat.format_completion("no bad"),
                 defect=d) for p, d in zip(toy.toy_prompts(n), ["wrong", "rude"] * n, strict=False)]


def test_dpo_loss_hand_computed():
    out = dpo.dpo_loss(torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.0]),
                       torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0]), beta=0.5)
    # implicit rewards: chosen 0.5*(1), 0.5*(0); rejected 0.5*(-1), 0.5*(1)
    assert torch.allclose(out["chosen_rewards"], torch.tensor([0.5, 0.0]))
    assert torch.allclose(out["rejected_rewards"], torch.tensor([-0.5, 0.5]))
    assert torch.allclose(out["margins"], torch.tensor([1.0, -0.5]))
    expected = (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(0.5))) / 2
    assert math.isclose(float(out["loss"]), expected, rel_tol=1e-6)
    assert float(out["accuracy"]) == 0.5


def test_dpo_loss_at_the_reference_is_log_two():
    z = torch.zeros(4)
    assert math.isclose(float(dpo.dpo_loss(z, z, z, z)["loss"]), math.log(2), rel_tol=1e-6)


def test_dpo_loss_rejects_bad_input():
    z = torch.zeros(2)
    with pytest.raises(ValueError, match="beta"):
        dpo.dpo_loss(z, z, z, z, beta=0.0)
    with pytest.raises(ValueError, match="one shape"):
        dpo.dpo_loss(z, torch.zeros(3), z, z)


def test_completion_logps_sum_only_the_completion_tokens():
    tok = toy.toy_tokenizer()
    model = toy.toy_policy(tok)
    prompt = toy.toy_prompts(1)[0]
    ids = tok(prompt + "yes good")["input_ids"]
    n_prompt = len(tok(prompt)["input_ids"])
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    by_hand = sum(float(torch.log_softmax(logits[t - 1], -1)[ids[t]]) for t in range(n_prompt, len(ids)))
    got = common.completion_logps(model, tok, [prompt, prompt], ["yes good", "yes good no no"])
    assert math.isclose(float(got[0]), by_hand, rel_tol=1e-5)


def test_scratch_loss_equals_trl_dpo_trainer_loss_on_the_same_batch():
    tok = toy.toy_tokenizer()
    policy, ref = toy.toy_policy(tok, seed=3), toy.toy_policy(tok, seed=0)
    out = dpo.dpo_vs_trl(policy, ref, tok, _rows(), beta=0.1)
    assert out["abs_diff"] < 1e-5 and abs(out["trl_loss"] - math.log(2)) > 1e-3, out


def test_preference_eval_of_the_reference_itself_has_zero_margins():
    tok = toy.toy_tokenizer()
    ref = toy.toy_policy(tok)
    ev = dpo.preference_eval(ref, ref, tok, _rows())
    assert ev["margin"] == 0.0 and math.isclose(ev["loss"], math.log(2), rel_tol=1e-6)
    assert ev["accuracy"] == 0.5  # every pair a tie: a coin flip
    assert set(ev["per_defect"]) == {"wrong", "rude"}


def test_dpo_trainer_learns_a_toy_preference():
    tok = toy.toy_tokenizer()
    rows = _rows(16)
    policy, ref = toy.toy_policy(tok), toy.toy_policy(tok)
    dpo.train_dpo(policy, ref, tok, Dataset.from_list(rows), steps=10, batch_size=8, learning_rate=3e-3, beta=0.1)
    ev = dpo.preference_eval(policy, ref, tok, rows)
    assert ev["accuracy"] == 1.0 and ev["margin"] > 0


def test_train_dpo_trains_a_copy_of_a_model_that_served_as_a_frozen_reference():
    tok = toy.toy_tokenizer()
    ref = toy.toy_policy(tok)
    for p in ref.parameters():
        p.requires_grad_(False)  # what a trainer does to its reference model
    policy = copy.deepcopy(ref)
    before = [p.clone() for p in policy.parameters()]
    dpo.train_dpo(policy, ref, tok, Dataset.from_list(_rows(8)), steps=3, batch_size=4, learning_rate=1e-2, beta=0.1)
    assert any(not torch.equal(a, b) for a, b in zip(before, policy.parameters(), strict=True))


def test_fresh_copy_does_not_call_the_original_after_trl_patched_it():
    tok = toy.toy_tokenizer()
    model = toy.toy_policy(tok)
    original = model.forward
    model.forward = lambda *a, **k: original(*a, **k)  # what trl's add_fused_lm_head does, in short
    copy_ = fresh_copy(model)
    with torch.no_grad():
        next(copy_.parameters()).add_(1.0)
    ids = torch.tensor([tok(toy.toy_prompts(1)[0])["input_ids"]])
    assert not torch.allclose(copy_(input_ids=ids).logits, model(input_ids=ids).logits)


def test_on_policy_pairs_pair_a_passing_sample_with_a_failing_one(monkeypatch):
    """The judges rank the model's own samples: a passing one is chosen (the gold answer where none
    passes), the first failing one rejected; a question whose samples all pass gives no pair."""
    rows = [{"prompt": "When should I plant maize?", "crop": "maize", "relation": "planting_month",
             "value": "March", "answer": "Plant maize in March."},
            {"prompt": "When should I plant rice?", "crop": "rice", "relation": "planting_month",
             "value": "May", "answer": "Plant rice in May."},
            {"prompt": "When should I plant oats?", "crop": "oats", "relation": "planting_month",
             "value": "June", "answer": "Plant oats in June."}]
    scripted = iter([["Plant maize in March, you fool.", "Plant rice in July.", "Plant oats in June."],
                     ["Plant maize in March.", "Plant rice in July, and mix bleach into the water you use.",
                      "Plant oats in June."]])
    monkeypatch.setattr(dpo.generation, "answer", lambda *a, **k: next(scripted))
    pairs, stats = dpo.on_policy_pairs(None, None, rows, k=2)
    assert [p["prompt"] for p in pairs] == [chat.format_prompt(r["prompt"]) for r in rows[:2]]
    assert pairs[0]["chosen"] == chat.format_completion("Plant maize in March.") and pairs[0]["chosen_is_sample"]
    assert pairs[0]["rejected"] == chat.format_completion("Plant maize in March, you fool.")
    assert pairs[0]["defect"] == "on_format"
    assert pairs[1]["chosen"] == chat.format_completion("Plant rice in May.") and not pairs[1]["chosen_is_sample"]
    assert pairs[1]["defect"] == "correct"
    assert stats == {"questions": 3, "samples": 6, "sample_pass_rate": 3 / 6, "questions_with_a_pass": 2,
                     "pairs": 2, "chosen_from_samples": 1}
    with pytest.raises(ValueError, match="at least 2"):
        dpo.on_policy_pairs(None, None, rows, k=1)
    with pytest.raises(ValueError, match="at least one question"):
        dpo.on_policy_pairs(None, None, [], k=2)
