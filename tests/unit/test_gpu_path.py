"""The GPU path, proven without a GPU (issue 11).

* **Fake CUDA.** A model that says it lives on ``cuda`` and refuses any tensor that is not on
  CUDA. On a CPU-only torch no CUDA tensor can exist, so a helper that places its inputs right
  fails with torch's own "Torch not compiled with CUDA enabled" (it called ``.to("cuda")``), and
  a helper that forgot fails with :class:`FedCPUTensor`.
* **Learning guards.** Models arrive in half precision (the hub profile's frozen dtype); after a
  few steps at the hub learning rates every trainer has changed most trainable weights, in fp32.
* **T4.** Compute capability 7.5 with torch's emulated ``is_bf16_supported() == True``: fp16.
* **Stand-in Hub.** The hub profile loads SmolLM2's stand-in offline and speaks the chat format.
* **Colab.** The set-up cell never reinstalls torch.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import datasets
import pytest
import rlhf_toy as toy  # the toy world lives with the tests (tests/unit/rlhf_toy.py)
import torch
from datasets import Dataset
from tokenizers import Tokenizer, pre_tokenizers
from tokenizers import models as tm
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import GRPOConfig, GRPOTrainer

from course_utils import chat, colab, devices, encoders, hardware, manifest, memory, models, profiles, quant, sft
from course_utils.evaluation import evaluate, sampled_reward_and_kl
from course_utils.generation import answer, answer_questions, continue_text, sample
from course_utils.rlhf import common, dpo, ppo, reward
from course_utils.rlhf.ppo import run_ppo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import standin_hub  # noqa: E402

NOT_COMPILED = "Torch not compiled with CUDA enabled"


class FedCPUTensor(RuntimeError):
    """A tensor on another device reached a model on CUDA."""


def _tensors(x):
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _tensors(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _tensors(v)


def fake_cuda(model):
    """Make ``model`` report ``device == cuda`` and raise :class:`FedCPUTensor` on any input
    tensor not on CUDA (its weights stay on the CPU; nothing ever computes)."""
    cls = type(model)
    model.__class__ = type(f"FakeCuda{cls.__name__}", (cls,), {"device": property(lambda self: torch.device("cuda"))})

    def refuse(module, args, kwargs):
        for t in _tensors((args, kwargs)):
            if t.device.type != "cuda":
                raise FedCPUTensor(f"a {t.device} tensor of shape {tuple(t.shape)} reached a model on cuda")

    model.register_forward_pre_hook(refuse, with_kwargs=True)
    return model


def places_inputs_right(fn) -> None:
    """``fn`` feeds a fake-CUDA model: it must fail by moving its inputs to CUDA, not by feeding CPU tensors."""
    assert not torch.cuda.is_available(), "this test proves placement on a CPU-only torch"
    with pytest.raises((AssertionError, RuntimeError)) as e:
        fn()
    assert not isinstance(e.value, FedCPUTensor), f"a helper fed CPU tensors to a CUDA model: {e.value}"
    assert NOT_COMPILED in str(e.value), f"failed for another reason: {type(e.value).__name__}: {e.value}"


@pytest.fixture
def tok():
    return toy.toy_tokenizer()


def _pairs(n=8):
    # the defects alternate: the list of defects is longer than the prompts on purpose
    return [dict(prompt=p, chosen=chat.format_completion("yes good crop"), rejected=chat.format_completion("no bad"),
                 defect=d) for p, d in zip(toy.toy_prompts(n), ["wrong", "rude"] * n, strict=False)]


# ----------------------------------------------------------------------------- fake CUDA
def test_the_fake_catches_a_helper_that_forgets_to_move(tok):
    """The check itself can fail: feeding CPU tensors is caught."""
    m = fake_cuda(toy.toy_policy(tok))
    with pytest.raises(AssertionError, match="fed CPU tensors"):
        places_inputs_right(lambda: m(input_ids=torch.tensor([[1, 2]])))


def test_memory_measurement_moves_its_batch(tok):
    m = fake_cuda(toy.toy_policy(tok))
    ids = torch.tensor([[5, 6, 7]])
    places_inputs_right(lambda: memory.measure_training_memory(m, {"input_ids": ids, "labels": ids}))


def test_sft_collate_and_memory_move_to_the_model(tok):
    m = fake_cuda(toy.toy_policy(tok))
    rows = [{"prompt": toy.toy_prompts(1)[0], "completion": chat.format_completion("yes")}]
    places_inputs_right(lambda: sft.collate(tok, rows, 16, device=m))
    places_inputs_right(lambda: sft.measure_memory(m, tok, rows, 16))


def test_generation_and_judging_move_to_the_model(tok):
    m = fake_cuda(toy.toy_policy(tok))
    prompts = toy.toy_prompts(2)
    places_inputs_right(lambda: answer_questions(m, tok, ["yes good"], max_new_tokens=2))
    places_inputs_right(lambda: answer(m, tok, prompts, max_new_tokens=2, do_sample=True))
    places_inputs_right(lambda: sample(m, tok, [[5, 6]], max_new_tokens=2))
    places_inputs_right(lambda: continue_text(m, tok, "yes", max_new_tokens=2))
    places_inputs_right(lambda: evaluate(m, tok, n=2, max_new_tokens=2))
    places_inputs_right(lambda: common.completion_logps(m, tok, prompts, [chat.format_completion("yes")] * 2))


def test_reward_dpo_and_kl_helpers_move_to_the_model(tok):
    rm = fake_cuda(reward.make_reward_model(toy.toy_policy(tok), tok))
    rows = _pairs(4)
    places_inputs_right(lambda: reward.score(rm, tok, [r["prompt"] for r in rows], [r["chosen"] for r in rows]))
    places_inputs_right(lambda: reward.pairwise_eval(rm, tok, rows))
    places_inputs_right(lambda: reward.random_head_accuracies(rm, tok, rows, n_heads=2))
    places_inputs_right(lambda: ppo.reward_model_fn(rm, tok.pad_token_id)([[1, 2]], [[3]]))
    pol = fake_cuda(toy.toy_policy(tok))
    places_inputs_right(lambda: dpo.pair_logps(pol, tok, rows))
    places_inputs_right(lambda: sampled_reward_and_kl(pol, toy.toy_policy(tok), tok, rm, toy.toy_prompts(2), 2))


def test_ppo_puts_its_models_on_the_policys_device(tok):
    """The reference and value model arrive on the CPU; the trainer must move them to the policy's CUDA."""
    policy = fake_cuda(toy.toy_policy(tok))
    value = ppo.ValueModel(toy.toy_scorer(tok))
    cfg = ppo.PPOConfig(steps=1, batch_size=4, mini_batch_size=4, ppo_epochs=1, max_new_tokens=2)
    places_inputs_right(lambda: ppo.PPOTrainer(policy, toy.toy_policy(tok), value, lambda p, r: torch.zeros(len(p)),
                                               tok, toy.toy_prompts(4), cfg))


