import dataclasses
import json
import re

import pytest

from course_utils import configs, data, hardware, profiles
from course_utils.paths import NOTEBOOKS_DIR

CPU = hardware.Hardware(device="cpu", cpu_count=2, ram_gb=8)
A100 = hardware.Hardware(device="cuda", gpu_name="NVIDIA A100-SXM4-80GB", total_memory_gb=80, free_memory_gb=79,
                         compute_capability=(8, 0), bf16=True, fp16=True)


def test_env_chooses_tiny(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "tiny")
    p = profiles.get_profile(hardware=A100, online=True)
    assert p.name == "tiny" and p.is_tiny and "COURSE_PROFILE" in p.reason


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "huge")
    with pytest.raises(profiles.ProfileError, match="unknown profile 'huge'.*tiny, hub"):
        profiles.get_profile(hardware=CPU)


def test_hub_without_network_falls_back_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PROFILE", "hub")
    p = profiles.get_profile(hardware=A100, online=False)
    out = capsys.readouterr().out.strip().splitlines()
    assert p.name == "tiny" and len(out) == 1 and "falling back to the tiny profile" in out[0]


def test_hub_with_network_uses_bf16_on_a100(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "hub")
    p = profiles.get_profile(hardware=A100, online=True)
    assert p.name == "hub" and p.dtype == "bfloat16" and p.device == "cuda"
    assert p.base_model == profiles.MODELS["hub"]["base_model"]


