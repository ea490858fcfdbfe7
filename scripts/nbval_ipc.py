"""A pytest plugin for nbval runs side by side: kernels talk over local sockets, not TCP ports.

Two kernels started at the same moment can be handed the same free TCP port, and one client then
waits forever (seen with `scripts/seed_spread.py`); a socket file in a fresh folder cannot clash.
`scripts/test_suite.py` loads it with ``-p nbval_ipc`` for every notebook lane.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import nbval.kernel
from jupyter_client.manager import KernelManager


class LocalSocketKernelManager(KernelManager):
    """A kernel manager whose kernel listens on socket files in its own temporary folder."""

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", tempfile.mkdtemp(prefix="nbval-kernel-") + "/kernel")
        super().__init__(**kwargs)


nbval.kernel.KernelManager = LocalSocketKernelManager


# ----------------------------------------------------------------------------- what the learner sees
# nbval checks that cells run; what they print is what a learner reads. Each cell's outputs go to
# build/outputs/<notebook>.jsonl (one line per code cell), which tests/claims/test_notebook_outputs.py
# reads: no library warning, no raw trainer log, a progress bar for the training runs.
_STARTED: set[str] = set()


def pytest_runtest_teardown(item):
    outputs = getattr(item, "test_outputs", None)
    if outputs is None or not hasattr(item, "cell"):
        return
    from course_utils import notebook_outputs  # noqa: PLC0415  a plugin module: keep pytest's start-up light

    stem = Path(str(item.fspath)).stem
    notebook_outputs.append(stem, item.cell_num, item.cell.source, outputs, fresh=stem not in _STARTED)
    _STARTED.add(stem)
