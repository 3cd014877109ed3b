"""The fast read path: JSON encoding, reads answered on the event loop, the remembered network list.

``docker ps`` and ``docker inspect`` are answered on the event loop from
memory when nothing is busy (``Api.read`` and the backend's ``*_now``
methods), with the network list remembered between bus events
(``engine.service.network_view``). The end-to-end test checks that what
they answer is never stale: every change shows in the very next listing.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wharf_api_fixtures import DaemonProcess, cli, start_daemon_process

from engine.api.router import Api
from engine.api.responses import json_bytes, json_line
from engine.jobs import Event, EventBus
from engine.network.driver import NetworkDriver
from engine.service.network_view import NetworkView


def _stdlib(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("value", [
    {"Id": "ab" * 32, "Names": ["/wé"], "Labels": {"a": "b", "ü": "∂"}, "Ports": [], "Created": 1796129214,
     "State": "running", "HostConfig": {"NetworkMode": "none"}, "Mounts": None, "RW": True, "Size": -1},
    [{"nested": [[], {}, [1, 2.5, None, False]]}, "line\nbreak \"quoted\" \\ tab\t \u0001"],
])
def test_json_bytes_gives_the_standard_librarys_document(value: Any) -> None:
    assert json.loads(json_bytes(value)) == value
    assert json_bytes(value) == _stdlib(value)
    assert json_line(value) == _stdlib(value) + b"\n"


def test_json_bytes_falls_back_for_what_orjson_refuses() -> None:
    odd = {1: "int key", "big": 2**70}
    assert json_bytes(odd) == _stdlib(odd) == b'{"1":"int key","big":1180591620717411303424}'
    assert json_line(odd) == _stdlib(odd) + b"\n"


class _Backend:
    """A backend whose ``list_containers_now`` answers only when told to, recording the thread."""

    def __init__(self, answer_now: bool) -> None:
        self.answer_now = answer_now
        self.threads: dict[str, threading.Thread] = {}

    def list_containers_now(self, all: bool) -> list[str] | None:  # noqa: A002
        self.threads["now"] = threading.current_thread()
        return [f"now all={all}"] if self.answer_now else None

    def list_containers(self, all: bool) -> list[str]:  # noqa: A002
        self.threads["pool"] = threading.current_thread()
        return [f"pool all={all}"]

    def inspect_container(self, ref: str) -> str:
        self.threads["pool"] = threading.current_thread()
        return ref


def _read(backend: _Backend, name: str, *args: Any) -> Any:
    api = Api(backend)
    try:
        return asyncio.run(api.read(name, *args))
    finally:
        api.workers.shutdown()


def test_read_answers_on_the_event_loop_when_the_backend_can() -> None:
    backend = _Backend(answer_now=True)
    assert _read(backend, "list_containers", True) == ["now all=True"]
    assert backend.threads == {"now": threading.main_thread()}


def test_read_falls_back_to_the_pool_when_the_backend_would_wait() -> None:
    backend = _Backend(answer_now=False)
    assert _read(backend, "list_containers", False) == ["pool all=False"]
    assert backend.threads["now"] is threading.main_thread()
    assert backend.threads["pool"] is not threading.main_thread()


def test_read_without_a_now_method_uses_the_pool() -> None:
    backend = _Backend(answer_now=True)
    assert _read(backend, "inspect_container", "web") == "web"
    assert backend.threads["pool"] is not threading.main_thread()


def test_network_view_is_remembered_until_the_next_event(tmp_path: Path) -> None:
    bus = EventBus()
    view = NetworkView(NetworkDriver(tmp_path, bus), bus)
    assert view.now() is None  # nothing read yet
    first = view.read()
    assert view.now() is first and view.read() is first
    bus.publish(Event("step", "anything", "job", "network-driver", "x", {}))
    assert view.now() is None
    assert view.read() is not first


def test_network_view_read_while_an_event_comes_is_not_remembered(tmp_path: Path) -> None:
    bus = EventBus()
    driver = NetworkDriver(tmp_path, bus)

    class Changing:
        """The driver, with a change published while it is being listed."""

        def list(self) -> list[Any]:
            listed = driver.list()
            bus.publish(Event("job", "end", "job", "network-driver", "x", {}))
            return listed

    view = NetworkView(Changing(), bus)
    view.read()
    assert view.now() is None


# --------------------------------------------------------------- end to end

pytestmark_e2e = pytest.mark.skipif(importlib.util.find_spec("engine.engine") is None,
                                    reason="engine.engine.Engine is not wired into the daemon yet")


@pytest.fixture(scope="module")
def fast_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """``wharf daemon`` with the full engine; its containers and networks removed after."""
    process = start_daemon_process(tmp_path_factory.mktemp("fast"))
    yield process
    leftover = cli(process, "ps", "-aq").stdout.split()
    if leftover:
        cli(process, "rm", "-f", *leftover)
    cli(process, "network", "rm", "fastnet")
    assert process.stop(signal.SIGTERM) == 0, process.output()


def _ok(daemon: DaemonProcess, *args: str) -> str:
    done = cli(daemon, *args)
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout


def _listed(daemon: DaemonProcess, *args: str) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in _ok(daemon, "ps", *args, "--no-trunc", "--format", "json").splitlines()]
    return {row["Names"]: row for row in rows}


@pytestmark_e2e
def test_every_change_shows_in_the_next_listing(fast_daemon: DaemonProcess, test_images: Any) -> None:
    ref = test_images.busybox_oci.reference
    _ok(fast_daemon, "pull", "-q", ref)
    one = _ok(fast_daemon, "run", "-d", "--name", "fast1", ref, "sleep", "300").strip()
    for _ in range(3):  # listings and inspects that fill what is remembered
        assert set(_listed(fast_daemon)) == {"fast1"}
        _ok(fast_daemon, "inspect", "fast1")
    before = _listed(fast_daemon)["fast1"]["Status"]
    time.sleep(2.2)  # nothing changes meanwhile, but the uptime does
    after = _listed(fast_daemon)["fast1"]["Status"]
    assert before != after and after.startswith("Up "), (before, after)

    _ok(fast_daemon, "network", "create", "fastnet")
    _ok(fast_daemon, "network", "connect", "fastnet", "fast1")
    networks = json.loads(_ok(fast_daemon, "inspect", "fast1"))[0]["NetworkSettings"]["Networks"]
    assert "fastnet" in networks and networks["fastnet"]["IPAddress"]
    assert set(_listed(fast_daemon, "--filter", "network=fastnet")) == {"fast1"}

    _ok(fast_daemon, "network", "disconnect", "fastnet", "fast1")
    assert "fastnet" not in json.loads(_ok(fast_daemon, "inspect", "fast1"))[0]["NetworkSettings"]["Networks"]
    assert _listed(fast_daemon, "--filter", "network=fastnet") == {}

    _ok(fast_daemon, "rename", "fast1", "fast2")
    assert set(_listed(fast_daemon)) == {"fast2"}
    assert json.loads(_ok(fast_daemon, "inspect", one))[0]["Name"] == "/fast2"

    _ok(fast_daemon, "stop", "-t", "1", "fast2")
    assert _listed(fast_daemon) == {}
    assert _listed(fast_daemon, "-a")["fast2"]["State"] == "exited"
    assert json.loads(_ok(fast_daemon, "inspect", "fast2"))[0]["State"]["Running"] is False

    _ok(fast_daemon, "rm", "fast2")
    assert _listed(fast_daemon, "-a") == {}
    assert cli(fast_daemon, "inspect", "fast2").returncode == 1
