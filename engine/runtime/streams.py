"""Client side of an attach or exec connection to a shim.

Frames follow :mod:`engine.runtime.protocol`. Output arrives as
``(stream, bytes)`` with stream 1 (stdout) or 2 (stderr; a tty has stdout
only), in Docker's stdcopy numbering, then one exit frame.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

from engine.runtime import protocol as proto


class ProcessStream:
    """A live connection to one container process's stdio.

    Attributes:
        tty: whether the process has a terminal (all output is stream 1).
        exit_code: set once the exit frame arrived.
        exit_info: the exit frame's content (``exit_code``, ``oom_killed`` for an attach).
    """

    def __init__(self, sock: socket.socket, rest: bytes, tty: bool) -> None:
        self.sock = sock
        self.tty = tty
        self._buf = rest
        self.exit_code: int | None = None
        self.exit_info: dict[str, Any] = {}
        self._eof = False

    def fileno(self) -> int:
        """The socket's descriptor (for ``select``)."""
        return self.sock.fileno()

    def read(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        """The next output frame ``(stream, data)``; ``None`` at the end (exit or hang-up).

        Raises:
            TimeoutError: nothing arrived within ``timeout`` seconds.
        """
        while True:
            if len(self._buf) >= proto.HEADER.size:
                kind, size = proto.HEADER.unpack_from(self._buf)
                end = proto.HEADER.size + size
                if len(self._buf) >= end:
                    payload, self._buf = self._buf[proto.HEADER.size:end], self._buf[end:]
                    if kind == proto.EXIT:
                        self.exit_info = json.loads(payload)
                        self.exit_code = self.exit_info.get("exit_code")
                        self._eof = True
                        return None
                    return kind, payload
            if self._eof:
                return None
            self.sock.settimeout(timeout)
            chunk = self.sock.recv(65536)
            if not chunk:
                self._eof = True
                return None
            self._buf += chunk

    def write(self, data: bytes) -> None:
        """Send ``data`` to the process's stdin."""
        self.sock.sendall(proto.frame(proto.STDIN, data))

    def close_stdin(self) -> None:
        """End the process's input (a tty gets ^D)."""
        self.sock.sendall(proto.frame(proto.CLOSE_STDIN, b""))

    def resize(self, rows: int, cols: int) -> None:
        """Resize the process's terminal."""
        self.sock.sendall(proto.frame(proto.RESIZE, json.dumps({"h": rows, "w": cols}).encode()))

    def output(self, timeout: float = 30.0) -> tuple[bytes, bytes]:
        """Read everything until the end; returns ``(stdout, stderr)``."""
        out, err = [], []
        deadline = time.monotonic() + timeout
        while True:
            item = self.read(max(0.01, deadline - time.monotonic()))
            if item is None:
                return b"".join(out), b"".join(err)
            (out if item[0] == proto.STDOUT else err).append(item[1])

    def wait(self, timeout: float = 30.0) -> int | None:
        """Drain output until the process ends; its exit code (``None`` if unknown)."""
        self.output(timeout)
        return self.exit_code

    def close(self) -> None:
        """Hang up (the process keeps running)."""
        self.sock.close()

    def __enter__(self) -> ProcessStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ExecProcess(ProcessStream):
    """An exec'd process: a :class:`ProcessStream` plus its host PID and exec ID."""

    def __init__(self, sock: socket.socket, rest: bytes, tty: bool, pid: int,
                 exec_id: str) -> None:
        super().__init__(sock, rest, tty)
        self.pid = pid
        self.exec_id = exec_id
