"""Live stdio sessions the API's hijack drives: a runtime stream, an attach waiting for its
container's start, and an exec whose exit code is recorded before its output ends."""

from __future__ import annotations

import threading
from typing import Any

from engine.model import Cancel, ExecInfo
from engine.runtime.streams import ProcessStream


class StreamSession:
    """A runtime stdio stream in the shape the API's hijack expects."""

    def __init__(self, stream: ProcessStream, on_close: Any = None) -> None:
        self.stream = stream
        self.tty = stream.tty
        self._on_close = on_close

    def read(self) -> tuple[int, bytes] | None:
        return self.stream.read()

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def close_stdin(self) -> None:
        self.stream.close_stdin()

    def close(self) -> None:
        self.stream.close()
        if self._on_close is not None:
            self._on_close()


class DeferredSession:
    """An attach to a container that has not started yet: it connects when the start
    hook runs, buffering what the client writes until then."""

    def __init__(self, tty: bool, cancel: Cancel) -> None:
        self.tty = tty
        self._cancel = cancel
        self._ready = threading.Event()
        self._stream: ProcessStream | None = None
        self._pending: list[bytes] = []
        self._stdin_closed = False
        self._closed = False
        self._lock = threading.Lock()

    def connect(self, opener: Any) -> None:
        """Open the stream (called by the start), replaying buffered input."""
        try:
            stream = opener()
        except Exception:  # noqa: BLE001 - the start goes on without this client
            self._ready.set()
            return
        with self._lock:
            if self._closed:
                stream.close()
            else:
                self._stream = stream
                for data in self._pending:
                    stream.write(data)
                if self._stdin_closed:
                    stream.close_stdin()
        self._ready.set()

    def read(self) -> tuple[int, bytes] | None:
        while not self._ready.wait(0.5):
            if self._cancel.is_set() or self._closed:
                return None
        return self._stream.read() if self._stream is not None else None

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._stream is None:
                self._pending.append(data)
                return
        self._stream.write(data)

    def close_stdin(self) -> None:
        with self._lock:
            if self._stream is None:
                self._stdin_closed = True
                return
        self._stream.close_stdin()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            stream = self._stream
        if stream is not None:
            stream.close()
        self._ready.set()


class ExecSession(StreamSession):
    """An exec's stream; its exit code is recorded before the output ends."""

    def __init__(self, stream: ProcessStream, info: ExecInfo, finished: Any) -> None:
        super().__init__(stream)
        self._info = info
        self._finished = finished

    def read(self) -> tuple[int, bytes] | None:
        chunk = self.stream.read()
        if chunk is None:
            code = self.stream.wait()
            self._info.running = False
            self._info.exit_code = code
            if code is None:
                self._finished()
        return chunk


def drain(stream: ProcessStream, info: ExecInfo) -> None:
    while stream.read() is not None:
        continue
    info.exit_code = stream.wait()
    info.running = False
    stream.close()
