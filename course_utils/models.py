"""The course's base model: ``load_base_model()`` returns ``(model, tokenizer)``.

* ``tiny`` profile: the course's own small Llama-style GPT, pretrained on ``data/general`` by
  :mod:`course_utils.pretrain` (the recipe lesson 01 teaches) with :data:`BASE_RECIPE`. It is
  built once (about 2-3 minutes on a 2-core CPU) and cached as safetensors with its tokenizer
  under ``paths.cache_dir() / "base-model-<hash>"``; the hash covers the recipe and the corpus
  file, so a change to either builds a new folder and never touches an old one.
* ``hub`` profile: the profile's Hub model (e.g. SmolLM2-135M) loaded with
  ``AutoModelForCausalLM.from_pretrained``. That path needs internet, so it is not exercised
  by the offline tests here (they check it with a fake loader).

Command line: ``python -m course_utils.models`` builds the model if missing and prints its
figures; ``--rebuild`` deletes the cached folder of the current recipe and builds it again.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

import torch

from course_utils import cache, chat, data, generation, paths, pretrain, profiles, quant, results, seed
from course_utils.pretrain import PretrainConfig

#: The recipe of the tiny base model (about 2.1M parameters; 400 steps x 16 x 128 = 819k tokens).
BASE_RECIPE = PretrainConfig(vocab_size=2048, n_layer=4, d_model=192, n_head=4, d_ff=512, context=128,
                             steps=400, batch_size=16, lr=2e-3, warmup=30, weight_decay=0.1, seed=0)
#: Files a complete cached model folder must have.
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "build.json")
def pretrain_log(msg: str) -> None:
    print(msg, flush=True)


REBUILD_HINT = "rebuild it with `python -m course_utils.models --rebuild`"


class BaseModelError(cache.CacheError):
    """The cached base model is missing, incomplete or unreadable."""


def recipe_key(recipe: PretrainConfig | None = None, corpus_file: Path | None = None) -> str:
    """A short hash of the recipe (default :data:`BASE_RECIPE`) and the training corpus."""
    recipe = recipe or BASE_RECIPE
    corpus_file = corpus_file or data.path_of("general", "train")
    if not corpus_file.exists():
        raise BaseModelError(f"missing corpus {corpus_file}: run `make data` first")
    h = hashlib.sha256(json.dumps(recipe.to_dict(), sort_keys=True).encode())
    h.update(hashlib.sha256(corpus_file.read_bytes()).digest())
    return h.hexdigest()[:12]


def base_model_dir(recipe: PretrainConfig | None = None) -> Path:
    """Where the tiny base model of ``recipe`` (default :data:`BASE_RECIPE`) is (or will be) cached."""
    return paths.cache_dir() / f"base-model-{recipe_key(recipe)}"


def _write_base_model(folder: Path, recipe: PretrainConfig, log=pretrain_log) -> None:
    """Pretrain the tiny base model of ``recipe`` and save it, its tokenizer and its figures into ``folder``."""
    cpu0 = time.process_time()
    train = [r["text"] for r in data.load_rows("general", "train")]
    val = [r["text"] for r in data.load_rows("general", "validation")]
    threads = seed.fix_threads()  # the same figures on a busy machine as on an idle one
    out = pretrain.pretrain(train, val, recipe, log=log)
    out["model"].save_pretrained(folder, safe_serialization=True)
    out["tokenizer"].save_pretrained(folder)
    hist = out["history"]
    figures = {"params": pretrain.n_params(out["model"]), "corpus_tokens": out["train_tokens"],
               "build_seconds": round(out["seconds"], 1), "build_cpu_seconds": round(time.process_time() - cpu0, 1),
               "torch_threads": threads, "val_perplexity": round(out["val_perplexity"], 3),
               "tokens_per_second": round(hist["tokens_per_second"], 1), "tokens_seen": hist["tokens_seen"],
               "val_loss_start": hist["val_loss"][0], "val_loss_end": hist["val_loss"][-1]}
    (folder / "build.json").write_text(json.dumps({"recipe": recipe.to_dict(), "figures": figures}, indent=2) + "\n")


def build_base_model(recipe: PretrainConfig | None = None, log=pretrain_log) -> Path:
    """Pretrain the tiny base model and save it atomically into :func:`base_model_dir`
    (:func:`course_utils.cache.write_atomically`: an interrupted build leaves nothing behind)."""
    recipe = recipe or BASE_RECIPE
    return cache.write_atomically(base_model_dir(recipe), lambda tmp: _write_base_model(tmp, recipe, log),
                                  REQUIRED_FILES)


def build_figures(folder: Path | None = None) -> dict:
    """The figures stored when the cached model was built (params, tokens, seconds, perplexity)."""
    folder = folder or base_model_dir()
    try:
        return json.loads((folder / "build.json").read_text())["figures"]
    except (OSError, ValueError, KeyError) as e:
        raise BaseModelError(f"cannot read {folder / 'build.json'} ({e}); {REBUILD_HINT}") from e


def _load_cached(folder: Path, device: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415  +2.0 s on `import course_utils.models` (lesson 00)

    from course_utils import progress  # noqa: PLC0415  imports transformers: as above

    progress.hide_loading_bars()
    cache.check_complete(folder, REQUIRED_FILES, REBUILD_HINT, BaseModelError)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, use_safetensors=True,
                                                     trust_remote_code=False, dtype=torch.float32)
    except Exception as e:
        raise BaseModelError(f"the cached base model in {folder} could not be loaded "
                             f"({type(e).__name__}: {e}); {REBUILD_HINT}") from e
    return model.to(device).eval(), tokenizer


def _load_hub(model_id: str, dtype: str, device: str):
    """Load a Hub model and tokenizer safely (needs internet, or the model in the local Hugging
    Face cache: the tests use a stand-in). The course's chat markers are added as special
    tokens (:func:`course_utils.chat.add_chat_tokens`), so generation stops at ``<|end|>``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415  +2.0 s on `import course_utils.models` (lesson 00)

    tokenizer = AutoTokenizer.from_pretrained(model_id)
    model = AutoModelForCausalLM.from_pretrained(model_id, trust_remote_code=False, use_safetensors=True,
                                                 dtype=getattr(torch, dtype))
    chat.add_chat_tokens(model, tokenizer)
    tokenizer.chat_template = chat.CHAT_TEMPLATE  # the course's format, whatever the model shipped
    return model.to(device).eval(), tokenizer


