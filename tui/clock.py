"""The console's one source of time, so snapshot tests can pin it."""

from __future__ import annotations

import time
from collections.abc import Callable


def now() -> float:
    """Seconds since the epoch (wall clock); tests replace this function."""
    return time.time()


def monotonic() -> float:
    """A monotonic clock for rates and timeouts; tests replace this function."""
    return time.monotonic()


def nap(seconds: float, cancelled: Callable[[], bool]) -> bool:
    """Sleep up to ``seconds`` in short steps; returns early (``True``) once ``cancelled()``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cancelled():
            return True
        time.sleep(min(0.05, max(0.0, end - time.monotonic())))
    return cancelled()
