"""Wharf's batched stats stream (``GET /wharf/stats``) against a real ``wharf daemon``.

One connection carries every running container's stats: containers that
start join the stream, ones that stop leave it, the second line fills
``precpu_stats`` from the first, and closing the stream releases the
daemon's open cgroup files.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import engine.client
import engine.client.errors
import pytest
from compat.conftest import Daemon

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def wc(daemon: Daemon) -> Iterator[engine.client.DockerClient]:
    """Wharf's client on the daemon's socket."""
    client = engine.client.DockerClient(base_url=daemon.host, timeout=60)
    yield client
    client.close()


@pytest.fixture
def sleepers(wc: engine.client.DockerClient, busybox: str) -> Iterator[list[Any]]:
    """Three detached busybox sleepers without networking, force-removed afterwards."""
    made = [wc.containers.run(busybox, ["sleep", "300"], detach=True, network_mode="none",
                              name=f"wh-batch-{uuid.uuid4().hex[:8]}") for _ in range(3)]
    yield made
    for container in made:
        try:
            container.remove(force=True)
        except engine.client.errors.NotFound:
            pass


def _lines(stream: Any, count: int) -> list[dict[str, Any]]:
    return [next(stream) for _ in range(count)]


def _by_id(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in line["stats"]}


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_one_stream_holds_every_running_container(wc: engine.client.DockerClient, sleepers: list[Any],
                                                  busybox: str) -> None:
    ids = {c.id for c in sleepers}
    stream = wc.api.stats_all(interval=0.3)
    try:
        first, second = _lines(stream, 2)
        assert ids <= set(_by_id(first)) and ids <= set(_by_id(second))
        for cid in ids:
            one = _by_id(second)[cid]
            assert one["memory_stats"]["usage"] > 0
            assert one["pids_stats"]["current"] >= 1
            assert one["cpu_stats"]["system_cpu_usage"] > 0
            assert one["precpu_stats"]["system_cpu_usage"] == _by_id(first)[cid]["cpu_stats"]["system_cpu_usage"]
            assert one["read"] > _by_id(first)[cid]["read"]
        assert "name" not in _by_id(second)[sleepers[0].id]

        sleepers[0].kill()
        late = wc.containers.run(busybox, ["sleep", "300"], detach=True, network_mode="none",
                                 name=f"wh-batch-{uuid.uuid4().hex[:8]}")
        sleepers.append(late)
        deadline = time.monotonic() + 10
        while True:
            seen = set(_by_id(next(stream)))
            if sleepers[0].id not in seen and late.id in seen:
                break
            assert time.monotonic() < deadline, f"the stream did not follow a stop and a start: {seen}"
        assert {sleepers[1].id, sleepers[2].id} <= seen
    finally:
        stream.close()


def test_closing_the_stream_releases_the_daemon_files(wc: engine.client.DockerClient, daemon: Daemon,
                                                      sleepers: list[Any]) -> None:
    pid = daemon.process.pid
    before = _open_fds(pid)
    stream = wc.api.stats_all(interval=0.2)
    _lines(stream, 2)
    during = _open_fds(pid)
    assert during >= before + 3 * 5  # at least five counter files per container stay open between ticks
    stream.close()
    deadline = time.monotonic() + 5
    while _open_fds(pid) > before + 2:  # the pool may keep a connection of its own
        assert time.monotonic() < deadline, f"fds: before {before}, during {during}, now {_open_fds(pid)}"
        time.sleep(0.1)


@pytest.mark.parametrize("interval", ["0", "fast", "3600"])
def test_bad_interval_is_a_clear_400(wc: engine.client.DockerClient, interval: str) -> None:
    with pytest.raises(engine.client.errors.APIError) as caught:
        wc.api.stats_all(interval=interval)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert "interval" in str(caught.value)
