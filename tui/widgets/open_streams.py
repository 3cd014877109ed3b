"""OpenStreams: the streams a widget's thread workers are reading, closable from the UI thread.

A worker blocked reading a stream only wakes when the stream is closed, so
a widget that restarts or unmounts must close what its workers read. Each
worker opens its stream, reads it inside :meth:`OpenStreams.held` and the
stream is closed when the worker leaves — or at once when the worker was
cancelled while the stream was opening (an exclusive restart). The widget
calls :meth:`OpenStreams.close_all` from ``on_unmount`` or before
restarting; a set, not a single slot, so an old worker can never hide a
new worker's stream.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar


class Closable(Protocol):
    """Anything with a thread-safe, never-raising ``close()`` (:class:`tui.data.port.Stream`)."""

    def close(self) -> None:
        """End it."""


class Cancellable(Protocol):
    """A worker, as far as this module cares."""

    @property
    def is_cancelled(self) -> bool:
        """Whether the worker was asked to stop."""


S = TypeVar("S", bound=Closable)


class OpenStreams:
    """Every stream a widget's workers hold right now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: set[Closable] = set()

    @contextmanager
    def held(self, stream: S, worker: Cancellable) -> Iterator[S]:
        """Hold ``stream`` while the ``with`` body reads it; closed on leaving (or now, if cancelled)."""
        with self._lock:
            self._streams.add(stream)
        try:
            if worker.is_cancelled:
                stream.close()  # cancelled while the stream was opening: reading would block
            yield stream
        finally:
            stream.close()
            with self._lock:
                self._streams.discard(stream)

    def close_all(self) -> None:
        """Close every held stream (thread-safe; the readers wake and leave)."""
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()
