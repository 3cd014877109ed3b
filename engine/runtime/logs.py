"""Docker's json-file log: one JSON object per line, size-based rotation.

Each entry is ``{"log": "<text>\\n", "stream": "stdout"|"stderr", "time":
"<RFC 3339 with nanoseconds, UTC>"}``. Lines longer than 16 KiB are split
into partial entries whose ``log`` lacks the trailing newline. With
``max_size`` the file rotates to ``<name>.1`` … ``<name>.<max_file-1>``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PARTIAL_SIZE = 16 * 1024
"""Docker's line buffer: longer lines become several partial entries."""


def rfc3339_nano(ns: int | None = None) -> str:
    """``2026-12-01T10:00:00.123456789Z`` for ``ns`` nanoseconds since the epoch (now)."""
    ns = time.time_ns() if ns is None else ns
    seconds, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{frac:09d}Z"


class JsonFileLog:
    """Writes one container's output as a json-file log.

    Args:
        path: ``<state dir>/<id>-json.log``.
        max_size: rotate when the file would grow past this many bytes (0: never).
        max_file: how many files to keep, the current one included.
    """

    def __init__(self, path: Path, max_size: int = 0, max_file: int = 1) -> None:
        self.path = path
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._size = os.fstat(self._fd).st_size
        self._pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def write(self, stream: str, data: bytes) -> None:
        """Add output of ``stream``; complete lines are written at once."""
        buf = self._pending.get(stream, b"") + data
        while True:
            newline = buf.find(b"\n")
            if newline != -1 and newline < PARTIAL_SIZE:
                self._entry(stream, buf[:newline + 1])
                buf = buf[newline + 1:]
            elif len(buf) >= PARTIAL_SIZE:
                self._entry(stream, buf[:PARTIAL_SIZE])
                buf = buf[PARTIAL_SIZE:]
            else:
                break
        self._pending[stream] = buf

    def flush(self) -> None:
        """Write any unterminated line as a final entry (at end of stream)."""
        for stream, buf in self._pending.items():
            if buf:
                self._entry(stream, buf)
        self._pending = {key: b"" for key in self._pending}

    def _entry(self, stream: str, chunk: bytes) -> None:
        line = (json.dumps({"log": chunk.decode("utf-8", "replace"), "stream": stream,
                            "time": rfc3339_nano()}, ensure_ascii=False) + "\n").encode()
        if self.max_size and self._size and self._size + len(line) > self.max_size:
            self._rotate()
        os.write(self._fd, line)
        self._size += len(line)

    def _rotate(self) -> None:
        os.close(self._fd)
        if self.max_file > 1:
            for index in range(self.max_file - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index - 1}") if index > 1 \
                    else self.path
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{index}"))
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(self.path, flags, 0o640)
        self._size = 0

    def close(self) -> None:
        """Flush and close."""
        self.flush()
        os.close(self._fd)


def read_log(path: Path, max_file: int = 1) -> Iterator[dict[str, Any]]:
    """Every entry of a json-file log, oldest first, rotated files included."""
    files = [path.with_name(f"{path.name}.{i}") for i in range(max_file - 1, 0, -1)] + [path]
    for name in files:
        try:
            with open(name, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        yield json.loads(line)
        except FileNotFoundError:
            continue
