"""``wharf daemon`` under load and faults: many clients, vanished clients, signals, bad input.

Every request here goes to the daemon's unix socket; nothing leaves the
machine. Thread and fd counts are read from ``/proc/<daemon pid>``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from compat.conftest import REPO, Daemon, start_daemon, stop_daemon
from harness.images import TestImages

CLIENTS = 200
"""Concurrent clients in the load test."""

LOOP = "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line")


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _settles(pid: int, threads: int, fds: int, within: float = 15) -> tuple[int, int]:
    """Wait until the daemon's threads and fds are back at (or below) the given counts."""
    deadline = time.monotonic() + within
    now = (_threads(pid), _fds(pid))
    while time.monotonic() < deadline:
        now = (_threads(pid), _fds(pid))
        if now[0] <= threads and now[1] <= fds:
            return now
        time.sleep(0.2)
    return now


def _connect(daemon: Daemon) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(daemon.socket))
    return sock


def _raw(daemon: Daemon, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes; everything the daemon answers until it closes (or ``timeout``)."""
    with _connect(daemon) as sock:
        sock.settimeout(timeout)
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and b"Content-Length: " in received:
                    head, body = received.split(b"\r\n\r\n", 1)
                    length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    if len(body) >= length:
                        break
        except TimeoutError:
            pass
        return received


def _open_stream(daemon: Daemon, request: bytes, expect: bytes) -> socket.socket:
    """Open a stream and read until ``expect`` arrives; the socket, still open."""
    sock = _connect(daemon)
    try:
        sock.sendall(request)
        received = b""
        deadline = time.monotonic() + 10
        while expect not in received and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        assert expect in received, received[:300]
    except BaseException:
        sock.close()
        raise
    return sock


def _open_and_drop(daemon: Daemon, request: bytes, expect: bytes) -> None:
    """Open a stream, read until ``expect`` arrives, then vanish without a word."""
    _open_stream(daemon, request, expect).close()


@pytest.fixture(scope="module")
def ticker(daemon: Daemon, busybox: str) -> Iterator[str]:
    """A running container that prints a line every 100 ms; its name."""
    daemon.docker("run", "-d", "--name", "lf-ticker", "--network", "none", busybox, "sh", "-c", LOOP)
    yield "lf-ticker"
    daemon.docker("rm", "-f", "lf-ticker", check=False)


def _http(daemon: Daemon) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket)), base_url="http://docker",
                        timeout=60)


def test_socket_is_0660_root(daemon: Daemon) -> None:
    status = os.stat(daemon.socket)
    assert status.st_mode & 0o7777 == 0o660
    assert (status.st_uid, status.st_gid) == (0, 0)


def test_200_concurrent_clients_are_all_served(daemon: Daemon, ticker: str) -> None:
    paths = ["/v1.50/containers/json?all=1", f"/v1.50/containers/{ticker}/json",
             f"/v1.50/containers/{ticker}/logs?stdout=1&stderr=1&tail=20", f"/v1.50/containers/{ticker}/stats?stream=0"]
    results: list[tuple[str, int | str, float]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def client(index: int) -> None:
        path = paths[index % len(paths)]
        with _http(daemon) as http:
            try:
                barrier.wait(timeout=30)
                started = time.monotonic()
                response = http.get(path)
                outcome: int | str = response.status_code
                if response.status_code == 200 and path.endswith("stream=0"):
                    assert "precpu_stats" in response.json()
                elif response.status_code == 200 and "/logs" in path:
                    assert b"tick" in response.content
            except Exception as exc:  # noqa: BLE001 - counted as a failure below
                outcome, started = repr(exc), time.monotonic()
            with lock:
                results.append((path, outcome, time.monotonic() - started))

    log_before = daemon.log.stat().st_size
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    elapsed = time.monotonic() - began
    failures = [r for r in results if r[1] != 200]
    assert len(results) == CLIENTS and not failures, failures[:5]
    assert elapsed < 60, f"{CLIENTS} clients took {elapsed:.1f} s"
    with open(daemon.log, "rb") as handle:
        handle.seek(log_before)
        assert b"Traceback" not in handle.read()


def test_clients_vanishing_mid_stream_leave_nothing_running(daemon: Daemon, ticker: str) -> None:
    pid = daemon.process.pid
    streams = {
        "logs -f": (f"GET /v1.50/containers/{ticker}/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: d\r\n\r\n".encode(),
                    b"tick"),
        "stats stream": (f"GET /v1.50/containers/{ticker}/stats?stream=1 HTTP/1.1\r\nHost: d\r\n\r\n".encode(),
                         b"cpu_stats"),
        "events": (b"GET /v1.50/events HTTP/1.1\r\nHost: d\r\n\r\n", b"200 OK"),
        "attach": ((f"POST /v1.50/containers/{ticker}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\n"
                    "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"
                    ).encode(), b"tick"),
    }
    # Warm up: fill the bounded worker pool and use every stream once, so lazily made threads count.
    with _http(daemon) as http:
        warm = [threading.Thread(target=http.get, args=(f"/v1.50/containers/{ticker}/stats?stream=0",))
                for _ in range(40)]
        for thread in warm:
            thread.start()
        for thread in warm:
            thread.join(timeout=60)
    for request, expect in streams.values():
        _open_and_drop(daemon, request, expect)
    time.sleep(2)  # the dropped warm-up streams wind down
    baseline = (_threads(pid), _fds(pid))
    held: list[socket.socket] = []
    try:
        for _round in range(3):
            held += [_open_stream(daemon, request, expect) for request, expect in streams.values()]
        during = (_threads(pid), _fds(pid))
    finally:
        for sock in held:
            sock.close()  # every client vanishes mid-stream, without a word
    assert during[1] >= baseline[1] + len(held), "the held streams' connections are visible"
    assert during[0] > baseline[0], "the held streams' threads are visible"
    after = _settles(pid, *baseline)
    assert after[0] <= baseline[0], f"threads: baseline {baseline[0]}, after {after[0]} (during {during[0]})"
    assert after[1] <= baseline[1], f"fds: baseline {baseline[1]}, after {after[1]} (during {during[1]})"
    # and the daemon still serves the container it streamed
    assert json.loads(daemon.docker("inspect", ticker).stdout)[0]["State"]["Running"] is True


def test_malformed_http_and_json_get_400_without_disturbing_others(daemon: Daemon, ticker: str) -> None:
    follower = _connect(daemon)
    try:
        follower.sendall(f"GET /v1.50/containers/{ticker}/logs?stdout=1&follow=1&tail=0 HTTP/1.1\r\n"
                         "Host: d\r\n\r\n".encode())
        assert b"200 OK" in follower.recv(65536)
        garbage = _raw(daemon, b"THIS IS NOT HTTP\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400"), garbage[:200]
        bad_header = _raw(daemon, b"GET /_ping HTTP/1.1\r\nno colon here\r\n\r\n")
        assert bad_header.startswith(b"HTTP/1.1 400"), bad_header[:200]
        body = b'{"Image": "busybox", "Cmd": [tru'
        bad_json = _raw(daemon, b"POST /v1.50/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert bad_json.startswith(b"HTTP/1.1 400"), bad_json[:300]
        head, payload = bad_json.split(b"\r\n\r\n", 1)
        assert b"Content-Type: application/json" in head and json.loads(payload)["message"]
        wrong_shape = _raw(daemon, b"POST /v1.50/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json"
                           b"\r\nContent-Length: 2\r\n\r\n[]")
        assert wrong_shape.startswith(b"HTTP/1.1 400"), wrong_shape[:300]
        bad_filters = _raw(daemon, b"GET /v1.50/containers/json?filters=%7Bnope HTTP/1.1\r\nHost: d\r\n\r\n")
        assert bad_filters.startswith(b"HTTP/1.1 400"), bad_filters[:300]
        # the follower still receives its container's output, and new clients are served
        follower.settimeout(5)
        assert b"tick" in follower.recv(65536)
        assert daemon.docker("ps", "--format", "{{.Names}}").stdout.split().count(ticker) == 1
    finally:
        follower.close()


def test_a_second_daemon_on_the_same_root_refuses(daemon: Daemon, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tui.cli", "daemon", "--socket", str(tmp_path / "other.sock"),
                           "--root", str(daemon.root)], cwd=REPO, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert f"another engine (pid {daemon.process.pid}) already serves {daemon.root}" in done.stderr
    assert str(daemon.socket) in done.stderr
    assert not (tmp_path / "other.sock").exists()
    assert daemon.docker("version", check=False).returncode == 0


def test_sigterm_stops_cleanly_and_a_new_daemon_adopts_the_containers(
        tmp_path_factory: pytest.TempPathFactory, registry: object, test_images: TestImages) -> None:
    workdir = tmp_path_factory.mktemp("adopt")
    first = start_daemon(workdir)
    current = first
    try:
        first.docker("pull", test_images.busybox_oci.reference)
        first.docker("run", "-d", "--name", "survivor", "--network", "none", test_images.busybox_oci.reference,
                     "sh", "-c", LOOP)
        pid = json.loads(first.docker("inspect", "survivor").stdout)[0]["State"]["Pid"]
        assert pid > 0
        first.process.terminate()
        assert first.process.wait(timeout=20) == 0
        assert not first.socket.exists()
        assert "Traceback" not in first.log.read_text()
        os.kill(pid, 0)  # the container outlived its daemon
        time.sleep(0.3)
        current = start_daemon(workdir)
        state = json.loads(current.docker("inspect", "survivor").stdout)[0]["State"]
        assert state["Running"] is True and state["Pid"] == pid
        assert current.docker("exec", "survivor", "echo", "adopted").stdout == "adopted\n"
        assert current.docker("logs", "--tail", "1", "survivor").stdout.startswith("tick")
        current.docker("stop", "survivor")
        assert json.loads(current.docker("inspect", "survivor").stdout)[0]["State"]["ExitCode"] == 0
    finally:
        if current.process.poll() is not None:
            current = start_daemon(workdir)  # whoever is left must be cleaned up by a live engine
        stop_daemon(current)
