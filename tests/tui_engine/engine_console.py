"""Helpers: build the console as ``run_console`` does, wait on it, read its screen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot

from tui.app import WharfApp
from tui.data.models import EngineTarget
from tui.launch import discover, make_registry_browser


def build_app(engine) -> WharfApp:  # noqa: ANN001 - conftest.Embedded
    """The console wired like ``run_console``: embedded target first, real client, real registry browser."""
    embedded = EngineTarget("embedded", engine.url, f"Wharf's own engine on {engine.root}")
    targets = discover(None, embedded, environ={})
    assert targets[0] == embedded
    clients = {embedded.url: engine.client}

    def connect(target: EngineTarget):
        if target.url not in clients:
            clients[target.url] = engine.connect(target)
        return clients[target.url]

    return WharfApp(connect, targets, make_registry_browser(engine.client))


async def wait_for(pilot: Pilot, condition: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    """Pause until ``condition()`` is true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}\n--- screen ---\n"
                                 f"{screen_text(pilot.app)}")
        await pilot.pause(0.05)


def screen_text(app: App) -> str:
    """What the terminal shows now, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())