def _as_profile(profile):
    """A :class:`course_utils.profiles.Profile` from a profile, a name or None (the current one)."""
    if profile is None or isinstance(profile, str):
        return profiles.get_profile(profile, verbose=False)
    return profile


def base_model_source(profile=None) -> str:
    """Where the base model's files are: the tiny model's cache folder, or the Hub id."""
    profile = _as_profile(profile)
    return profile.base_model if not profile.is_tiny else str(base_model_dir())


def load_base_model_4bit(profile=None, double_quant: bool = False):
    """The base model with its Linear layers in NF4 (QLoRA's frozen base, lesson 05), on the GPU
    when there is one, with the same chat tokens as :func:`load_base_model`'s tokenizer."""
    profile = _as_profile(profile)
    if profile.is_tiny and not base_model_dir().exists():
        load_base_model(profile)  # builds it
    model = quant.load_4bit(base_model_source(profile), double_quant=double_quant,
                            device=profile.device if profile.device != "mps" else "cpu")
    if not profile.is_tiny:
        from transformers import AutoTokenizer  # noqa: PLC0415  +2.0 s on `import course_utils.models` (lesson 00)

        chat.add_chat_tokens(model, AutoTokenizer.from_pretrained(profile.base_model))
    return model.eval()


def load_base_model(profile=None, device: str | None = None, log=pretrain_log):
    """The course's base causal LM and its tokenizer, as ``(model, tokenizer)``, in eval mode.

    ``profile``: a :class:`course_utils.profiles.Profile`, a name ("tiny" / "hub") or None (the
    current profile). Tiny: built on first use (a few minutes), then loaded from the cache in a
    second or two. Hub: ``profile.base_model`` from the Hub in ``profile.dtype`` (needs internet;
    this path cannot be exercised offline, so the tests check it with a fake loader)."""
    profile = _as_profile(profile)
    device = device or profile.device
    if not profile.is_tiny:
        return _load_hub(profile.base_model, profile.dtype, device)
    folder = base_model_dir()
    if not folder.exists():
        with cache.lock(folder):
            if not folder.exists():  # another process may have built it while we waited
                if log:
                    log(f"building the course's base model into {folder} (once; about 2-3 minutes on a CPU)")
                build_base_model(log=log)
    return _load_cached(folder, device)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build (if missing) and describe the course's tiny base model.")
    ap.add_argument("--rebuild", action="store_true", help="delete this recipe's cached model and build it again")
    args = ap.parse_args(argv)
    folder = base_model_dir()
    if args.rebuild and folder.exists():
        print(f"removing {folder}")
        shutil.rmtree(folder)
    built = not folder.exists()
    if built:
        with cache.lock(folder):
            if not folder.exists():
                build_base_model()
    t0 = time.perf_counter()
    model, tok = load_base_model("tiny", device="cpu")
    load_s = time.perf_counter() - t0
    fig = build_figures(folder)
    print(f"base model: {folder}\n  params {fig['params']:,}  corpus tokens {fig['corpus_tokens']:,}  "
          f"build {fig['build_seconds']} s ({fig['tokens_per_second']:.0f} tokens/s)  "
          f"val perplexity {fig['val_perplexity']:.2f}  load {load_s:.2f} s")
    for s in generation.continue_text(model, tok, "", n=3, max_new_tokens=50, seed=0):
        print("  sample:", s.replace("\n", " "))
    try:  # a record of this very build is kept; a missing or stale one is written again
        current = not built and results.load("base_model").get("extra", {}).get("cache_folder") == folder.name
    except results.ResultsError:
        current = False
    if not current:
        metrics = {k: fig[k] for k in ("params", "corpus_tokens", "build_seconds", "val_perplexity")}
        results.record("base_model", metrics,
                       tokens_per_second=fig["tokens_per_second"], tokens_seen=fig["tokens_seen"],
                       build_cpu_seconds=fig.get("build_cpu_seconds"), torch_threads=fig.get("torch_threads"),
                       cache_folder=folder.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
