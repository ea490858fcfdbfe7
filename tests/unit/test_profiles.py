import pytest

from course_utils import hardware, profiles

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


def test_every_lesson_has_sizes_in_both_profiles():
    for key, both in profiles.LESSON_SIZES.items():
        assert set(both) == {"tiny", "hub", "hub-smoke"}, f"lesson {key} must define tiny and hub sizes"
        assert set(both["tiny"]) == set(both["hub"]), f"lesson {key}: tiny and hub must set the same keys"


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
    for key, sizes in profiles.LESSON_SIZES.items():
        smoke, hub = sizes["hub-smoke"], sizes["hub"]
        assert set(smoke) == set(hub), key  # every setting a lesson reads is there
        assert {k: v for k, v in smoke.items() if k in ("lr", "rm_lr", "beta", "kl_coef")} == \
               {k: v for k, v in hub.items() if k in ("lr", "rm_lr", "beta", "kl_coef")}, key  # the hub recipes
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
    from course_utils import data

    hub = profiles.LESSON_SIZES["01"]["hub"]
    chars = sum(len(r["text"]) for r in data.load_rows("general", "train")[: hub["train_docs"]])
    seen = hub["steps"] * hub["batch_size"] * hub["seq_len"]
    fewest, most = seen / (chars / 3), seen / (chars / 6)
    assert 1 <= fewest and most <= 8, (fewest, most)