def test_encoders_move_to_the_encoder():
    tokenizer = encoders.load_tokenizer()
    enc = fake_cuda(encoders.load_encoder(pretrained=False))
    places_inputs_right(lambda: encoders.embed(["water the maize"], tokenizer, enc))
    clf = fake_cuda(encoders.make_classifier(3, pretrained=False))
    places_inputs_right(lambda: encoders.predict(clf, tokenizer, ["water the maize"]))


def test_quantizers_keep_the_weights_device():
    """The meta device stands in for a GPU: every intermediate must stay on the weight's device."""
    w = torch.randn(8, 64).to("meta")
    codes, absmax = quant.quantize_nf4(w, 64)
    assert codes.device.type == "meta" and absmax.device.type == "meta"
    assert quant.dequantize_nf4(codes, absmax, w.shape, 64).device.type == "meta"
    q, scale, mean = quant.double_quantize(absmax, 4)
    assert q.device.type == scale.device.type == "meta"


# ----------------------------------------------------------------------------- precision rule
class _FakeCuda:
    def __init__(self, cc, bf16_flag=True):
        self.cc, self.flag = cc, bf16_flag

    def is_available(self):
        return True

    def get_device_capability(self, i=0):
        return self.cc

    def is_bf16_supported(self, *a, **k):
        return self.flag


def test_a_t4_trains_in_fp16_even_when_torch_claims_bf16(monkeypatch):
    """torch 2.13 answers is_bf16_supported() True on a T4 (cc 7.5) by emulation: the course says fp16."""
    monkeypatch.setattr(torch, "cuda", _FakeCuda((7, 5), True))
    assert devices.trainer_precision() == {"use_cpu": False, "bf16": False, "fp16": True}
    args = common.trainer_args()
    assert args["fp16"] is True and args["bf16"] is False and args["use_cpu"] is False
    assert devices.autocast_dtype("cuda") is torch.float16
    monkeypatch.setattr(torch, "cuda", _FakeCuda((8, 0), True))  # an A100 / L4: bf16
    assert devices.trainer_precision() == {"use_cpu": False, "bf16": True, "fp16": False}
    assert devices.autocast_dtype("cuda") is torch.bfloat16


def test_cpu_trains_in_plain_fp32_with_no_scaler():
    if torch.cuda.is_available():
        pytest.skip("a CPU-only check")
    assert devices.trainer_precision() == {"use_cpu": True, "bf16": False, "fp16": False}
    assert devices.autocast_dtype("cpu") is None and not devices.grad_scaler("cpu").is_enabled()


