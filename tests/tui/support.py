"""Helpers for driving the console on the fake engine with Pilot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.pilot import Pilot

from tui.widgets.containers import ContainersPane
from tui.widgets.images import ImagesPane


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Pause until ``condition()`` holds; fail the test after ``timeout`` seconds (generous: a loaded
    2-core CI machine can take seconds to scroll a log; a passing test does not wait for it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.05)


async def ready(pilot: Pilot) -> None:
    """Wait until the containers and images are listed."""
    screen = pilot.app.screen
    await wait_for(pilot, lambda: bool(screen.query_one(ContainersPane).rows)
                   and screen.query_one(ContainersPane).table.row_count > 0
                   and bool(screen.query_one(ImagesPane).rows))
    await pilot.pause()


async def seed_stats(pilot: Pilot, samples: int = 40) -> None:
    """Sample every running container ``samples`` times from the fake and fan the last tick out."""
    app = pilot.app
    feed = app.screen.feed
    fake = app.fake
    running = [c for c in fake._containers if c.status == "running"]
    latest = {}
    for _ in range(samples):
        for container in running:
            latest[container.id] = feed.history.ingest(container.id, fake.api.stats(container.id))
    feed.post_message(feed.Tick(latest))
    await pilot.pause()
    await pilot.pause()
