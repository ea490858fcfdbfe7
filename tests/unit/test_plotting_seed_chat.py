"""Plotting saves figures for slides; seeding is reproducible; the chat format round-trips."""
import random

import numpy as np
import pytest
import torch
from jinja2 import Template

from course_utils import chat, plotting, profiles, seed, sft


@pytest.fixture(autouse=True)
def build_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    return tmp_path


def test_loss_curves_from_lists_and_log_history(build_dir):
    fig = plotting.loss_curves({"train": [3, 2, 1], "validation": ([0, 2], [3.5, 2.5])}, save_as="99_loss")
    assert (build_dir / "figures" / "99_loss.png").stat().st_size > 1000
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train", "validation"]
    history = [{"loss": 2.0, "step": 10}, {"eval_loss": 2.5, "step": 10}, {"loss": 1.5, "step": 20}]
    fig = plotting.loss_curves(history)
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train", "validation"]


def test_compare_bars_and_runs(build_dir):
    plotting.compare_bars({"full": 0.9, "lora": 0.88}, save_as="99_bars")
    plotting.runs([1, 2, 4], {"a": [0.1, 0.2, 0.3]}, save_as="99_runs")
    assert {p.name for p in (build_dir / "figures").iterdir()} == {"99_bars.png", "99_runs.png"}


def test_pareto_front_keeps_the_runs_no_other_beats_on_both_axes():
    runs = {"full": (0.92, 19.6), "r=1": (0.02, 27.0), "r=4": (0.88, 52.9), "r=8": (0.99, 133.0),
            "r=16": (0.55, 1331.0), "tie": (0.92, 19.6)}
    assert plotting.pareto_front(runs) == ["full", "r=8", "tie"]  # r=1, r=4, r=16: full is better on both
    assert plotting.pareto_front({"only": (0.5, 3.0)}) == ["only"]


def test_frontier_draws_means_with_spread_and_the_base_line(build_dir):
    fig = plotting.frontier({"full": [(0.9, 20.0), (0.8, 30.0)], "lora": [(0.95, 100.0)]}, base_perplexity=2.1,
                            save_as="99_frontier")
    assert (build_dir / "figures" / "99_frontier.png").stat().st_size > 1000
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["base model (2.10)", "full (n=2)", "lora"]
    with pytest.raises(ValueError, match="no \\(accuracy, perplexity\\) points"):
        plotting.frontier({"empty": []})


def test_plotting_errors():
    with pytest.raises(ValueError, match="history is empty"):
        plotting.loss_curves({})
    with pytest.raises(ValueError, match="has 2 values for 3 x values"):
        plotting.runs([1, 2, 3], {"a": [1, 2]})
    with pytest.raises(ValueError, match="plain name"):
        plotting.save(plotting.plt.figure(), "../escape.png")


def test_seed_everything_is_reproducible():
    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(1))
    seed.seed_everything(3)
    a = draw()
    seed.seed_everything(3)
    assert draw() == a
    with pytest.raises(ValueError, match="non-negative int"):
        seed.seed_everything(-1)


def test_course_seed_reaches_every_lesson(monkeypatch):
    monkeypatch.setenv("COURSE_SEED", "2")
    prof = profiles.get_profile("tiny", verbose=False)
    assert all(prof.lesson(k).seed == 2 for k in ("01", "03", "06", "07", "08"))
    assert sft.recipe(prof)["seed"] == 2  # so the cached SFT model of another seed is another model
    seed.seed_everything()
    a = float(torch.rand(1))
    seed.seed_everything(2)
    assert float(torch.rand(1)) == a
    monkeypatch.setenv("COURSE_SEED", "one")
    with pytest.raises(ValueError, match="COURSE_SEED must be a non-negative integer"):
        seed.course_seed()


def test_chat_format_round_trip():
    prompt = chat.format_prompt("When should I plant maize?")
    assert prompt == "<|user|>\nWhen should I plant maize?<|end|>\n<|assistant|>\n"
    generated = chat.format_completion("Plant maize in spring.") + "<|pad|> trailing"
    assert chat.strip_completion(generated) == "Plant maize in spring."
    with pytest.raises(ValueError, match="non-empty string"):
        chat.format_prompt("  ")


def test_chat_template_matches_format_prompt():
    messages = [{"role": "user", "content": "Hi?"}]
    text = Template(chat.CHAT_TEMPLATE).render(messages=messages, add_generation_prompt=True)
    assert text == chat.format_prompt("Hi?")
