"""The SFT recipe: masked labels, a short trl run that lowers the loss, the atomic cache and its errors."""
import copy
import dataclasses
import json

import pytest
import torch
from datasets import Dataset
from peft import LoraConfig, PromptTuningConfig, get_peft_model

from course_utils import chat, configs, data, models, pretrain, profiles, sft


@pytest.fixture(scope="module")
def tiny():
    """A micro Llama and a byte-level tokenizer trained on a few instruction rows (no base model needed)."""
    rows = data.load_rows("instructions", "train", chat_format=False)[:400]
    tok = pretrain.train_tokenizer([r["prompt"] + " " + r["completion"] for r in rows], vocab_size=400)
    cfg = pretrain.PretrainConfig(vocab_size=400, n_layer=1, d_model=32, n_head=2, d_ff=64, context=64)
    return pretrain.build_model(cfg, tok), tok


def test_masked_example_masks_only_the_prompt(tiny):
    _, tok = tiny
    prompt, completion = chat.format_prompt("When to plant maize?"), chat.format_completion("Plant maize in March.")
    ex = sft.masked_example(tok, prompt, completion)
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert ex["labels"][:n_prompt] == [-100] * n_prompt
    assert ex["labels"][n_prompt:] == ex["input_ids"][n_prompt:]
    assert ex["labels"][-1] == tok.eos_token_id  # the model learns to stop


def test_collate_pads_and_masks(tiny):
    _, tok = tiny
    rows = [dict(r) for r in sft.sft_dataset("train", n=3)]
    b = sft.collate(tok, rows, max_length=64)
    assert b["input_ids"].shape == b["labels"].shape == b["attention_mask"].shape
    assert bool(((b["attention_mask"] == 0) <= (b["labels"] == -100)).all())  # padding never graded
    with pytest.raises(ValueError, match="no rows"):
        sft.collate(tok, [])


def test_completion_loss_is_the_models_own_loss_and_gradient(tiny):
    model, tok = tiny
    model = copy.deepcopy(model).train()
    batch = sft.collate(tok, [dict(r) for r in sft.sft_dataset("train", n=6)], max_length=64)
    own = model(**batch).loss
    own.backward()
    own_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    fast = sft.completion_loss(model, batch)
    fast.backward()
    assert torch.allclose(fast, own, atol=1e-6)
    assert all(torch.allclose(g, p.grad, atol=1e-6) for g, p in zip(own_grads, model.parameters(), strict=True))
    n = int((batch["labels"][:, 1:] != -100).sum())
    assert torch.allclose(sft.completion_loss(model, batch, num_items=2 * n), own / 2, atol=1e-6)


def test_completion_loss_is_used_only_where_it_is_the_models_loss(tiny):
    model, _ = tiny
    assert sft._plain_lm_head(model)
    lora = get_peft_model(copy.deepcopy(model), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    assert sft._plain_lm_head(lora)  # adapters sit inside the decoder: the same loss
    prompt_tuned = get_peft_model(copy.deepcopy(model), PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=2))
    assert not sft._plain_lm_head(prompt_tuned)  # its virtual tokens come from the PeftModel's forward
    capped = copy.deepcopy(model)
    capped.config.final_logit_softcapping = 30.0
    assert not sft._plain_lm_head(capped)
    assert not sft._plain_lm_head(torch.nn.DataParallel(model))  # a multi-GPU wrapper: the Trainer's own loss


