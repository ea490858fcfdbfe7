"""Progress bars for training runs: one bar per run with the latest loss beside it (a widget in
Jupyter, one line of text when run headless), instead of the trainers' raw log dictionaries.
The logs themselves stay in ``trainer.state.log_history`` for the lesson's plots."""
from __future__ import annotations

import io
import os
from typing import Any

import huggingface_hub.utils as hub_utils
from tqdm.auto import tqdm
from tqdm.std import tqdm as std_tqdm
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback
from transformers.utils import logging as hf_logging

#: Set ``COURSE_PROGRESS=0`` to hide the bars (a script that prints its own lines, a log file).
ENV = "COURSE_PROGRESS"
#: Set to 1 by the scripts that execute the notebooks: bars print one finished line instead.
HEADLESS_ENV = "COURSE_HEADLESS"


def enabled() -> bool:
    """Whether runs show a progress bar (``$COURSE_PROGRESS``, on unless set to 0)."""
    return os.environ.get(ENV, "1") != "0"


def hide_loading_bars() -> None:
    """Turn off transformers' "Loading weights" bar: the course's models load in milliseconds, and
    each load left a half-drawn bar in the cell. The Hub's download bars (a real wait) stay as set."""
    downloads_hidden = hub_utils.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()  # turns off the Hub's bars too...
    if not downloads_hidden:
        hub_utils.enable_progress_bars()  # ...so give them back


hide_loading_bars()


class _FinishedLine(std_tqdm):
    """A bar for runs nobody watches (`make test`, `make course`: $COURSE_HEADLESS=1): it draws
    nothing while running and prints the finished bar once, so the executed notebook shows
    "SFT: 100%|...| 500/500 [00:43<00:00, 11.6it/s, loss=0.963]" rather than a frozen 0%."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, file=io.StringIO(), ascii=False, **kwargs)
        self._printed = False

    def close(self) -> None:
        if not self.disable and not self._printed:
            self._printed = True
            print(self.format_meter(**self.format_dict), flush=True)
        super().close()


def headless() -> bool:
    """Whether the notebook runs without a person watching it ($COURSE_HEADLESS, set by the scripts
    that execute the lessons)."""
    return os.environ.get(HEADLESS_ENV, "0") == "1"


def bar(total: int, desc: str, **kwargs: Any):
    """A tqdm bar of ``total`` steps, left on screen when done (it is the run's record of speed):
    a widget in Jupyter, text in a terminal, one finished line when run headless."""
    make = _FinishedLine if headless() else tqdm
    return make(total=total, desc=desc, leave=True, disable=not enabled(), mininterval=0.5, **kwargs)


class ProgressBar(TrainerCallback):
    """A ``transformers``/trl trainer callback: a bar over the run's optimizer steps, its postfix
    the last logged training loss (and validation loss, when the run evaluates)."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self._bar = None
        self._postfix: dict[str, str] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        self._bar = bar(state.max_steps, self.desc)

    def on_step_end(self, args, state, control, **kwargs):
        if self._bar is not None:
            self._bar.update(state.global_step - self._bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self._bar is None or not logs:
            return
        for key, short in (("loss", "loss"), ("eval_loss", "val"), ("rewards/margins", "margin")):
            if key in logs:
                self._postfix[short] = f"{logs[key]:.3f}"
        self._bar.set_postfix(self._postfix, refresh=False)

    def on_train_end(self, args, state, control, **kwargs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def quiet(trainer, desc: str | None = None):
    """Stop a ``transformers``/trl trainer from printing every log line (the logs stay in
    ``trainer.state.log_history``) and show one :class:`ProgressBar` instead, labelled ``desc`` or
    the trainer's name; returns the trainer."""
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    name = type(trainer).__name__.removeprefix("PlainLoss").removesuffix("Trainer")
    trainer.add_callback(ProgressBar(desc or name))
    return trainer
