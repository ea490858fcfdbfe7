"""A pytest plugin for nbval runs side by side: kernels talk over local sockets, not TCP ports.

Two kernels started at the same moment can be handed the same free TCP port, and one client then
waits forever (seen with `scripts/seed_spread.py`); a socket file in a fresh folder cannot clash.
`scripts/test_suite.py` loads it with ``-p nbval_ipc`` for every notebook lane.
"""
from __future__ import annotations

import tempfile

import nbval.kernel
from jupyter_client.manager import KernelManager


class LocalSocketKernelManager(KernelManager):
    """A kernel manager whose kernel listens on socket files in its own temporary folder."""

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        kwargs.setdefault("ip", tempfile.mkdtemp(prefix="nbval-kernel-") + "/kernel")
        super().__init__(**kwargs)


nbval.kernel.KernelManager = LocalSocketKernelManager
