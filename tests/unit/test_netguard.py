"""The network guard: on in this process, and in notebook kernels (separate processes)."""
import os
import socket
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from course_utils import netguard
from course_utils.paths import REPO_ROOT

GUARD_ENV = {**os.environ, "COURSE_NETWORK_GUARD": "1", "PYTHONPATH": str(REPO_ROOT / "course_utils" / "_guard")}


def test_guard_is_on_in_the_test_process():
    assert netguard.installed()


@pytest.mark.parametrize("address", [("192.0.2.1", 80), ("8.8.8.8", 53), ("10.0.0.1", 22), ("example.org", 443)])
def test_outside_addresses_are_refused_before_any_packet(address, monkeypatch):
    calls = []
    monkeypatch.setitem(netguard._real, "connect", lambda *a: calls.append(a))
    with socket.socket() as s, pytest.raises(netguard.NetworkBlocked, match="blocked"):
        s.connect(address)
    assert calls == [], "the real connect must never be reached"


def test_name_lookups_are_refused():
    with pytest.raises(netguard.NetworkBlocked, match="name lookup of 'huggingface.co' blocked"):
        socket.getaddrinfo("huggingface.co", 443)


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with server, socket.create_connection(server.getsockname(), timeout=2):
        pass
    assert netguard.is_allowed(("::1", 80)) and netguard.is_allowed(("localhost", 80))


def test_a_child_python_process_gets_the_guard():
    code = "from course_utils import netguard; print(netguard.installed())"
    out = subprocess.run([sys.executable, "-c", code], env=GUARD_ENV, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_a_notebook_kernel_gets_the_guard():
    """Kernels are separate processes: the guard must reach them through sitecustomize."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import socket\n"
        "from course_utils import netguard\n"
        "try:\n"
        "    socket.getaddrinfo('huggingface.co', 443)\n"
        "    print('NOT BLOCKED')\n"
        "except netguard.NetworkBlocked:\n"
        "    print('blocked', netguard.installed())")])
    old = dict(os.environ)
    os.environ.update(GUARD_ENV)
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert nb.cells[0].outputs[0]["text"].strip() == "blocked True"
