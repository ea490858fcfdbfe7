"""The from-scratch LoRA layer: zero update at init, merge equals unmerged, agrees with peft."""
import copy
import dataclasses

import pytest
import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from course_utils import lora, lora_sweep, profiles


def tiny_llama():
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=32)
    return LlamaForCausalLM(cfg).eval()


def test_starts_as_identity_and_counts_params():
    torch.manual_seed(0)
    base = nn.Linear(32, 16)
    layer = lora.LoRALinear(base, r=4, alpha=8)
    x = torch.randn(3, 32)
    assert torch.equal(layer(x), base(x))  # B = 0
    assert layer.scaling == 2.0
    trainable, total = lora.count_parameters(layer)
    assert trainable == 4 * (32 + 16) == lora.lora_parameter_count([(16, 32)], 4)
    assert total == trainable + 32 * 16 + 16


def test_merge_matches_unmerged():
    torch.manual_seed(0)
    layer = lora.LoRALinear(nn.Linear(32, 16), r=4, alpha=8)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(5, 32)
    assert torch.allclose(layer(x), layer.merged()(x), atol=1e-5)


def test_bad_input_is_clear():
    with pytest.raises(ValueError, match="rank"):
        lora.LoRALinear(nn.Linear(8, 8), r=0)
    with pytest.raises(ValueError, match="exceeds"):
        lora.LoRALinear(nn.Linear(8, 4), r=5)
    with pytest.raises(TypeError, match="nn.Linear"):
        lora.LoRALinear(nn.Conv1d(2, 2, 1))
    with pytest.raises(ValueError, match="are named"):
        lora.add_lora(tiny_llama(), ["nope"])


def test_agrees_with_peft_on_same_weights():
    targets = ["q_proj", "v_proj", "down_proj"]
    peft_model = get_peft_model(tiny_llama(), LoraConfig(r=4, lora_alpha=8, target_modules=targets,
                                                         init_lora_weights=False))
    scratch = lora.add_lora(tiny_llama(), targets, r=4, alpha=8)
    assert lora.copy_from_peft(scratch, peft_model) == 6
    ids = torch.randint(0, 64, (2, 10))
    with torch.no_grad():
        a, b = scratch(ids).logits, peft_model(ids).logits
        base = tiny_llama()(ids).logits
    assert (a - base).abs().max() > 1e-3  # the adapters do something
    assert (a - b).abs().max() < 1e-4
    assert lora.count_parameters(scratch)[0] == peft_model.get_nb_trainable_parameters()[0]
    merged = lora.merge_lora(scratch)
    assert not any(isinstance(m, lora.LoRALinear) for m in merged.modules())
    with torch.no_grad():
        assert (merged(ids).logits - b).abs().max() < 1e-4


def test_output_change_sees_where_an_update_acts():
    torch.manual_seed(0)
    base = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=2)).eval()
    texts = {"a": torch.randint(0, 32, (2, 8)), "b": torch.randint(0, 32, (2, 8))}
    same = lora.output_change(base, copy.deepcopy(base), texts)
    assert set(same) == {"a", "b"} and all(v == 0.0 for d in same.values() for v in d.values())
    tuned = copy.deepcopy(base)
    with torch.no_grad():
        tuned.model.layers[0].mlp.down_proj.weight.mul_(1.5)  # dW = 0.5 W: half the layer's output, on any input
    moved = lora.output_change(base, tuned, texts)
    assert moved["a"]["model.layers.0.mlp.down_proj"] == pytest.approx(0.5, rel=1e-4)
    assert moved["a"]["model.layers.0.self_attn.q_proj"] == 0.0
    half = copy.deepcopy(base).to(torch.bfloat16)  # a half-precision frozen base against an fp32 tuned copy
    assert lora.output_change(half, tuned, texts)["a"]["model.layers.0.mlp.down_proj"] == pytest.approx(0.5, rel=0.05)
    peft_model = get_peft_model(copy.deepcopy(base), LoraConfig(r=2, target_modules=["q_proj"]))
    with pytest.raises(ValueError, match="merge LoRA adapters first"):
        lora.output_change(base, peft_model, texts)


def test_sweep_variants_change_the_lessons_lora_one_way_each():
    cfg = profiles.get_profile(verbose=False).lesson("04")
    attn, dora = lora_sweep.variant_config("attention only"), lora_sweep.variant_config("DoRA")
    assert sorted(attn.target_modules) == ["k_proj", "o_proj", "q_proj", "v_proj"] and not attn.use_dora
    assert sorted(dora.target_modules) == sorted(cfg.target_modules) and dora.use_dora
    assert all((c.r, c.lora_alpha) == (cfg.r, cfg.alpha) for c in (attn, dora))
    assert lora_sweep.variant_dir_name("attention only") == "variant-attention-only"
    with pytest.raises(ValueError, match="unknown LoRA variant 'LoRA\\+': use one of attention only, DoRA"):
        lora_sweep.variant_config("LoRA+")


def test_sweep_picks_each_ranks_rate_on_validation_and_breaks_ties_by_forgetting():
    by_lr = {"0.0025": {"validation_accuracy": 0.60, "task_accuracy": 0.95, "general_perplexity": 20.0},
             "0.005": {"validation_accuracy": 0.80, "task_accuracy": 0.70, "general_perplexity": 90.0},
             "0.01": {"validation_accuracy": 0.80, "task_accuracy": 0.75, "general_perplexity": 400.0}}
    assert lora_sweep.pick(by_lr) == "0.005"  # the test accuracy plays no part
    cfg = profiles.get_profile(verbose=False).lesson("04")
    s = lora_sweep.settings()
    assert s["learning_rates"] == pytest.approx([cfg.lr * f for f in cfg.sweep_lr_factors])
    assert s["picked_on"] == "validation"


def test_sweep_trains_two_runs_at_once_only_on_a_cpu_with_two_threads(monkeypatch):
    cpu = profiles.get_profile(verbose=False)
    monkeypatch.setenv("COURSE_TORCH_THREADS", "2")
    assert lora_sweep.side_by_side(cpu) == 2
    assert lora_sweep.side_by_side(dataclasses.replace(cpu, device="cuda")) == 1  # one GPU: one run at a time
    monkeypatch.setenv("COURSE_TORCH_THREADS", "1")
    assert lora_sweep.side_by_side(cpu) == 1


def test_sweep_starts_the_longest_runs_first():
    jobs = [(f"r={r}", lora_sweep.rank_config(r), 5e-3, steps, f"rank{r}")
            for r, steps in ((1, 1500), (16, 1000), (4, 1500))]
    jobs += [(v, lora_sweep.variant_config(v), 5e-3, 1000, v) for v in ("attention only", "DoRA")]
    order = [label for label, *_ in lora_sweep._longest_first(jobs)]
    assert order == ["r=4", "r=1", "DoRA", "r=16", "attention only"]


def test_sweep_trains_the_ranks_below_the_lessons_longer():
    cfg = profiles.get_profile(verbose=False).lesson("04")
    steps = lora_sweep.settings()["steps_by_rank"]
    assert steps == {str(r): cfg.sweep_small_rank_steps if r < cfg.r else cfg.sweep_steps for r in cfg.sweep_ranks}
    assert cfg.sweep_small_rank_steps > cfg.sweep_steps and any(r < cfg.r for r in cfg.sweep_ranks)
