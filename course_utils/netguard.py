"""A guard that refuses network connections outside this machine (tests and CI run offline).

``install()`` wraps ``socket.socket.connect``/``connect_ex`` and ``socket.getaddrinfo`` so that
anything but loopback addresses and Unix sockets raises :class:`NetworkBlocked` *before* a
packet leaves. ``make test`` sets ``COURSE_NETWORK_GUARD=1`` and puts ``course_utils/_guard`` on
``PYTHONPATH``; its ``sitecustomize.py`` installs the guard in every Python process started
under the tests, notebook kernels included.
"""
from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


class NetworkBlocked(ConnectionError):
    """A connection to a non-loopback address was attempted while the guard is on."""


_real = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex,
         "getaddrinfo": socket.getaddrinfo}


def is_allowed(address) -> bool:
    """Loopback IPs, ``localhost`` and Unix-socket paths are allowed; nothing else is."""
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _check(address) -> None:
    if not is_allowed(address):
        raise NetworkBlocked(f"network access to {address!r} blocked: the course runs offline "
                             f"(COURSE_NETWORK_GUARD=1). Use the tiny profile or unset the guard.")


def _connect(self, address):
    if self.family != getattr(socket, "AF_UNIX", None):
        _check(address)
    return _real["connect"](self, address)


def _connect_ex(self, address):
    if self.family != getattr(socket, "AF_UNIX", None):
        _check(address)
    return _real["connect_ex"](self, address)


def _getaddrinfo(host, *args, **kwargs):
    h = host.decode() if isinstance(host, bytes) else host
    if h is not None and not is_allowed((h,)):
        raise NetworkBlocked(f"name lookup of {host!r} blocked: the course runs offline (COURSE_NETWORK_GUARD=1)")
    return _real["getaddrinfo"](host, *args, **kwargs)


def install() -> None:
    """Turn the guard on in this process (idempotent)."""
    socket.socket.connect = _connect
    socket.socket.connect_ex = _connect_ex
    socket.getaddrinfo = _getaddrinfo


def uninstall() -> None:
    """Turn the guard off again."""
    socket.socket.connect = _real["connect"]
    socket.socket.connect_ex = _real["connect_ex"]
    socket.getaddrinfo = _real["getaddrinfo"]


def installed() -> bool:
    """Is the guard on in this process?"""
    return socket.socket.connect is _connect
