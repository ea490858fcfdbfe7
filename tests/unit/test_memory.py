"""The memory calculator against measured footprints of real (small) transformers models."""
import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from course_utils import memory

TOLERANCE = 0.25  # the estimate's total must be within 25 % of the measured total


def llama():
    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=2048, hidden_size=192, intermediate_size=512, num_hidden_layers=3,
                                        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256))


def gpt2():
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=2048, n_embd=128, n_layer=3, n_head=4, n_positions=256,
                                      bos_token_id=0, eos_token_id=0))


@pytest.mark.parametrize("make", [llama, gpt2])
@pytest.mark.parametrize("batch,seq", [(4, 128), (2, 256)])
def test_full_finetuning_estimate_matches_measurement(make, batch, seq):
    model = make()
    ids = torch.randint(0, 2048, (batch, seq))
    measured = memory.measure_training_memory(model, {"input_ids": ids, "labels": ids})
    est = memory.estimate_training_memory(method="full", batch_size=batch, seq_len=seq, **memory.shape_of(model))
    parts = est.as_dict("MB")
    # weights, gradients and Adam moments are exact; activations are a model
    for part in ("weights", "gradients", "optimizer"):
        assert parts[part] == pytest.approx(measured[f"{part}_mb"], rel=0.02), part
    assert parts["total"] == pytest.approx(measured["total_mb"], rel=TOLERANCE)


def test_lora_estimate_matches_measurement():
    base = llama()
    shape = memory.shape_of(base)
    model = get_peft_model(base, LoraConfig(r=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    ids = torch.randint(0, 2048, (4, 128))
    measured = memory.measure_training_memory(model, {"input_ids": ids, "labels": ids})
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == memory.lora_trainable_params(3, 192, rank=8)
    est = memory.estimate_training_memory(method="lora", batch_size=4, seq_len=128, trainable_params=trainable, **shape)
    assert est.as_dict()["total"] == pytest.approx(measured["total_mb"], rel=TOLERANCE)
    assert measured["total_mb"] < memory.measure_training_memory(llama(), {"input_ids": ids, "labels": ids})["total_mb"]


def test_measurement_leaves_the_model_unchanged():
    model = llama()
    before = [p.detach().clone() for p in model.parameters()]
    ids = torch.randint(0, 2048, (2, 32))
    memory.measure_training_memory(model, {"input_ids": ids, "labels": ids})
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())


def test_a_frozen_second_model_adds_weights_only():
    """measure_step_memory with a trained and a frozen model (DPO's policy and reference): the frozen
    one's weights count, its gradients and optimizer state do not; the SFT measure is the same code."""
    policy, ref = gpt2(), gpt2()
    ref.requires_grad_(False)
    ids = torch.randint(0, 2048, (2, 32))
    alone = memory.measure_training_memory(policy, {"input_ids": ids, "labels": ids})

    def loss_fn():
        with torch.no_grad():
            ref_logits = ref(input_ids=ids).logits
        return (policy(input_ids=ids).logits - ref_logits).pow(2).mean()
    both = memory.measure_step_memory([policy, ref], loss_fn)
    assert both["weights_mb"] == pytest.approx(2 * alone["weights_mb"])
    assert both["gradients_mb"] == pytest.approx(alone["gradients_mb"])
    assert both["optimizer_mb"] == pytest.approx(alone["optimizer_mb"])
    assert both["activations_mb"] > 0
    with pytest.raises(ValueError, match="no trainable parameters"):
        memory.measure_step_memory([ref], loss_fn)


def test_orderings_for_a_7b_model():
    full = memory.estimate_for("Llama-2-7B", "full", seq_len=512, batch_size=1)
    lora = memory.estimate_for("Llama-2-7B", "lora", seq_len=512, batch_size=1)
    qlora = memory.estimate_for("Llama-2-7B", "qlora", seq_len=512, batch_size=1)
    assert full.total_gb > 100 > lora.total_gb > qlora.total_gb
    # 4-bit weights of a 7B model: about 3.5 GB (NF4 + double quantisation, 16-bit embeddings)
    assert 3.3 < qlora.weights / 2**30 < 4.2
    assert memory.fits(qlora, memory.GPUS["T4"]) and not memory.fits(full, memory.GPUS["A100-80GB"])
    ckpt = memory.estimate_for("Llama-2-7B", "lora", seq_len=2048, batch_size=4, gradient_checkpointing=True)
    no_ckpt = memory.estimate_for("Llama-2-7B", "lora", seq_len=2048, batch_size=4)
    assert ckpt.activations < no_ckpt.activations / 5


@pytest.mark.parametrize("kwargs,msg", [
    (dict(method="adapters"), "unknown method"),
    (dict(dtype="nf4"), "unknown training dtype"),
    (dict(optimizer="lion"), "unknown optimizer"),
    (dict(batch_size=-2), "batch_size must be a positive number"),
    (dict(seq_len=0), "seq_len must be a positive number"),
    (dict(n_params=1000), "smaller than the embeddings"),
])
def test_bad_input_is_a_clear_error(kwargs, msg):
    args = dict(n_params=1e8, n_layers=12, hidden_size=768, vocab_size=32000) | kwargs
    with pytest.raises(ValueError, match=msg):
        memory.estimate_training_memory(**args)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'GPT-5'"):
        memory.estimate_for("GPT-5")
