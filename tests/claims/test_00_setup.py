"""Lesson 00 claims, from build/results/00_setup.json (written by the notebook in the same run).

Nothing here depends on the seed: the calculator's relative error on the course model is 0.118 (full)
and 0.200 (LoRA) for every run."""
import pytest

from course_utils.results import metric

LESSON = "00_setup"


def test_environment_matches_the_pins():
    assert metric(LESSON, "environment_ok") is True


@pytest.mark.parametrize("method", ["full", "lora"])
def test_calculator_agrees_with_the_measured_footprint_of_the_course_model(method):
    # Measured on the course's base model: weights/grads/optimizer exact, activations modelled.
    assert abs(metric(LESSON, f"{method}.rel_error")) <= 0.25


def test_lora_needs_less_memory_than_full_finetuning():
    # measured on the course model; the calculator's own full > LoRA > QLoRA ordering for a 7B
    # model is arithmetic, checked in tests/unit/test_memory.py
    assert metric(LESSON, "lora.measured_mb") < metric(LESSON, "full.measured_mb")
