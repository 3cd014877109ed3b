"""A container's network survives its engine: published port and peer traffic after a SIGKILL and restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from compat.conftest import Daemon, start_daemon, stop_daemon
from harness.images import TestImages
from harness.registry import Registry

_REQUEST = b"GET /hostname HTTP/1.0\r\n\r\n"


def _get(port: str) -> bytes:
    return subprocess.run(["busybox", "nc", "-w", "5", "127.0.0.1", port], input=_REQUEST,
                          capture_output=True, timeout=15).stdout


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[list[Daemon]]:
    """Daemons started on one root; the last one standing cleans everything up."""
    started: list[Daemon] = []
    yield started
    alive = [d for d in started if d.process.poll() is None]
    if alive:
        stop_daemon(alive[-1])
    elif started:
        stop_daemon(start_daemon(tmp_path))


def test_a_running_container_keeps_its_connectivity_across_an_engine_restart(
        tmp_path: Path, daemons: list[Daemon], registry: Registry, test_images: TestImages) -> None:
    first = start_daemon(tmp_path)
    daemons.append(first)
    image = test_images.busybox_oci.reference
    first.docker("pull", image)
    first.docker("network", "create", "keepnet")
    first.docker("run", "-d", "--name", "web", "--network", "keepnet", "-p", "127.0.0.1::80", image,
                 "httpd", "-f", "-p", "80", "-h", "/etc")
    first.docker("run", "-d", "--name", "client", "--network", "keepnet", image, "sleep", "300")
    port = first.docker("port", "web", "80").stdout.strip().rsplit(":", 1)[1]
    assert b"200 OK" in _get(port)
    os.kill(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=10)
    first.socket.unlink(missing_ok=True)
    # no engine at all: the kernel still forwards the published port
    assert b"200 OK" in _get(port)
    second = start_daemon(tmp_path)
    daemons.append(second)
    assert json.loads(second.docker("inspect", "web").stdout)[0]["State"]["Running"] is True
    assert b"200 OK" in _get(port)
    peer = second.docker("exec", "client", "sh", "-c", "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 5 web 80")
    assert "200 OK" in peer.stdout
    second.docker("rm", "-f", "web", "client")
    second.docker("network", "rm", "keepnet")
