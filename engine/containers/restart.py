"""Restart policies and Docker's backoff between restarts.

A :class:`RestartTracker` per container decides, when its process exits,
whether the engine starts it again and after how long: 100 ms, doubling
with each quick failure up to one minute, reset once a run lasted ten
seconds. A manual stop cancels restarts until the next manual start.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import InvalidSpec

POLICIES = ("no", "always", "unless-stopped", "on-failure")
"""Docker's restart policy names."""

INITIAL_DELAY = 0.1
"""Seconds before the first restart."""

MAX_DELAY = 60.0
"""The longest wait between restarts."""

RESET_AFTER = 10.0
"""A run at least this long resets the backoff."""


def parse_policy(text: str) -> tuple[str, int]:
    """``"on-failure:3"`` → ``("on-failure", 3)``; ``""`` → ``("no", 0)``.

    Raises:
        InvalidSpec: an unknown policy, or a retry count where none belongs.
    """
    name, _, count = (text or "no").partition(":")
    if name not in POLICIES:
        raise InvalidSpec(f"invalid restart policy {text!r}: use one of {', '.join(POLICIES)}")
    if count and name != "on-failure":
        raise InvalidSpec(f"invalid restart policy {text!r}: only on-failure takes a maximum retry count")
    try:
        retries = int(count) if count else 0
    except ValueError:
        raise InvalidSpec(f"invalid restart policy {text!r}: the retry count must be a number") from None
    if retries < 0:
        raise InvalidSpec(f"invalid restart policy {text!r}: the retry count must not be negative")
    return name, retries


@dataclass
class RestartTracker:
    """The restart state of one container.

    Attributes:
        policy: one of :data:`POLICIES`.
        maximum_retry_count: for ``on-failure``, 0 = unlimited.
        restart_count: restarts done since the last manual start.
        manually_stopped: set by a user's stop or kill; cleared by a user's start.
        delay: the wait before the next restart.
    """

    policy: str = "no"
    maximum_retry_count: int = 0
    restart_count: int = 0
    manually_stopped: bool = False
    delay: float = 0.0

    def on_manual_start(self) -> None:
        """A user started the container: restarts may happen again, from a fresh count."""
        self.manually_stopped = False
        self.restart_count = 0
        self.delay = 0.0

    def on_manual_stop(self) -> None:
        """A user stopped or killed the container: no restart for this exit."""
        self.manually_stopped = True

    def next_restart(self, exit_code: int, ran_for: float) -> float | None:
        """Seconds to wait before restarting after an exit, or ``None`` for no restart."""
        if self.manually_stopped or self.policy == "no":
            return None
        if self.policy == "on-failure":
            if exit_code == 0:
                return None
            if self.maximum_retry_count and self.restart_count >= self.maximum_retry_count:
                return None
        if ran_for >= RESET_AFTER or self.delay == 0.0:
            self.delay = INITIAL_DELAY
        else:
            self.delay = min(self.delay * 2, MAX_DELAY)
        self.restart_count += 1
        return self.delay

    def restarts_on_engine_start(self) -> bool:
        """Whether a container found stopped when the engine starts should be started again."""
        if self.policy == "always":
            return True
        return self.policy == "unless-stopped" and not self.manually_stopped