def test_short_run_lowers_loss_and_saves_nothing(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    model, tok = tiny
    run = sft.train_sft(model, tok, sft.sft_dataset("train", n=64), steps=12, batch_size=8, lr=3e-3,
                        logging_steps=4, eval_dataset=sft.sft_dataset("validation", n=16), eval_steps=6)
    train = run.losses()["train"][1]
    assert len(train) == 3 and train[-1] < train[0]
    assert "validation" in run.losses() and run.train_seconds > 0
    assert not any(p.name.startswith("checkpoint") for p in tmp_path.rglob("*"))


def test_bad_inputs_are_clear(tiny):
    model, tok = tiny
    with pytest.raises(ValueError, match="'prompt' and 'completion'"):
        sft.train_sft(model, tok, Dataset.from_list([{"text": "x"}]), steps=1, batch_size=1, lr=1e-3)
    with pytest.raises(ValueError, match="steps"):
        sft.train_sft(model, tok, sft.sft_dataset("train", n=2), steps=0, batch_size=1, lr=1e-3)
    with pytest.raises(ValueError, match="unknown recipe"):
        sft.recipe(learning_rate=1)


def test_recipe_is_a_checked_sft_recipe_that_reads_like_a_dict():
    prof = profiles.get_profile("tiny", verbose=False)
    r = sft.recipe(prof, steps=7)
    cfg = prof.lesson("03")
    assert isinstance(r, sft.SFTRecipe) and r.steps == r["steps"] == 7 and r.lr == cfg.lr
    assert list(r) == list(sft.RECIPE_KEYS) and dict(r) == {**{k: getattr(cfg, k) for k in sft.RECIPE_KEYS}, "steps": 7}
    assert {**r, "steps": 3}["steps"] == 3 and r == dict(r)  # the notebooks' **recipe and {**recipe, ...}
    with pytest.raises(configs.ConfigError, match=r"SFTRecipe\.lr = -1: lr must be a number > 0; change it in"):
        sft.recipe(prof, lr=-1)


def test_rehearsal_mix_adds_general_text():
    ds = sft.rehearsal_mix(sft.sft_dataset("train", n=20), n_general=10)
    assert len(ds) == 30 and ds.column_names == ["prompt", "completion"]
    assert sum(p == "" for p in ds["prompt"]) == 10


def test_cache_is_atomic_and_corruption_is_explained(tiny, tmp_path):
    model, tok = tiny
    target = tmp_path / "sft-model-abc"
    sft.save_sft_model(model, tok, target, {"task_accuracy": 0.5})
    assert [p.name for p in tmp_path.iterdir()] == ["sft-model-abc"]  # no temp folder left behind
    loaded, tok2 = sft._load_cached(target)
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        assert torch.allclose(loaded(ids).logits, model.eval()(ids).logits, atol=1e-6)
    assert sft.load_sft_stats(target)["task_accuracy"] == 0.5
    sft.save_sft_model(model, tok, target, {"task_accuracy": 0.9})  # exists already: kept, not overwritten
    assert json.loads((target / sft.STATS_FILE).read_text())["task_accuracy"] == 0.5
    (target / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(sft.SFTCacheError, match="delete that folder"):
        sft._load_cached(target)
    (target / "model.safetensors").unlink()
    with pytest.raises(sft.SFTCacheError, match="incomplete"):
        sft._load_cached(target)


def test_lora_run_is_built_once_then_read_and_other_settings_are_not_cached(tiny, tmp_path, monkeypatch):
    """Lesson 05 reuses lesson 04's LoRA run from the cache; a run with other settings never lands there."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    model, tok = tiny
    pristine = copy.deepcopy(model)
    builds = []

    def fake_base(profile=None):
        builds.append(1)
        return copy.deepcopy(pristine), tok

    monkeypatch.setattr(models, "load_base_model", fake_base)
    prof = profiles.get_profile("tiny", verbose=False)
    sizes = {**prof.sizes, "03": dataclasses.replace(prof.lesson("03"), batch_size=4),
             "04": dataclasses.replace(prof.lesson("04"), r=2, alpha=4, steps=3, target_modules=["q_proj", "v_proj"])}
    prof = dataclasses.replace(prof, sizes=sizes)

    first = sft.load_lora_run(prof)  # trains (3 steps) and caches
    folder = sft.lora_cache_path(pristine, prof)
    assert folder.is_dir() and (folder / sft.LORA_STATS_FILE).is_file()
    stamp = (folder / "adapter_model.safetensors").stat().st_mtime_ns
    again = sft.load_lora_run(prof)  # read back, not retrained
    assert (folder / "adapter_model.safetensors").stat().st_mtime_ns == stamp
    assert again.train_seconds == first.train_seconds and again.settings["steps"] == 3
    ids = tok("a question", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(first.model(ids).logits, again.model(ids).logits, atol=1e-6)

    other = sft.train_sft(copy.deepcopy(pristine), tok, sft.sft_dataset("train", n=16), steps=2, batch_size=4, lr=1e-3,
                          peft_config=sft.lora_config(prof))
    assert sft.save_lora_run(other, prof) is None  # 2 steps, not lesson 04's 3: refused, nothing written
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith("lora-run")] == [folder.name]


def test_few_shot_prompts_fit_the_context_window(tiny, monkeypatch):
    """A prompt keeps only the shots that leave room for the answer: the tiny model has never seen
    a position beyond its window, so a longer prompt would measure something else."""
    model, tok = tiny
    seen = []
    monkeypatch.setattr(sft.generation, "answer",
                        lambda m, t, prompts, **kw: seen.extend(prompts) or [""] * len(prompts))
    out = sft.few_shot_evaluate(model, tok, k=3, n=12, max_new_tokens=16)
    window = model.config.max_position_embeddings
    assert all(len(tok(p)["input_ids"]) + 16 <= window for p in seen)
    assert 0 <= out["shots_used"] < 3  # a 64-position window cannot hold three shots and a question
    wide = sft.few_shot_evaluate(model, tok, k=1, n=4, max_new_tokens=1)
    assert wide["shots_used"] <= 1


def test_run_memory_measures_one_step_shaped_like_the_run(tiny):
    model, tok = tiny
    rows = [{"prompt": chat.format_prompt(r["prompt"]), "completion": chat.format_completion(r["completion"])}
            for r in data.load_rows("instructions", "train", chat_format=False)[:6]]
    run = sft.SFTRun(model=model, train_seconds=0.0, settings={"batch_size": 4, "seq_len": 24})
    expected = sft.measure_memory(model, tok, rows[:4], 24)["total_mb"]
    assert sft.run_memory(run, tok, rows) == pytest.approx(expected)
    assert sft.run_memory(run, tok, rows) > sft.measure_memory(model, tok, rows[:1], 24)["total_mb"]
