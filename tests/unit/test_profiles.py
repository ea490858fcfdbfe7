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
        assert set(both) == {"tiny", "hub"}, f"lesson {key} must define tiny and hub sizes"
        assert set(both["tiny"]) == set(both["hub"]), f"lesson {key}: tiny and hub must set the same keys"


def test_lesson_sizes_as_attributes_and_unknown_lesson(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "tiny")
    p = profiles.get_profile(hardware=CPU)
    assert p.lesson("1") is not None
    with pytest.raises(profiles.ProfileError, match="no sizes for lesson '42'"):
        p.lesson("42")