def test_hardware_and_profile_agree_with_the_precision_rule():
    fake = SimpleNamespace(cuda=_FakeCuda((7, 5), True), backends=SimpleNamespace(mps=None))
    fake.cuda.get_device_properties = lambda i: SimpleNamespace(name="Tesla T4", major=7, minor=5)
    fake.cuda.mem_get_info = lambda i: (15 * 2**30, 16 * 2**30)
    hw = hardware.detect(fake)
    assert hw.bf16 is False and hw.fp16 is True
    prof = profiles.get_profile("hub", hardware=hw, online=True, verbose=False)
    assert prof.dtype == "float16"


# ----------------------------------------------------------------------------- learning guards
HUB_LR = {name: getattr(profiles.LESSON_SIZES[k]["hub"], key) for name, (k, key) in
          {"sft": ("03", "lr"), "rm": ("06", "rm_lr"), "ppo": ("07", "lr"), "dpo": ("08", "lr")}.items()}


def _snapshot(model):
    return {n: p.detach().float().clone() for n, p in model.named_parameters() if p.requires_grad}


def assert_learned(before: dict, model, name: str) -> None:
    after = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert devices.trainable_dtypes(model) == {torch.float32}, f"{name}: trainable weights must be fp32"
    changed = total = 0
    for n, p in after.items():
        assert torch.isfinite(p).all(), f"{name}: NaN or inf in {n}"
        if n in before:
            changed += int((p.detach().float() != before[n]).sum())
            total += before[n].numel()
    assert total and changed / total > 0.5, f"{name}: only {changed / max(total, 1):.1%} of the weights moved"


def _half(model):
    return model.to(torch.bfloat16)  # how the hub profile loads its models


def test_sft_learns_in_fp32_from_a_half_precision_model(tok):
    m = _half(toy.toy_policy(tok))
    before = _snapshot(m)
    rows = [{"prompt": p, "completion": chat.format_completion("yes good crop")} for p in toy.toy_prompts(16)]
    run = sft.train_sft(m, tok, Dataset.from_list(rows), steps=4, batch_size=4, lr=HUB_LR["sft"], seq_len=32,
                        warmup_ratio=0.0, logging_steps=1)
    assert_learned(before, run.model, "train_sft")


def test_reward_trainer_learns_in_fp32(tok):
    start = _half(toy.toy_policy(tok))
    rm, _ = reward.train_reward_model(start, tok, Dataset.from_list(_pairs(16)), steps=4, batch_size=4,
                                      learning_rate=HUB_LR["rm"])
    fresh = reward.make_reward_model(toy.toy_policy(tok), tok)  # the body it started from, in fp32
    before = _snapshot(fresh)
    before.pop("score.weight")  # the head's initial draw is not comparable
    assert_learned(before, rm, "RewardTrainer")


def test_dpo_learns_in_fp32_from_a_half_precision_model(tok):
    policy, ref = _half(toy.toy_policy(tok)), _half(toy.toy_policy(tok))
    before = _snapshot(policy)
    dpo.train_dpo(policy, ref, tok, Dataset.from_list(_pairs(16)), steps=4, batch_size=4,
                  learning_rate=HUB_LR["dpo"], beta=0.1)
    assert_learned(before, policy, "DPOTrainer")


def test_ppo_learns_in_fp32_from_a_half_precision_model(tok):
    start = _half(toy.toy_policy(tok))
    rm = _half(reward.make_reward_model(toy.toy_policy(tok, seed=2), tok))
    before = _snapshot(common.fresh_copy(start))
    cfg = ppo.PPOConfig(steps=2, batch_size=8, mini_batch_size=4, ppo_epochs=1, learning_rate=HUB_LR["ppo"],
                        max_new_tokens=4)
    policy, trainer, _ = run_ppo(start, tok, rm, toy.toy_prompts(8), cfg)
    assert_learned(before, policy, "PPO policy")
    assert devices.trainable_dtypes(trainer.value_model) == {torch.float32}


def test_grpo_learns_in_fp32_from_a_half_precision_model(tok, tmp_path):
    policy = common.fresh_copy(_half(toy.toy_policy(tok)))
    before = _snapshot(policy)
    rm = reward.make_reward_model(toy.toy_policy(tok, seed=2), tok)
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=3, learning_rate=HUB_LR["ppo"], per_device_train_batch_size=4,
                      num_generations=4, max_completion_length=4, logging_steps=1, **common.trainer_args())
    trainer = common.quiet(GRPOTrainer(model=policy, reward_funcs=reward.as_reward_func(rm, tok), args=args,
                                       train_dataset=datasets.Dataset.from_dict({"prompt": toy.toy_prompts(8)}),
                                       processing_class=tok))
    trainer.train()
    assert_learned(before, policy, "GRPOTrainer")


