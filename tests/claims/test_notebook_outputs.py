"""What the executed lessons show a learner (issue 16): no library warning, no raw trainer log
dictionary, no half-drawn loading bar or traceback, and a progress bar for each lesson that trains.
Reads `make test`'s recorded outputs (or `make course`'s executed notebooks)."""
import pytest

from course_utils import notebook_outputs, paths

NOTEBOOKS = sorted(p.stem for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
#: Lessons whose runs take more than a few seconds: each must show at least one progress bar.
TRAINS = {"01_pretraining", "02_transfer_learning", "03_full_finetuning", "04_lora", "05_qlora",
          "06_reward_modeling", "07_ppo", "08_dpo", "09_capstone"}


def _cells(stem: str) -> list:
    notebook = paths.NOTEBOOKS_DIR / f"{stem}.ipynb"
    cells = notebook_outputs.load(stem)
    newest = max(p.stat().st_mtime for p in (notebook_outputs.outputs_file(stem),
                                             paths.build_dir() / "notebooks" / f"{stem}.ipynb") if p.exists())
    assert newest >= notebook.stat().st_mtime, (
        f"the executed copy of {stem} is older than the notebook: run it again (make test or make course)")
    return cells


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_outputs_are_worth_reading(stem):
    found = notebook_outputs.problems(_cells(stem))
    assert not found, f"{stem}:\n" + "\n".join(found)


@pytest.mark.parametrize("stem", sorted(TRAINS))
def test_training_runs_show_a_progress_bar(stem):
    cells = _cells(stem)
    assert any(c.has_progress_bar() for c in cells), f"{stem} trains but no cell shows a progress bar"
