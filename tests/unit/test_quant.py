"""From-scratch int8 / NF4 quantization: error bounds, round trips, agreement with bitsandbytes."""
import warnings

import bitsandbytes as bnb
import bitsandbytes.functional as bnbf
import pytest
import torch
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
from transformers import LlamaConfig, LlamaForCausalLM

from course_utils import quant


def test_int8_error_is_at_most_half_a_step():
    torch.manual_seed(0)
    w = torch.randn(64, 64)
    q, scale = quant.absmax_int8(w)
    assert q.dtype == torch.int8 and q.abs().max() == 127
    assert (quant.dequantize_int8(q, scale) - w).abs().max() <= scale / 2 + 1e-6


def test_nf4_levels_shape_and_symmetry():
    levels = quant.nf4_levels()
    assert levels.shape == (16,) and levels[0] == -1 and levels[-1] == 1 and (levels == 0).sum() == 1
    assert torch.all(levels[1:] > levels[:-1])


def test_nf4_round_trip_and_bounds():
    torch.manual_seed(0)
    w = torch.randn(100, 30)  # 3000 values: the last block is partial
    codes, absmax = quant.quantize_nf4(w, blocksize=64)
    assert codes.shape == (3000,) and codes.max() <= 15 and absmax.shape == (47,)
    w_hat = quant.dequantize_nf4(codes, absmax, w.shape, blocksize=64)
    gap = (quant.nf4_levels()[1:] - quant.nf4_levels()[:-1]).max() / 2
    assert (w_hat - w).abs().max() <= gap * absmax.max() + 1e-6
    err = quant.quantization_error(w, w_hat)
    assert 0 < err["relative"] < 0.15


def test_matches_bitsandbytes_exactly():
    torch.manual_seed(1)
    w = torch.randn(128, 128) * 0.02
    cmp = quant.compare_nf4_with_bnb(w)
    assert cmp["levels_max_abs_diff"] < 1e-6
    assert cmp["codes_identical_fraction"] > 0.999
    assert cmp["absmax_max_abs_diff"] < 1e-7
    assert cmp["dequantized_max_abs_diff"] < 1e-6


def test_double_quant():
    torch.manual_seed(0)
    absmax = torch.rand(1000) + 0.5
    q, s, m = quant.double_quantize(absmax)
    assert q.dtype == torch.int8 and s.shape == (4,)
    assert (quant.double_dequantize(q, s, m) - absmax).abs().max() < 0.01
    assert quant.bits_per_parameter(64) == 4.5
    assert 4.12 < quant.bits_per_parameter(64, double_quant=True) < 4.13


def test_bad_input_is_clear():
    with pytest.raises(TypeError, match="floating-point"):
        quant.absmax_int8(torch.arange(4))
    with pytest.raises(ValueError, match="empty"):
        quant.quantize_nf4(torch.empty(0))
    with pytest.raises(ValueError, match="multiple of blocksize"):
        quant.bnb_nf4(torch.randn(8, 48))
    with pytest.raises(ValueError, match="blocksize you quantized"):
        quant.dequantize_nf4(torch.zeros(128, dtype=torch.uint8), torch.ones(3), (128,), 64)


def test_4bit_model_trains_like_its_dequantized_copy(tmp_path):
    """QLoRA on CPU: after an eval-mode forward (which bitsandbytes 0.50 would otherwise repack for
    an inference-only kernel), adapter gradients equal those of an fp32 model holding the
    dequantized weights."""
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    fp32 = LlamaForCausalLM(cfg)
    fp32.save_pretrained(tmp_path)
    q = quant.load_4bit(str(tmp_path))
    assert q.get_memory_footprint() < 0.6 * fp32.get_memory_footprint()
    for name, module in q.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            dequantized = bnbf.dequantize_4bit(module.weight.data, module.weight.quant_state)
            fp32.get_submodule(name).weight.data.copy_(dequantized)
    x = torch.randint(0, 128, (2, 12))
    with torch.no_grad():
        assert (q.eval()(x).logits - fp32.eval()(x).logits).abs().max() < 1e-4
    lcfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False)
    q = prepare_model_for_kbit_training(q, use_gradient_checkpointing=False)
    torch.manual_seed(1)
    pq = get_peft_model(q, lcfg)
    torch.manual_seed(1)
    pm = get_peft_model(fp32, lcfg)
    pq(input_ids=x, labels=x).loss.backward()
    pm(input_ids=x, labels=x).loss.backward()
    ref = dict(pm.named_parameters())
    trained = [(n, p) for n, p in pq.named_parameters() if p.requires_grad]
    assert len(trained) == 12
    for n, p in trained:
        assert p.grad is not None, f"{n} got no gradient through the 4-bit layers"
        assert (p.grad - ref[n].grad).abs().max() < 1e-4


def test_round_trip_formats():
    torch.manual_seed(0)
    w = torch.randn(32, 128) * 0.05
    assert torch.equal(quant.round_trip_weight(w, "fp32"), w)
    step = w.abs().amax(dim=1, keepdim=True) / 127
    assert ((quant.round_trip_weight(w, "int8") - w).abs() <= step / 2 + 1e-7).all()  # per-row absmax
    codes, absmax = quant.quantize_nf4(w, 64)
    assert torch.equal(quant.round_trip_weight(w, "nf4"), quant.dequantize_nf4(codes, absmax, w.shape, 64))
    errs = {f: float((quant.round_trip_weight(w, f) - w).abs().mean()) for f in quant.FORMATS}
    assert errs["int8"] < errs["nf4"] < errs["fp4"], errs  # normal weights: NF4 beats FP4 (QLoRA's finding)
    assert abs(errs["nf4+dq"] - errs["nf4"]) < 0.05 * errs["nf4"], errs
    with pytest.raises(ValueError, match="unknown format 'int4'"):
        quant.round_trip_weight(w, "int4")
    with pytest.raises(ValueError, match="whole blocks of 64"):
        quant.round_trip_weight(torch.randn(3, 10), "fp4")


def test_round_trip_model_copies_and_keeps_embeddings():
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True))
    before = {n: p.clone() for n, p in model.named_parameters()}
    q = quant.round_trip(model, "nf4")
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())  # the original is untouched
    assert torch.equal(q.get_input_embeddings().weight, before["model.embed_tokens.weight"])
    assert not torch.equal(q.model.layers[0].mlp.down_proj.weight, before["model.layers.0.mlp.down_proj.weight"])