def test_without_the_fp32_rule_bf16_weights_barely_move(tok):
    """Why the rule exists: the same AdamW steps on bf16 weights leave most of them unchanged."""
    m = _half(toy.toy_policy(tok))
    before = _snapshot(m)
    opt = torch.optim.AdamW(m.parameters(), lr=HUB_LR["ppo"])
    ids = torch.tensor([[5, 6, 7, 8]])
    for _ in range(3):
        m(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad()
    changed = sum(int((p.detach().float() != before[n]).sum()) for n, p in m.named_parameters())
    assert changed / sum(v.numel() for v in before.values()) < 0.2


# ----------------------------------------------------------------------------- the stand-in Hub
@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("hf-hub")
    standin_hub.write_smollm2(cache)
    return cache


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_hub_profile_loads_smollm2_offline_and_speaks_the_chat_format(hub_cache, monkeypatch, dtype):
    standin_hub.use_cache(monkeypatch, hub_cache)
    hub = profiles.Profile(name="hub", reason="test", device="cpu", dtype=dtype, base_model=standin_hub.SMOLLM2_ID)
    model, tokenizer = models.load_base_model(hub)
    assert model.dtype == getattr(torch, dtype) and model.config.tie_word_embeddings
    assert model.config.num_key_value_heads < model.config.num_attention_heads  # grouped KV heads kept
    for marker in chat.SPECIAL_TOKENS:  # one token each, not plain-text pieces
        assert len(tokenizer(marker, add_special_tokens=False)["input_ids"]) == 1, marker
    end = tokenizer.convert_tokens_to_ids(chat.END)
    assert tokenizer.eos_token_id == end and model.generation_config.eos_token_id == end
    assert tokenizer.pad_token == chat.PAD and len(tokenizer) <= model.get_input_embeddings().weight.shape[0]
    # a model that wants to end its answer at once: generation must stop right there
    model.lm_head.register_forward_hook(lambda mod, i, out: out.index_fill(-1, torch.tensor([end]), 1e4))
    prompt_ids = [tokenizer(chat.format_prompt("How deep should maize be sown?"))["input_ids"]]
    qr, mask, ctx = sample(model, tokenizer, prompt_ids, max_new_tokens=8, do_sample=False)
    assert qr.shape[1] == ctx + 1 and qr[0, ctx] == end
    assert answer_questions(model, tokenizer, ["How deep should maize be sown?"], max_new_tokens=8) == [""]


def test_add_chat_tokens_grows_a_full_vocabulary(tok):
    """A Hub tokenizer whose vocabulary fills the embedding (SmolLM2: 49,152 both): new rows are added."""
    vocab = {w: i for i, w in enumerate(["<|endoftext|>", "<unk>", *toy.WORDS])}
    t = Tokenizer(tm.WordLevel(vocab=vocab, unk_token="<unk>"))
    t.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    hub_tok = PreTrainedTokenizerFast(tokenizer_object=t, eos_token="<|endoftext|>", unk_token="<unk>")
    m = LlamaForCausalLM(LlamaConfig(vocab_size=len(hub_tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True))
    assert chat.add_chat_tokens(m, hub_tok) == 4
    assert m.get_input_embeddings().weight.shape[0] == len(hub_tok) == len(vocab) + 4
    assert chat.add_chat_tokens(m, hub_tok) == 0  # idempotent
    assert chat.add_chat_tokens(None, tok) == 0  # the tiny tokenizer already speaks the format


# ----------------------------------------------------------------------------- Colab
def test_colab_cell_never_reinstalls_torch():
    root = Path(__file__).resolve().parents[2]
    cmds = colab.install_commands(root)
    assert cmds and all("torch" not in colab._name(a) for c in cmds for a in c if not a.startswith("-"))
    assert ["--no-deps", "-e", str(root)] == cmds[-1][-3:]  # the course itself: no dependency resolution
    pinned = {colab._name(r) for r in colab.pinned_requirements(root / "pyproject.toml")}
    assert "transformers" in pinned and "torch" not in pinned
    assert importlib.util.find_spec("tomllib")  # colab.py runs on Colab's Python with the standard library
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        first = "".join(json.loads(nb.read_text())["cells"][0]["source"])
        assert "colab.py" in first and "pip" not in first and "torch" not in first.replace("own torch", ""), nb.name


def test_readme_t4_estimate_is_what_the_estimator_prints():
    """The README's T4 table is the estimator's output, not typed figures."""
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("t4_estimate", root / "scripts" / "t4_estimate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    table = mod.table()
    assert table in (root / "README.md").read_text(), "run `python scripts/t4_estimate.py` and paste it into README.md"
    rows = [r for r in table.splitlines() if r.startswith("| 0")]
    assert [r.split("|")[1].strip() for r in rows] == [les.number for les in manifest.LESSONS]
