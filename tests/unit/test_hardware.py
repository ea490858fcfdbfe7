"""Hardware detection and recommendation, with faked devices."""
import socket
import time
from types import SimpleNamespace

import pytest

from course_utils import hardware


def fake_torch(cuda=None, mps=False):
    """A stand-in for ``torch`` with one CUDA device described by ``cuda`` (or none)."""
    def props(_):
        return SimpleNamespace(name=cuda["name"], major=cuda["cc"][0], minor=cuda["cc"][1])

    cuda_ns = SimpleNamespace(
        is_available=lambda: cuda is not None,
        get_device_properties=props,
        mem_get_info=lambda _: (cuda["free"] * 2**30, cuda["total"] * 2**30),
        is_bf16_supported=lambda: cuda["cc"] >= (8, 0),
    )
    return SimpleNamespace(cuda=cuda_ns, backends=SimpleNamespace(mps=SimpleNamespace(is_available=lambda: mps)))


T4 = dict(name="Tesla T4", cc=(7, 5), free=14.7, total=15.0)
A100 = dict(name="NVIDIA A100-SXM4-80GB", cc=(8, 0), free=79.0, total=80.0)


def test_t4_has_fp16_but_no_bf16():
    hw = hardware.detect(fake_torch(T4))
    assert (hw.device, hw.gpu_name, hw.compute_capability) == ("cuda", "Tesla T4", (7, 5))
    assert hw.fp16 and not hw.bf16
    assert hw.total_memory_gb == pytest.approx(15.0) and hw.free_memory_gb == pytest.approx(14.7)


def test_t4_recommendation_for_small_and_7b_models():
    hw = hardware.detect(fake_torch(T4))
    small = hardware.recommend(hw, 135e6, online=True)
    assert (small.profile, small.dtype, small.method) == ("hub", "float16", "full")
    big = hardware.recommend(hw, 7e9, online=True)
    assert big.method == "qlora", "7B in 16 GB needs 4-bit weights"


def test_a100_uses_bf16_and_full_finetuning_of_a_1b_model():
    hw = hardware.detect(fake_torch(A100))
    assert hw.bf16 and hw.compute_capability == (8, 0)
    rec = hardware.recommend(hw, 1e9, online=True)
    assert (rec.profile, rec.dtype, rec.method) == ("hub", "bfloat16", "full")
    assert hardware.recommend(hw, 7e9, online=True).method == "lora"
    assert hardware.recommend(hw, 70e9, online=True).method == "qlora"


def test_mps_stays_on_tiny_profile():
    hw = hardware.detect(fake_torch(None, mps=True))
    assert hw.device == "mps"
    assert hardware.recommend(hw, 135e6, online=True).profile == "tiny"


def test_cpu_only():
    hw = hardware.detect(fake_torch(None))
    assert hw.device == "cpu" and hw.gpu_name is None and not hw.bf16
    rec = hardware.recommend(hw)
    assert rec.profile == "tiny" and "no GPU" in rec.reason


def test_gpu_without_network_recommends_tiny():
    rec = hardware.recommend(hardware.detect(fake_torch(A100)), online=False)
    assert rec.profile == "tiny" and "unreachable" in rec.reason


def test_model_too_big_for_any_method():
    rec = hardware.recommend(hardware.detect(fake_torch(T4)), 400e9, online=True)
    assert rec.profile == "tiny" and "do not fit" in rec.reason


def test_bad_model_size():
    with pytest.raises(ValueError, match="model_params must be positive"):
        hardware.recommend(hardware.detect(fake_torch(None)), -1)


def test_summary_is_readable():
    text = hardware.summary(hardware.detect(fake_torch(T4)), online=False)
    assert "Tesla T4" in text and "bf16 / fp16   : no / yes" in text and "recommended" in text


def test_hub_reachable_offline_env_does_not_try(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("must not resolve"))
    assert hardware.hub_reachable() is False


def test_hub_reachable_is_bounded_when_dns_hangs(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(10))
    t0 = time.monotonic()
    assert hardware.hub_reachable(timeout=0.5) is False
    assert time.monotonic() - t0 < 2.0


def test_hub_reachable_false_under_the_network_guard(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    t0 = time.monotonic()
    assert hardware.hub_reachable() is False  # the guard refuses the lookup at once
    assert time.monotonic() - t0 < 2.0
