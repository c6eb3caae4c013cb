"""Loaded by every test subprocess whose PYTHONPATH includes this folder: any non-loopback
connection fails, and each attempt is appended to $CITELINE_TEST_EGRESS_LOG when that is set,
so a test can prove that nothing even tried to reach the network."""

from __future__ import annotations

import ipaddress
import os
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard(address: object) -> None:
    if _loopback(address):
        return
    log = os.environ.get("CITELINE_TEST_EGRESS_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {address!r}\n")
    raise OSError(f"egress blocked by the test harness: {address!r}")


def connect(self: socket.socket, address: object) -> None:
    _guard(address)
    return _connect(self, address)  # type: ignore[arg-type]


def connect_ex(self: socket.socket, address: object) -> int:
    _guard(address)
    return _connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = connect  # type: ignore[method-assign]
socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
