"""``wharf daemon`` as a real subprocess, driven by the real docker CLI, docker-py and Wharf's client."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import docker
import httpx
import pytest
from wharf_api_fixtures import start_daemon_process

from engine.api.daemon import serve_embedded
from engine.client import DockerClient
from engine.version import API_VERSION

DOCKER = shutil.which("docker")


def cli(daemon, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert DOCKER, "the docker CLI is not on PATH"
    return subprocess.run([DOCKER, "-H", daemon.host, *args], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "DOCKER_CONFIG": str(daemon.root.parent / "docker-config"),
                               **(env or {})})


def test_socket_is_0660_owned_by_root(daemon):
    info = os.stat(daemon.socket)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o660
    if os.geteuid() == 0:
        assert info.st_uid == 0 and info.st_gid == 0
    assert not [p for p in daemon.socket.parent.iterdir() if p.name.startswith(".wharf-sock-")]


def test_docker_cli_version_and_info(daemon):
    version = cli(daemon, "version", "--format", "{{json .Server}}")
    assert version.returncode == 0, version.stderr
    server = json.loads(version.stdout)
    assert server["ApiVersion"] == API_VERSION and server["Os"] == "linux"
    assert server["Platform"]["Name"] == "Wharf Engine"
    info = cli(daemon, "info", "--format", "{{json .}}")
    assert info.returncode == 0, info.stderr
    document = json.loads(info.stdout)
    assert document["OSType"] == "linux" and document["DockerRootDir"] == str(daemon.root)
    assert document["NCPU"] == os.cpu_count() and document["MemTotal"] > 0


def test_docker_cli_downgrades_with_a_pinned_version(daemon):
    pinned = cli(daemon, "version", "--format", "{{.Client.APIVersion}}", env={"DOCKER_API_VERSION": "1.41"})
    assert pinned.returncode == 0, pinned.stderr
    assert pinned.stdout.strip() == "1.41"


def test_docker_cli_events_window_returns(daemon):
    started = time.monotonic()
    events = cli(daemon, "system", "events", "--since", "0", "--until", "1")
    assert events.returncode == 0, events.stderr
    assert time.monotonic() - started < 10


def test_docker_cli_prints_engine_errors(daemon):
    # 404 with the full engine, 501 with the system-only backend: either way a JSON error the CLI reads
    missing = cli(daemon, "container", "inspect", "ghost")
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error response from daemon: ") and "{" not in missing.stderr


def test_docker_py_ping_version_info(daemon):
    client = docker.DockerClient(base_url=daemon.host)
    try:
        assert client.ping() is True
        assert client.version()["ApiVersion"] == API_VERSION
        info = client.info()
        assert info["Containers"] == 0 and info["Images"] == 0 and info["Debug"] is False
    finally:
        client.close()


def test_wharf_client_ping_version_info_journal(daemon):
    with DockerClient(base_url=daemon.host) as client:
        assert client.ping() is True
        assert client.api.api_version == API_VERSION
        assert client.version()["Components"][0]["Name"] == "Engine"
        assert client.info()["Swarm"]["LocalNodeState"] == "inactive"
        journal = list(client.journal(since=0, follow=False))
    steps = [e for e in journal if e["kind"] == "step" and e["action"] == "listen"]
    assert steps and steps[0]["subject"] == str(daemon.socket) and steps[0]["component"] == "daemon"


def test_200_concurrent_clients(daemon):
    errors: list[str] = []
    start = threading.Barrier(200)

    def one() -> None:
        try:
            with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket)),
                              base_url="http://docker", timeout=30) as c:
                start.wait(30)
                for path in ("/_ping", "/v1.50/version", "/v1.50/info"):
                    r = c.get(path)
                    if r.status_code != 200:
                        errors.append(f"{path}: {r.status_code}")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


def test_malformed_requests_get_400_and_others_are_unaffected(daemon):
    good = socket.socket(socket.AF_UNIX)
    good.settimeout(5)
    good.connect(str(daemon.socket))
    for garbage in (b"\x16\x03\x01\x00\xa5garbage\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
                    b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{x}"):
        bad = socket.socket(socket.AF_UNIX)
        bad.settimeout(5)
        bad.connect(str(daemon.socket))
        bad.sendall(garbage)
        reply = bad.recv(65536)
        assert reply.startswith(b"HTTP/1.1 400"), reply[:80]
        assert b"Content-Type: application/json" in reply or b"content-type: application/json" in reply
        bad.close()
    good.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    assert good.recv(4096).startswith(b"HTTP/1.1 200 OK")
    good.close()


def test_second_daemon_refuses_and_sigterm_stops_cleanly(tmp_path: Path):
    first = start_daemon_process(tmp_path / "a")
    try:
        second = start_daemon_process(tmp_path / "b", root=first.root, wait=False)
        assert second.process.wait(20) == 1
        assert "already serves" in second.output() and str(first.socket) in second.output()
        assert not second.socket.exists()
        assert DockerClient(base_url=first.host).ping()  # the first one is untouched
    finally:
        status = first.stop(signal.SIGTERM)
    assert status == 0, first.output()
    assert not first.socket.exists()
    third = start_daemon_process(tmp_path / "c", root=first.root)  # the lock was released
    assert third.stop() == 0


def test_sigterm_ends_open_streams_and_exits_cleanly(tmp_path: Path):
    daemon = start_daemon_process(tmp_path / "s")
    client = DockerClient(base_url=daemon.host)
    ended: dict[str, float] = {}

    def follow(name: str, stream) -> None:  # noqa: ANN001
        for _ in stream:
            pass
        ended[name] = time.monotonic()

    streams = {"events": client.events(decode=True), "journal": client.journal(since=None)}
    threads = [threading.Thread(target=follow, args=item) for item in streams.items()]
    for t in threads:
        t.start()
    time.sleep(0.3)
    stopped = time.monotonic()
    assert daemon.stop(signal.SIGTERM) == 0, daemon.output()
    for t in threads:
        t.join(10)
    client.close()
    assert set(ended) == {"events", "journal"}
    assert max(ended.values()) - stopped < 5
    assert "stopping" in daemon.output()


def test_serve_embedded_serves_and_defers_to_a_running_daemon(tmp_path: Path):
    root = tmp_path / "root"
    socket_path, stop = serve_embedded(str(root))
    try:
        assert socket_path == str(root / "wharf.sock")
        assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o660
        with DockerClient(base_url=f"unix://{socket_path}") as client:
            assert client.ping() and client.info()["DockerRootDir"] == str(root)
    finally:
        stop()
        stop()  # idempotent
    assert not os.path.exists(socket_path)

    daemon = start_daemon_process(tmp_path / "d", root=root)
    try:
        found, noop = serve_embedded(str(root))
        assert found == str(daemon.socket)
        noop()
        assert DockerClient(base_url=f"unix://{found}").ping()
    finally:
        assert daemon.stop() == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the socket owner check needs root")
def test_socket_never_world_reachable_while_binding(tmp_path: Path):
    from engine.api.listeners import bind_unix

    target = tmp_path / "s.sock"
    sock = bind_unix(str(target))
    try:
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o660
        assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sock"]
    finally:
        sock.close()
