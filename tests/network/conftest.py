"""Fixtures for the network driver's tests: a driver on a fresh root, and stand-in containers.

See ``nethelpers`` for what a stand-in container is. Every namespace,
process, link and rule is removed in finalizers, also when a test fails.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from network.nethelpers import IP_FORWARD, Sandbox, wait_for

from engine.jobs import EventBus
from engine.network import NetworkDriver, render_hosts


@pytest.fixture
def driver(state_root: Path) -> Iterator[NetworkDriver]:
    """A network driver on a fresh state root; torn down completely afterwards."""
    instance = NetworkDriver(state_root, EventBus())
    yield instance
    instance.teardown()


@pytest.fixture(autouse=True, scope="session")
def _restore_ip_forward() -> Iterator[None]:
    """The driver turns ip_forward on (as dockerd does); put the host's value back at the end."""
    before = IP_FORWARD.read_text()
    yield
    IP_FORWARD.write_text(before)


@pytest.fixture
def sandbox(state_root: Path) -> Iterator[Callable[..., Sandbox]]:
    """A factory of stand-in containers: ``sandbox(name)``; all are stopped afterwards."""
    made: list[Sandbox] = []

    def make(name: str, hostname: str | None = None) -> Sandbox:
        container_id = secrets.token_hex(32)
        folder = state_root / "containers" / container_id
        folder.mkdir(parents=True)
        hosts = folder / "hosts"
        hostname = hostname or container_id[:12]
        hosts.write_text(render_hosts(hostname))
        ready = folder / "ready"
        process = subprocess.Popen(
            ["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
             f"mount --bind {hosts} /etc/hosts && touch {ready} && exec sleep 600"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        box = Sandbox(container_id, name, process, hosts, hostname)
        made.append(box)
        wait_for(ready.exists, what=f"sandbox {name}")
        return box

    yield make
    for box in made:
        box.stop()