def test_recommendation_used_when_env_unset(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert profiles.get_profile(hardware=CPU).name == "tiny"
    assert profiles.get_profile(hardware=A100, online=True).name == "hub"
    assert profiles.get_profile(hardware=A100, online=False, verbose=False).name == "tiny"


LESSONS = [f"{i:02d}" for i in range(10)]


def test_every_lesson_has_its_typed_config_in_every_profile_with_the_run_seed(monkeypatch):
    assert sorted(profiles.LESSON_SIZES) == LESSONS
    monkeypatch.setenv("COURSE_SEED", "2")
    for name in profiles.PROFILE_NAMES:
        p = profiles.get_profile(name, hardware=A100, online=True, verbose=False)
        for key in LESSONS:
            cls = getattr(configs, f"Lesson{key}Config")
            assert type(profiles.LESSON_SIZES[key][name]) is cls, (key, name)
            cfg = p.lesson(key)
            assert type(cfg) is cls and cfg.seed == 2, (key, name)
            assert dataclasses.replace(cfg, seed=0) == profiles.LESSON_SIZES[key][name]  # only the seed is set per run


def test_configs_are_frozen():
    cfg = profiles.LESSON_SIZES["03"]["tiny"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 1


@pytest.mark.parametrize("key, field, bad, rule", [
    ("03", "steps", 0, "an int >= 1"),
    ("03", "steps", 2.5, "an int >= 1"),
    ("03", "batch_size", True, "an int >= 1"),
    ("03", "lr", -1e-3, "a number > 0"),
    ("03", "warmup_ratio", 1.5, r"a number in \[0, 1\)"),
    ("03", "sweep_lrs", [], "a non-empty list of numbers > 0"),
    ("04", "target_modules", ["qkv_proj"], "a non-empty list of q_proj, k_proj"),
    ("04", "sweep_ranks", [4, 0], "a non-empty list of ints >= 1"),
    ("04", "sweep_variants", ["LoRA+"], "a list of attention only, DoRA"),
    ("04", "sweep_lr_factors", [1.0, -2.0], "a non-empty list of numbers > 0"),
    ("04", "sweep_lr_factors", [], "a non-empty list of numbers > 0"),
    ("01", "n_head", 5, None),  # d_model 128 is not a multiple of 5
    ("07", "mini_batch_size", 5, r"a divisor of batch_size \(32\)"),
    ("07", "sweep_kl_coefs", [-0.1], "a non-empty list of numbers >= 0"),
    ("08", "beta", 0, "a number > 0"),
    ("06", "seed", -1, "an int >= 0"),
])
def test_a_bad_value_is_a_clear_error_naming_the_field_the_value_and_the_fix(key, field, bad, rule):
    tiny = profiles.LESSON_SIZES[key]["tiny"]
    named = "d_model" if rule is None else field  # a value that breaks another field's rule names that field
    with pytest.raises(configs.ConfigError) as err:
        dataclasses.replace(tiny, **{field: bad})
    msg = str(err.value)
    shown = repr(getattr(tiny, named)) if rule is None else re.escape(repr(bad))
    assert re.search(rf"Lesson{key}Config\.{named} = {shown}: {named} must be ", msg), msg
    assert rule is None or re.search(rule, msg), msg
    assert f"change it in course_utils/profiles.py (LESSON_SIZES['{key}']" in msg


def test_an_unknown_smoke_override_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(profiles.SMOKE_OVERRIDES, "03", {"stepz": 2})
    with pytest.raises(configs.ConfigError, match=r"SMOKE_OVERRIDES\['03'\] sets \['stepz'\].*steps, batch_size"):
        profiles._smoke("03", profiles.LESSON_SIZES["03"]["hub"])


def test_hub_smoke_differs_from_hub_only_in_the_smoke_fields():
    for key in LESSONS:
        hub, smoke = profiles.LESSON_SIZES[key]["hub"], profiles.LESSON_SIZES[key]["hub-smoke"]
        overrides = profiles.SMOKE_OVERRIDES.get(key, {})
        assert smoke == dataclasses.replace(hub, **overrides), key
        differs = {f.name for f in dataclasses.fields(hub) if getattr(hub, f.name) != getattr(smoke, f.name)}
        assert differs <= set(overrides), (key, differs - set(overrides))
        assert not set(overrides) & {"lr", "rm_lr", "beta", "kl_coef", "body_lr", "head_lr", "scratch_lr",
                                     "prompt_tuning_lr", "weight_decay", "warmup_ratio"}, key  # the hub recipes


def test_every_setting_a_notebook_reads_is_a_field_of_its_lesson_config():
    """``cfg = profile.lesson("NN")`` (or ``lora_cfg = ...``): every ``cfg.<name>`` the notebook reads exists."""
    seen = 0
    for nb in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        src = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        for var, key in re.findall(r"(\w+) = profile\.lesson\(\"(\d\d)\"\)", src):
            names = {f.name for f in dataclasses.fields(profiles.LESSON_SIZES[key]["tiny"])}
            used = set(re.findall(rf"(?<![\w.]){var}\.(\w+)", src))
            assert used and used <= names, f"{nb.name}: {var}.{sorted(used - names)} not in Lesson{key}Config"
            seen += 1
    assert seen >= 10  # 00-08, and 05's and 08's second configs


def test_lesson_sizes_as_attributes_and_unknown_lesson(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "tiny")
    p = profiles.get_profile(hardware=CPU)
    assert p.lesson("1") is not None
    with pytest.raises(profiles.ProfileError, match="no sizes for lesson '42'"):
        p.lesson("42")


def test_hub_smoke_uses_the_hub_models_and_recipes_at_small_sizes_without_the_network(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "hub-smoke")
    monkeypatch.setattr(hardware, "hub_reachable", lambda *a, **k: pytest.fail("hub-smoke must not check the network"))
    p = profiles.get_profile(hardware=CPU, verbose=False)
    assert p.name == "hub-smoke" and not p.is_tiny and p.base_model == profiles.MODELS["hub"]["base_model"]
    for key in LESSONS:  # the hub recipes (learning rates, beta, KL coefficient)
        hub = profiles.LESSON_SIZES[key]["hub"]
        for name in ("lr", "rm_lr", "beta", "kl_coef"):
            assert getattr(p.lesson(key), name, None) == getattr(hub, name, None), (key, name)
    assert p.lesson("03").steps < 10 and p.lesson("07").steps < 10


def test_course_dtype_sets_the_frozen_dtype_and_is_validated(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "hub-smoke")
    assert profiles.get_profile(hardware=CPU, verbose=False).dtype == "float32"  # a CPU by default
    monkeypatch.setenv("COURSE_DTYPE", "float16")
    assert profiles.get_profile(hardware=CPU, verbose=False).dtype == "float16"
    monkeypatch.setenv("COURSE_DTYPE", "fp8")
    with pytest.raises(profiles.ProfileError, match="COURSE_DTYPE='fp8'.*float32, float16, bfloat16"):
        profiles.get_profile(hardware=CPU, verbose=False)
    monkeypatch.setenv("COURSE_PROFILE", "tiny")  # the tiny profile is always fp32
    assert profiles.get_profile(hardware=CPU, verbose=False).dtype == "float32"


def test_hub_lesson_01_runs_a_few_epochs_not_dozens():
    """Tokens seen / corpus tokens, with the corpus at 3 to 6 characters per token (a 2,048-token
    BPE; the tiny base model's measures 4.2)."""
    hub = profiles.LESSON_SIZES["01"]["hub"]
    chars = sum(len(r["text"]) for r in data.load_rows("general", "train")[: hub.train_docs])
    seen = hub.steps * hub.batch_size * hub.seq_len
    fewest, most = seen / (chars / 3), seen / (chars / 6)
    assert 1 <= fewest and most <= 8, (fewest, most)


def test_lesson_01_measures_perplexity_on_the_whole_validation_split_outside_the_smoke_run():
    """val_docs only shortens the stand-in Hub pass (a CPU in float16 took 106 s on the full split)."""
    n = len(data.load_rows("general", "validation"))
    assert [profiles.LESSON_SIZES["01"][p].val_docs for p in ("tiny", "hub")] == [n, n]
    assert profiles.LESSON_SIZES["01"]["hub-smoke"].val_docs < n
