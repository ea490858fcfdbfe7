"""load_base_model(): build once, reuse the cache, clear errors for a broken cache, the hub path
(with a fake loader: it needs internet), and a rebuild that touches nothing but its own folder."""
from __future__ import annotations

import json
import os

import pytest
import torch
import transformers

from course_utils import data, models, pretrain, profiles, seed
from course_utils.pretrain import PretrainConfig

TINY = PretrainConfig(vocab_size=320, n_layer=1, d_model=32, n_head=2, d_ff=64, context=32,
                      steps=3, batch_size=4, lr=1e-3, warmup=1, seed=0)


@pytest.fixture
def tiny_recipe(tmp_path, monkeypatch):
    """A seconds-long recipe on 150 documents, cached and recorded under tmp_path."""
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.setattr(models, "BASE_RECIPE", TINY)
    real = data.load_rows
    monkeypatch.setattr(data, "load_rows", lambda name, split="train", chat_format=True: real(name, split)[:150])
    return tmp_path / "cache"


def test_build_then_reuse(tiny_recipe, monkeypatch):
    model, tok = models.load_base_model("tiny", device="cpu", log=None)
    folder = models.base_model_dir()
    assert folder.parent == tiny_recipe and folder.name.startswith("base-model-")
    assert all((folder / f).is_file() for f in models.REQUIRED_FILES)
    assert tok.eos_token == "<|end|>" and tok.pad_token == "<|pad|>"
    fig = models.build_figures(folder)
    assert fig["params"] == sum(p.numel() for p in model.parameters())
    assert fig["val_perplexity"] > 1
    # a second call must load, never rebuild
    monkeypatch.setattr(models, "build_base_model", lambda *a, **k: pytest.fail("rebuilt a cached model"))
    model2, _ = models.load_base_model("tiny", device="cpu", log=None)
    for (n, p), (_, q) in zip(model.named_parameters(), model2.named_parameters(), strict=True):
        assert torch.equal(p, q), n
    assert not [p for p in tiny_recipe.iterdir() if "building" in p.name]


def test_cache_key_follows_recipe_and_corpus(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "a"}\n')
    k1 = models.recipe_key(TINY, corpus)
    assert k1 == models.recipe_key(TINY, corpus)
    assert models.recipe_key(PretrainConfig(**{**TINY.to_dict(), "steps": 4}), corpus) != k1
    corpus.write_text('{"text": "b"}\n')
    assert models.recipe_key(TINY, corpus) != k1


def test_incomplete_cache_says_how_to_rebuild(tiny_recipe):
    folder = models.base_model_dir()
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    with pytest.raises(models.BaseModelError, match="--rebuild") as e:
        models.load_base_model("tiny", device="cpu", log=None)
    assert "model.safetensors" in str(e.value)


def test_corrupt_weights_say_how_to_rebuild(tiny_recipe):
    models.load_base_model("tiny", device="cpu", log=None)
    folder = models.base_model_dir()
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(models.BaseModelError, match="--rebuild"):
        models.load_base_model("tiny", device="cpu", log=None)


def test_failed_build_leaves_nothing(tiny_recipe, monkeypatch):
    monkeypatch.setattr(pretrain, "pretrain", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        models.build_base_model(log=None)
    assert [p.name for p in tiny_recipe.iterdir() if not p.name.endswith(".lock")] == []


def test_rebuild_touches_only_its_own_folder(tiny_recipe, capsys):
    mine = tiny_recipe / "my-finetuned-model"
    mine.mkdir(parents=True)
    (mine / "model.safetensors").write_bytes(b"precious")
    other = tiny_recipe / "base-model-0123456789ab"  # an older recipe's model
    other.mkdir()
    (other / "config.json").write_text("{}")
    assert models.main([]) == 0
    first = (models.base_model_dir() / "model.safetensors").stat().st_mtime_ns
    assert models.main(["--rebuild"]) == 0
    assert (models.base_model_dir() / "model.safetensors").stat().st_mtime_ns != first
    assert (mine / "model.safetensors").read_bytes() == b"precious"
    assert (other / "config.json").read_text() == "{}"
    out = capsys.readouterr().out
    assert "val perplexity" in out and "params" in out
    rec = json.loads((tiny_recipe.parent / "build" / "results" / "base_model.json").read_text())
    assert set(rec["metrics"]) >= {"params", "corpus_tokens", "build_seconds", "val_perplexity"}


def test_hub_profile_uses_safe_loading(monkeypatch):
    """The hub path cannot run offline: check the arguments it passes with fake loaders."""
    calls = {}

    class FakeTok:
        pad_token, eos_token, chat_template = None, "</s>", None

    class FakeModel(torch.nn.Module):
        def to(self, device):
            calls["device"] = device
            return self

    def fake_model(model_id, **kwargs):
        calls["model"] = (model_id, kwargs)
        return FakeModel()

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", staticmethod(fake_model))
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", staticmethod(lambda model_id, **k: FakeTok()))
    monkeypatch.setattr(models.chat, "add_chat_tokens", lambda m, t: calls.setdefault("chat_tokens", True))
    hub = profiles.Profile(name="hub", reason="test", device="cuda", dtype="bfloat16", base_model="org/some-model")
    model, tok = models.load_base_model(hub)
    model_id, kwargs = calls["model"]
    assert model_id == "org/some-model"
    assert kwargs["trust_remote_code"] is False and kwargs["use_safetensors"] is True
    assert kwargs["dtype"] is torch.bfloat16 and calls["device"] == "cuda"
    assert calls["chat_tokens"] and tok.chat_template == models.chat.CHAT_TEMPLATE  # test_gpu_path checks the tokens


def test_thread_count_does_not_follow_the_machine_load(monkeypatch):
    """The figures of a run must not depend on what else the machine is doing (issue 10)."""
    torch.set_num_threads(3)
    monkeypatch.delenv("COURSE_TORCH_THREADS", raising=False)
    monkeypatch.setattr(seed, "available_cores", lambda: 2)
    for load in (100.0, 0.0):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, load, load))
        profiles.get_profile("tiny", verbose=False)
        assert torch.get_num_threads() == 2  # the machine's cores, whatever the load
    assert [seed.threads_per_job(j) for j in (1, 2, 3)] == [2, 1, 1]
    monkeypatch.setenv("COURSE_TORCH_THREADS", "2")
    assert seed.fix_threads() == 2 and torch.get_num_threads() == 2
    monkeypatch.setenv("COURSE_TORCH_THREADS", "many")
    with pytest.raises(ValueError, match="COURSE_TORCH_THREADS must be a positive integer"):
        seed.fix_threads()
    monkeypatch.delenv("COURSE_TORCH_THREADS")
    seed.fix_threads()
