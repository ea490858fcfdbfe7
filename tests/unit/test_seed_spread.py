"""`make seeds`' frontier over seeds (scripts/seed_spread.py), from made-up seed records."""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import seed_spread  # noqa: E402


@pytest.fixture
def seed_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    for s, acc in ((0, 0.9), (1, 0.8), (2, 0.7)):
        res = tmp_path / "seeds" / f"seed{s}" / "results"
        res.mkdir(parents=True)
        point = {"task_accuracy": acc, "general_perplexity": 10.0 * (s + 1)}
        (res / "04_lora.json").write_text(json.dumps({"metrics": {
            "full": point, "lora": point, "rank_sweep": {"16": point, "4": point}}}))
        if s < 2:  # lesson 05 ran for two seeds only
            (res / "05_qlora.json").write_text(json.dumps({"metrics": {"qlora": point}}))
    return tmp_path


def test_frontier_gathers_each_method_per_seed_in_rank_order(seed_runs):
    points = seed_spread.frontier_points([0, 1, 2])
    assert list(points) == ["full fine-tuning", "LoRA r=8 (lesson 04)", "LoRA r=4 (sweep)", "LoRA r=16 (sweep)",
                            "QLoRA r=8 (lesson 05)"]
    assert points["full fine-tuning"] == [(0.9, 10.0), (0.8, 20.0), (0.7, 30.0)]
    assert len(points["QLoRA r=8 (lesson 05)"]) == 2


def test_frontier_table_shows_mean_and_spread_and_the_figure_is_drawn(seed_runs):
    points = seed_spread.frontier_points([0, 1, 2])
    table = seed_spread.frontier_table(points)
    assert "| full fine-tuning | 3 | 80.0% ± 10.0% | 20.0 ± 10.0 |" in table
    assert "| QLoRA r=8 (lesson 05) | 2 | 85.0% ± 7.1% | 15.0 ± 7.1 |" in table
    png = seed_spread.plot_frontier(points, seed_runs / "frontier.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_no_seed_runs_no_frontier(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    assert seed_spread.frontier_points([0, 1, 2]) == {}
