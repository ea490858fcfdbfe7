import json

import pytest

from course_utils import profiles, results


@pytest.fixture(autouse=True)
def build_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    return tmp_path


def test_record_writes_metrics_seconds_profile_versions(build_dir):
    profiles.get_profile("tiny", verbose=False)
    path = results.record("99_demo", {"acc": 0.9, "nested": {"loss": 1.5}})
    rec = json.loads(path.read_text())
    assert path == build_dir / "results" / "99_demo.json"
    assert rec["metrics"] == {"acc": 0.9, "nested": {"loss": 1.5}}
    assert rec["seconds"] >= 0 and rec["peak_memory_mb"] > 0
    assert {"python", "torch", "transformers", "trl", "peft"} <= set(rec["versions"])
    assert rec["profile"] == "tiny"  # the profile the run chose, not an environment variable
    assert rec["seed"] == 0 and rec["torch_threads"] >= 1 and rec["run_id"] == results.RUN_ID
    assert rec["notebook_sha"] is None and rec["course_version"].startswith("0.") and rec["started_at"]


def test_a_new_run_replaces_the_record_whole(build_dir, monkeypatch):
    results.record("99_demo", {"old_metric": 1, "kept": {"a": 1}})
    monkeypatch.setattr(results, "RUN_ID", "another-run")
    results.record("99_demo", {"kept": {"b": 2}})
    assert results.load("99_demo")["metrics"] == {"kept": {"b": 2}}  # nothing survives from the old run


def test_check_fresh_refuses_stale_or_other_profile_records(build_dir, monkeypatch):
    profiles.get_profile("tiny", verbose=False)
    lesson = "03_full_finetuning"
    results.record(lesson, {"x": 1})
    assert results.check_fresh(lesson, "tiny")["metrics"] == {"x": 1}
    with pytest.raises(results.ResultsError, match="made in the 'tiny' profile, not 'hub'.*03_full_finetuning.ipynb"):
        results.check_fresh(lesson, "hub")
    monkeypatch.setattr(results, "notebook_hash", lambda name: "edited-notebook")
    with pytest.raises(results.ResultsError, match="stale: notebooks/03_full_finetuning.ipynb changed"):
        results.check_fresh(lesson, "tiny")


def test_seed_records_reads_fresh_runs_of_make_seeds_and_refuses_stale_ones(build_dir, monkeypatch):
    profiles.get_profile("tiny", verbose=False)
    lesson = "05_qlora"
    assert results.seed_records(lesson) == []  # `make seeds` has not run: nothing to average
    for s in (0, 1, 2):
        monkeypatch.setenv("COURSE_BUILD_DIR", str(build_dir / "seeds" / f"seed{s}"))
        monkeypatch.setenv("COURSE_SEED", str(s))
        monkeypatch.setattr(results, "RUN_ID", f"run-{s}")
        results.record(lesson, {"acc": s / 10})
    monkeypatch.setenv("COURSE_BUILD_DIR", str(build_dir))
    recs = results.seed_records(lesson)
    assert [r["seed"] for r in recs] == [0, 1, 2]
    assert [results.metric_of(r, "acc") for r in recs] == [0.0, 0.1, 0.2]
    with pytest.raises(results.ResultsError, match="record of seed 0 has no metric 'nope'"):
        results.metric_of(recs[0], "nope")
    monkeypatch.setattr(results, "notebook_hash", lambda name: "edited-notebook")
    with pytest.raises(results.ResultsError, match="stale.*make seeds"):
        results.seed_records(lesson)


def test_later_records_merge(build_dir):
    results.record("99_demo", {"a": {"x": 1}})
    results.record("99_demo", {"a": {"y": 2}, "b": 3})
    assert results.load("99_demo")["metrics"] == {"a": {"x": 1, "y": 2}, "b": 3}
    assert results.metric("99_demo", "a.y") == 2


def test_summary_table(build_dir):
    results.record("99_demo", {"acc": 0.91234, "deep": {"ppl": 3.5}})
    text = results.summary()
    assert "| 99_demo | acc | 0.9123 |" in text and "| 99_demo | deep.ppl | 3.5 |" in text
    assert (build_dir / "results" / "summary.md").read_text() == text


@pytest.mark.parametrize("name", ["", "Bad Name", "../escape", 7])
def test_bad_names(name):
    with pytest.raises(results.ResultsError, match="record name"):
        results.record(name, {"a": 1})


@pytest.mark.parametrize("metrics,msg", [([1, 2], "metrics must be a dict"),
                                         ({"a": float("nan")}, "metrics.a is nan"),
                                         ({"a": object()}, "metrics.a has type object")])
def test_bad_metrics(metrics, msg):
    with pytest.raises(results.ResultsError, match=msg):
        results.record("99_demo", metrics)


def test_missing_record_names_the_notebook():
    with pytest.raises(results.ResultsError, match=r"no results record .*run notebooks/42_missing.ipynb"):
        results.load("42_missing")


def test_malformed_record_is_named(build_dir):
    (build_dir / "results").mkdir()
    (build_dir / "results" / "99_demo.json").write_text("{not json")
    with pytest.raises(results.ResultsError, match=r"99_demo.json is not valid JSON"):
        results.load("99_demo")
    (build_dir / "results" / "99_demo.json").write_text('{"no": "metrics"}')
    with pytest.raises(results.ResultsError, match="has no 'metrics' object"):
        results.load("99_demo")


def test_missing_metric_is_named(build_dir):
    results.record("99_demo", {"a": {"b": 1}})
    with pytest.raises(results.ResultsError, match="no metric 'a.c'"):
        results.metric("99_demo", "a.c")


def test_differences_name_what_differs_and_ignore_timings():
    a = {"metrics": {"acc": 0.5, "seconds": 3.0, "sweep": [{"kl": 1.0}], "peak_memory_mb": 10}, "run_id": "x"}
    b = {"metrics": {"acc": 0.5, "seconds": 9.0, "sweep": [{"kl": 1.5}], "peak_memory_mb": 20}, "run_id": "y"}
    assert results.differences(a, a) == []
    assert results.differences(a, b) == ["metrics.sweep[0].kl: 1.0 != 1.5"]
    assert results.differences({"x": 1}, {}) == ["x: only in the first record"]
