"""Wire formats between the engine, the launcher and the shims.

Requests and replies are single JSON lines. After an ``attach`` or ``exec``
reply the connection carries frames with Docker's stdcopy header layout,
``[type u8, 0, 0, 0, length u32 big-endian] payload``. Stream types 0/1/2
are stdin/stdout/stderr exactly as Docker's multiplexed stream, so the API
can pass them through; the other types are Wharf's own control frames.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

STDIN, STDOUT, STDERR = 0, 1, 2
EXIT = 3
"""Shim → client: the process ended; payload ``{"exit_code": n, …}``."""
CLOSE_STDIN = 4
"""Client → shim: close the process's stdin (end of input)."""
RESIZE = 5
"""Client → shim: payload ``{"h": rows, "w": cols}``."""

HEADER = struct.Struct(">BxxxI")


def frame(kind: int, payload: bytes) -> bytes:
    """One frame."""
    return HEADER.pack(kind, len(payload)) + payload


def encode(message: dict[str, Any]) -> bytes:
    """A JSON line."""
    return (json.dumps(message) + "\n").encode()


def socket_path(dir_fd: int) -> str:
    """A short path to ``shim.sock`` in the directory open as ``dir_fd`` (via
    ``/proc/self/fd``, beating the 108-byte ``sun_path`` limit of deep state roots)."""
    return f"/proc/self/fd/{dir_fd}/shim.sock"


def connect(runtime_dir: str | os.PathLike[str], timeout: float | None = 10.0) -> socket.socket:
    """A connection to the shim whose socket lives in ``runtime_dir``."""
    dir_fd = os.open(runtime_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path(dir_fd))
        except OSError:
            sock.close()
            raise
        return sock
    finally:
        os.close(dir_fd)


def read_line(sock: socket.socket, limit: int = 1 << 20) -> tuple[dict[str, Any], bytes]:
    """Read one JSON line; returns it and whatever bytes followed it."""
    buf = b""
    while b"\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the shim closed the connection")
        buf += chunk
        if len(buf) > limit:
            raise ConnectionError("reply too long")
    line, _, rest = buf.partition(b"\n")
    return json.loads(line), rest


def request(runtime_dir: str | os.PathLike[str], message: dict[str, Any],
            timeout: float | None = 10.0) -> dict[str, Any]:
    """Send one request and return the one-line reply."""
    with connect(runtime_dir, timeout) as sock:
        sock.sendall(encode(message))
        reply, _ = read_line(sock)
        return reply
