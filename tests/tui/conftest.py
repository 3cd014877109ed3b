"""Fixtures for the console's tests: determinism for snapshots, and the fake-engine app."""

from __future__ import annotations

import itertools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_engine import BASE_TIME  # noqa: E402


@pytest.fixture(autouse=True)
def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove nondeterminism: a blinking cursor, wall clocks, the stats loop's timing.

    A blinking cursor makes snapshots flaky; "3d ago" depends on today; the
    stats loop samples whenever the scheduler lets it. Tests that need live
    stats call :func:`support.seed_stats` instead, which samples the fake a
    fixed number of times.
    """
    from textual.reactive import reactive
    from textual.widgets import Input

    from tui import clock
    from tui.screens.main import MainScreen
    from tui.widgets.stats_feed import StatsFeed

    blink = reactive(False)
    blink.__set_name__(Input, "cursor_blink")
    monkeypatch.setattr(Input, "cursor_blink", blink)
    ticks = itertools.count()
    monkeypatch.setattr(clock, "now", lambda: BASE_TIME)
    monkeypatch.setattr(clock, "monotonic", lambda: 1000.0 + 0.5 * next(ticks))
    monkeypatch.setattr(StatsFeed, "start", lambda self, host_cpus: setattr(self.history, "host_cpus", host_cpus))
    monkeypatch.setattr(MainScreen, "health_every", 3600.0)
    monkeypatch.setattr(MainScreen, "retry_first", 0.2)
    monkeypatch.setattr(MainScreen, "retry_most", 0.4)


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio (anyio's pytest plugin drives them)."""
    return "asyncio"
