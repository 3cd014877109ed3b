"""Stream numbers and the cancellation token shared by every model."""

from __future__ import annotations

import threading
from collections.abc import Callable

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3
"""Stream numbers of the multiplexed framing (and of :class:`LogRecord`)."""


class Cancel:
    """A thread-safe cancellation token for one request.

    The server sets it when the client hangs up (or the daemon stops) while
    an operation runs for that client. Blocking engine code polls
    :meth:`is_set`, waits with :meth:`wait`, or registers a callback with
    :meth:`on_cancel` that unblocks it (closing a subscription, a socket, …).
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        """Whether the request was cancelled."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; returns whether it was cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once on cancellation (at once if already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def cancel(self) -> None:
        """Cancel: set the flag and run every registered callback once."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing callback must not stop the others
                pass
