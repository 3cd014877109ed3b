"""The console's one source of time, so snapshot tests can pin it."""

from __future__ import annotations

import time


def now() -> float:
    """Seconds since the epoch (wall clock); tests replace this function."""
    return time.time()


def monotonic() -> float:
    """A monotonic clock for rates and timeouts; tests replace this function."""
    return time.monotonic()
