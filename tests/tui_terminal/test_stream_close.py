"""Closing a stream from another thread wakes the thread blocked reading it (real daemon, real sockets)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from compat.conftest import Daemon
from harness.images import TestImages

from engine.client import DockerClient
from tui.data.port import EnginePort


@pytest.fixture
def client(daemon: Daemon) -> Iterator[DockerClient]:
    """Wharf's client on the daemon."""
    made = DockerClient(base_url=daemon.host)
    try:
        yield made
    finally:
        made.close()


def _blocked_reader(read: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start a thread running ``read()``; it records what came back (or the exception)."""
    outcome: list[Any] = []

    def body() -> None:
        try:
            outcome.append(read())
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion
            outcome.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), f"the reader was not blocked: {outcome}"
    return thread, outcome


def test_closing_an_event_stream_wakes_its_reader(client: DockerClient):
    """``events()`` has nothing to say; ``close()`` from another thread ends the blocked ``next``."""
    stream = client.api.events(decode=True)
    thread, outcome = _blocked_reader(lambda: list(stream))
    started = time.monotonic()
    stream.close()
    thread.join(3.0)
    assert not thread.is_alive(), "close() did not wake the reader"
    assert time.monotonic() - started < 2.0
    assert outcome == [[]]


def test_closing_a_port_log_stream_wakes_its_worker(daemon: Daemon, client: DockerClient,
                                                    test_images: TestImages):
    """The console's ``Stream`` over followed logs of a silent container ends on ``close()``."""
    daemon.docker("run", "-d", "--name", "quiet", test_images.busybox_oci.reference, "sleep", "300")
    try:
        port = EnginePort(client)
        stream = port.logs("quiet", tail=10, follow=True)
        thread, outcome = _blocked_reader(lambda: list(stream))
        stream.close()
        thread.join(3.0)
        assert not thread.is_alive(), "Stream.close() did not wake the worker"
        assert outcome == [[]]
    finally:
        daemon.docker("rm", "-f", "quiet", check=False)


def test_closing_a_hijacked_socket_wakes_recv(daemon: Daemon, client: DockerClient, test_images: TestImages):
    """An attach socket's ``close()`` from another thread ends a ``recv`` waiting on a silent container."""
    daemon.docker("run", "-d", "-t", "--name", "mute", test_images.busybox_oci.reference, "sleep", "300")
    try:
        sock = client.api.attach_socket("mute", params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
        thread, outcome = _blocked_reader(lambda: sock.recv(4096))
        sock.close()
        thread.join(3.0)
        assert not thread.is_alive(), "close() did not wake recv"
        assert outcome == [b""]
        state = daemon.docker("inspect", "-f", "{{.State.Status}}", "mute").stdout.strip()
        assert state == "running"
    finally:
        daemon.docker("rm", "-f", "mute", check=False)

