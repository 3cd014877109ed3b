"""The console on the REAL embedded engine: a tmp state root served from this process, cleaned up after."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Embedded:
    """An embedded engine serving ``root`` on ``url``, and a real client to it."""

    root: Path
    url: str
    stop: Callable[[], None]
    client: Any
    clients: list[Any] = field(default_factory=list)

    def connect(self, target: Any) -> Any:
        """A new client for ``target`` (as ``run_console``'s ``connect`` makes them)."""
        from tui.launch import make_client  # noqa: PLC0415

        client = make_client(target)
        self.clients.append(client)
        return client


def start_engine(root: Path) -> Embedded:
    """Start the embedded engine on ``root`` the way ``run_console`` does (``embedded_target``)."""
    from tui.launch import embedded_target, make_client  # noqa: PLC0415

    root.mkdir(parents=True, exist_ok=True)
    target, stop = embedded_target(str(root))
    if target is None:
        raise RuntimeError(f"the embedded engine on {root} did not start")
    return Embedded(root, target.url, stop, make_client(target))


def stop_engine(engine: Embedded) -> None:
    """Remove every container, stop the engine, undo its networking, unmount what is left."""
    try:
        for container in engine.client.containers.list(all=True):
            try:
                container.remove(force=True, v=True)
            except Exception:  # noqa: BLE001 - best effort; the leak guard reports what stays
                pass
    finally:
        for client in [*engine.clients, engine.client]:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        engine.stop()
        from engine.jobs import EventBus  # noqa: PLC0415
        from engine.network.driver import NetworkDriver  # noqa: PLC0415

        NetworkDriver(engine.root, EventBus()).teardown()
        subprocess.run(["umount", "-R", "-l", str(engine.root)], capture_output=True, check=False)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    """The embedded engine on a fresh tmp root for one module."""
    running = start_engine(tmp_path_factory.mktemp("console-engine") / "root")
    try:
        yield running
    finally:
        stop_engine(running)


@pytest.fixture
def anyio_backend() -> str:
    """Pilot tests run on asyncio."""
    return "asyncio"
