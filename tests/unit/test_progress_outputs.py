"""Progress bars and the checks on what an executed lesson shows (course_utils.progress,
course_utils.notebook_outputs)."""
from types import SimpleNamespace

import pytest
import torch
from transformers import Trainer, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from course_utils import notebook_outputs, progress
from course_utils.notebook_outputs import Cell


def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def test_problems_names_warnings_raw_logs_loading_bars_and_errors():
    cells = [
        Cell(0, "print('fine')", [_stream("fine\n")]),
        Cell(1, "import peft", [_stream("/x/peft.py:12: FutureWarning: `a` is deprecated\n", "stderr")]),
        Cell(2, "trainer.train()", [_stream("{'loss': 1.23, 'grad_norm': 0.5, 'learning_rate': 1e-4}\n")]),
        Cell(3, "load()", [{"output_type": "display_data", "data": {"text/plain": "Loading weights:   0%|"}}]),
        Cell(4, "1/0", [{"output_type": "error", "ename": "ZeroDivisionError", "evalue": "division by zero"}]),
    ]
    found = notebook_outputs.problems(cells)
    assert len(found) == 4, found
    assert "cell 1" in found[0] and "library warning" in found[0] and "FutureWarning" in found[0]
    assert "cell 2" in found[1] and "raw trainer log" in found[1]
    assert "cell 3" in found[2] and "Loading weights" in found[2]
    assert "cell 4" in found[3] and "ZeroDivisionError" in found[3]


def test_a_sentence_about_warnings_is_not_a_warning():
    cell = Cell(0, "print(x)", [_stream("The loss warns us early: a rising validation loss means overfitting.\n")])
    assert notebook_outputs.problems([cell]) == []


def test_progress_bar_found_as_widget_or_text():
    widget = Cell(0, "", [{"output_type": "display_data",
                           "data": {notebook_outputs.WIDGET: {"model_id": "x"}, "text/plain": "SFT:   0%|"}}])
    text = Cell(1, "", [_stream("SFT: 100%|██████████| 500/500 [00:43<00:00, 11.6it/s, loss=0.963]\n")])
    none = Cell(2, "", [_stream("trained 500 steps in 43 s\n")])
    assert widget.has_progress_bar() and text.has_progress_bar() and not none.has_progress_bar()


def test_outputs_file_round_trip_starts_fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    notebook_outputs.append("99_demo", 0, "old", [_stream("old\n")], fresh=True)
    notebook_outputs.append("99_demo", 0, "a = 1", [_stream("one\n")], fresh=True)
    notebook_outputs.append("99_demo", 1, "b = 2", [_stream("two\n")])
    cells = notebook_outputs.load("99_demo")
    assert [(c.index, c.source) for c in cells] == [(0, "a = 1"), (1, "b = 2")]
    assert cells[1].texts() == [("stdout", "two\n")]
    with pytest.raises(FileNotFoundError, match="make test"):
        notebook_outputs.load("98_missing")


def test_headless_bar_prints_one_finished_line(capsys, monkeypatch):
    monkeypatch.setenv(progress.HEADLESS_ENV, "1")
    monkeypatch.delenv(progress.ENV, raising=False)
    b = progress.bar(20, "demo")
    for _ in range(20):
        b.update()
    b.set_postfix(loss="0.500", refresh=False)
    b.close()
    b.close()  # closing twice prints nothing more
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("demo: 100%") and "20/20" in out[0] and "loss=0.500" in out[0]


def test_bars_can_be_switched_off(capsys, monkeypatch):
    monkeypatch.setenv(progress.HEADLESS_ENV, "1")
    monkeypatch.setenv(progress.ENV, "0")
    b = progress.bar(5, "demo")
    b.update(5)
    b.close()
    assert capsys.readouterr().out == ""


def test_quiet_swaps_the_log_printer_for_one_bar(tmp_path):
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], disable_tqdm=True)
    trainer = progress.quiet(Trainer(model=torch.nn.Linear(2, 2), args=args), "demo")
    kinds = [type(c) for c in trainer.callback_handler.callbacks]
    assert PrinterCallback not in kinds and ProgressCallback not in kinds
    bars = [c for c in trainer.callback_handler.callbacks if isinstance(c, progress.ProgressBar)]
    assert len(bars) == 1 and bars[0].desc == "demo"


def test_progress_bar_callback_follows_steps_and_losses(capsys, monkeypatch):
    monkeypatch.setenv(progress.HEADLESS_ENV, "1")
    monkeypatch.delenv(progress.ENV, raising=False)
    cb = progress.ProgressBar("SFT")
    state = SimpleNamespace(max_steps=4, global_step=0)
    cb.on_train_begin(None, state, None)
    for step in range(1, 5):
        state.global_step = step
        cb.on_step_end(None, state, None)
    cb.on_log(None, state, None, logs={"loss": 1.25, "grad_norm": 3.0})
    cb.on_log(None, state, None, logs={"eval_loss": 2.5})
    cb.on_train_end(None, state, None)
    line = capsys.readouterr().out.strip()
    assert "4/4" in line and "loss=1.250" in line and "val=2.500" in line and "grad_norm" not in line
