"""The one model cache: atomic builds, a lock, a completeness check, one fingerprint."""
import threading
import time

import pytest
import torch

from course_utils import cache


def _writer(calls, content=b"weights", fail=False):
    def write(tmp):
        calls.append(tmp)
        time.sleep(0.05)
        if fail:
            raise RuntimeError("boom")
        (tmp / "model.safetensors").write_bytes(content)
        (tmp / "config.json").write_text("{}")
    return write


REQ = ("config.json", "model.safetensors")


def test_builds_once_then_reuses(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    folder = cache.folder_for("thing", {"recipe": 1})
    assert folder.parent == tmp_path and folder.name.startswith("thing-")
    assert cache.folder_for("thing", {"recipe": 1}) == folder != cache.folder_for("thing", {"recipe": 2})
    calls = []
    assert cache.get_or_build(folder, _writer(calls), REQ, "hint") == (folder, True)
    assert cache.get_or_build(folder, _writer(calls), REQ, "hint") == (folder, False)
    assert len(calls) == 1 and [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [folder.name]


def test_two_builders_at_once_build_once(tmp_path):
    folder, calls = tmp_path / "m-1", []
    threads = [threading.Thread(target=cache.get_or_build, args=(folder, _writer(calls), REQ, "hint"))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and (folder / "model.safetensors").read_bytes() == b"weights"


def test_a_failed_build_leaves_nothing_and_an_existing_model_is_never_overwritten(tmp_path):
    folder = tmp_path / "m-2"
    with pytest.raises(RuntimeError, match="boom"):
        cache.write_atomically(folder, _writer([], fail=True), REQ)
    assert list(tmp_path.iterdir()) == []
    cache.write_atomically(folder, _writer([], b"first"), REQ)
    cache.write_atomically(folder, _writer([], b"second"), REQ)  # exists: kept
    assert (folder / "model.safetensors").read_bytes() == b"first"


def test_incomplete_folders_are_refused_with_the_fix(tmp_path):
    folder = tmp_path / "m-3"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(cache.CacheError, match=r"missing model\.safetensors.*delete it"):
        cache.get_or_build(folder, _writer([]), REQ, "delete it")
    with pytest.raises(cache.CacheError, match="did not write it"):  # a writer that forgets a file
        cache.write_atomically(tmp_path / "m-4", lambda tmp: (tmp / "config.json").write_text("{}"), REQ)


def test_fingerprint_sees_every_weight():
    a = torch.nn.Linear(3, 2)
    fp = cache.fingerprint(a)
    assert fp == cache.fingerprint(a)
    with torch.no_grad():
        a.bias[0] += 1e-6  # a change far below a float sum's printed precision
    assert cache.fingerprint(a) != fp
