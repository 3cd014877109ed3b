"""Wharf's client (engine.client) against the real ``wharf daemon`` and, for the stdio and
stream framing paths, against the protocol-layer framing server (see wharf_api_fixtures)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from engine import errors as engine_errors
from engine.client import (
    APIError,
    DockerClient,
    EngineUnreachable,
    ImageNotFound,
    NotFound,
    from_env,
)
from engine.client.errors import Conflict
from engine.client.transport import parse_host
from engine.jobs import Component, Job
from engine.version import API_VERSION

# ------------------------------------------------------------- the real daemon


def test_from_env_uses_docker_host(daemon, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    with from_env() as client:
        assert client.ping()
        assert client.api.api_version == API_VERSION


def test_fixed_version_is_used_as_the_path_prefix(daemon):
    with DockerClient(base_url=daemon.host, version="1.41") as client:
        assert client.api.api_version == "1.41"
        assert client.version()["ApiVersion"] == API_VERSION
        assert client.api._url("/info") == "/v1.41/info"


def test_many_threads_share_one_client(daemon):
    client = DockerClient(base_url=daemon.host)
    failures: list[str] = []

    def work() -> None:
        try:
            for _ in range(10):
                assert client.version()["ApiVersion"] == API_VERSION
                assert client.info()["OSType"] == "linux"
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    client.close()
    assert failures == []


def test_engine_errors_are_api_errors(daemon):
    # 404 with the full engine, 501 with the system-only backend
    with DockerClient(base_url=daemon.host) as client:
        with pytest.raises(APIError) as caught:
            client.containers.get("ghost")
    assert caught.value.status_code in (404, 501)
    assert caught.value.explanation and "{" not in caught.value.explanation


def test_no_engine_is_engine_unavailable(tmp_path: Path):
    client = DockerClient(base_url=f"unix://{tmp_path / 'nothing.sock'}")
    with pytest.raises(EngineUnreachable) as caught:
        client.ping()
    assert isinstance(caught.value, engine_errors.EngineUnavailable)
    assert isinstance(caught.value, engine_errors.WharfError)
    assert "nothing.sock" in str(caught.value)


def test_addresses():
    assert parse_host("tcp://127.0.0.1:2375").base_url == "http://127.0.0.1:2375"
    assert parse_host("unix:///run/x.sock").socket_path == "/run/x.sock"
    assert parse_host("/run/y.sock").socket_path == "/run/y.sock"
    assert parse_host("tcp://10.0.0.1:2376", tls=True).base_url == "https://10.0.0.1:2376"
    with pytest.raises(Exception, match="ssh"):
        parse_host("ssh://user@host")


# ------------------------------------------- framing server: streams and stdio


def client_for(framing) -> DockerClient:
    path, _, _ = framing
    return DockerClient(base_url=f"unix://{path}")


def test_errors_map_like_docker_py(framing):
    with client_for(framing) as client:
        with pytest.raises(ImageNotFound):
            client.images.get("localhost:5000/app:v1")
        with pytest.raises(NotFound) as missing:
            client.containers.get("ghost")
        with pytest.raises(Conflict) as conflict:
            client.api.kill("plain")
    assert not isinstance(missing.value, ImageNotFound)
    assert missing.value.explanation == "No such container: ghost"
    assert conflict.value.status_code == 409


def test_auto_version_negotiates_with_a_ping_first(framing):
    _, _, seen = framing
    with client_for(framing) as client:
        client.info()
    assert seen[:2] == ["HEAD /_ping", f"GET /v{API_VERSION}/info"]


def test_container_models(framing):
    with client_for(framing) as client:
        containers = client.containers.list(all=True)
        plain = client.containers.get("plain")
    assert {c.name for c in containers} == {"plain", "tty"}
    assert plain.id == "c" * 64 and plain.short_id == "c" * 12
    assert plain.status == "running" and plain.labels == {"a": "b"}
    assert plain.attrs["HostConfig"]["LogConfig"]["Type"] == "json-file"


def test_exec_run_through_the_hijack(framing):
    with client_for(framing) as client:
        container = client.containers.get("plain")
        result = container.exec_run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        split = container.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
        tty = container.exec_run(["sh", "-c", "echo on-a-tty"], tty=True)
    assert result.exit_code == 3 and sorted(result.output.split()) == [b"err", b"out"]
    assert split.output == (b"out\n", b"err\n") and split.exit_code == 0
    assert b"on-a-tty" in tty.output


def test_exec_socket_stdin_and_half_close(framing):
    with client_for(framing) as client:
        exec_id = client.api.exec_create("plain", ["cat"], stdin=True)["Id"]
        sock = client.api.exec_start(exec_id, socket=True)
        sock.sendall(b"through stdin\n")
        sock.shutdown_write()
        output = b"".join(data for _, data in sock.output())
        sock.close()
        assert output == b"through stdin\n"
        assert client.api.exec_inspect(exec_id)["ExitCode"] == 0


def test_attach_socket_to_a_tty_container(framing):
    with client_for(framing) as client:
        sock = client.containers.get("tty").attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
        sock.sendall(b"hello tty\n")
        seen = b""
        deadline = time.monotonic() + 5
        while b"hello tty" not in seen and time.monotonic() < deadline:
            seen += sock.recv(1024)
        sock.close()
    assert b"hello tty" in seen


def test_logs_joined_and_streamed(framing):
    with client_for(framing) as client:
        joined = client.api.logs("plain")
        raw = client.api.logs("tty", timestamps=True)
        stream = client.api.logs("plain", stream=True, follow=True)
        first = [next(stream) for _ in range(3)]
        stream.close()
    assert joined == b"line 0\nline 1\nline 2\n"
    assert raw.startswith(b"2023-11-14T22:13:20.500000000Z line 0\n")
    assert first == [b"line 0\n", b"line 1\n", b"line 2\n"]


def test_stats_decoded_stream_and_single(framing):
    with client_for(framing) as client:
        single = client.api.stats("plain", stream=False)
        stream = client.api.stats("plain", decode=True)
        samples = [next(stream), next(stream)]
        stream.close()
    assert single["precpu_stats"]["system_cpu_usage"] > 0
    assert samples[1]["precpu_stats"] == samples[0]["cpu_stats"]


def test_pull_stream_and_events_and_journal(framing):
    _, backend, _ = framing
    with client_for(framing) as client:
        progress = list(client.api.pull("busybox", stream=True, decode=True))
        with Job(backend.bus, "create", "c" * 64, Component.ENGINE) as job:
            job.emit("create", "c" * 64, name="plain")
        events = list(client.events(since=0, until=time.time() + 0.3, decode=True,
                                    filters={"event": ["create"]}))
        journal = list(client.journal(since=0, follow=False))
    assert progress[-1]["status"].startswith("Status: Downloaded")
    assert backend.calls[0][1][0] == "busybox:latest"
    assert [(e["Type"], e["Action"], e["Actor"]["Attributes"]["name"]) for e in events] == [
        ("container", "create", "plain")]
    assert [e["kind"] for e in journal] == ["job", "object", "job"]


def test_live_events_arrive_as_they_happen(framing):
    _, backend, _ = framing
    with client_for(framing) as client:
        stream = client.events(decode=True, filters={"type": ["image"]})
        # the server subscribes before it sends the headers, so nothing published now is missed
        published = time.monotonic()
        with Job(backend.bus, "pull", "busybox:latest", Component.REGISTRY) as job:
            job.emit("pull", "busybox:latest")
        event = next(stream)
        stream.close()
    assert time.monotonic() - published < 2
    assert (event["Type"], event["Action"], event["id"]) == ("image", "pull", "busybox:latest")


def test_create_with_docker_py_arguments_reaches_the_engine_as_a_typed_spec(framing):
    _, backend, _ = framing
    with client_for(framing) as client:
        container = client.containers.create(
            "busybox:latest", "sh -c 'echo hi'", name="web", environment={"A": "1"},
            ports={"80/tcp": ("127.0.0.1", 8080)}, volumes=["/srv:/data:ro"], auto_remove=True,
            mem_limit="64m", restart_policy={"Name": "on-failure", "MaximumRetryCount": 2},
            labels={"tier": "web"}, tty=True)
    spec = backend.calls[-1][1]
    assert container.name == "web" and container.labels == {"tier": "web"}
    assert spec.cmd == ["sh", "-c", "echo hi"] and spec.env == ["A=1"] and spec.tty
    assert spec.resources.memory == 64 << 20 and spec.auto_remove
    assert (spec.port_bindings[0].container_port, spec.port_bindings[0].host_ip,
            spec.port_bindings[0].host_port) == (80, "127.0.0.1", 8080)
    assert (spec.mounts[0].source, spec.mounts[0].target, spec.mounts[0].read_only) == ("/srv", "/data", True)
    assert spec.restart_policy.maximum_retry_count == 2 and spec.exposed_ports == [(80, "tcp")]


def test_archives_stream_both_ways(framing):
    _, backend, _ = framing
    payload = bytes(range(256)) * 400  # 100 KiB, sent as a stream of chunks

    def chunks():
        for i in range(0, len(payload), 8192):
            yield payload[i:i + 8192]

    with client_for(framing) as client:
        assert client.api.put_archive("plain", "/data", chunks())
        stream, stat = client.api.get_archive("plain", "/data/file")
        received = b"".join(stream)
    assert received == payload
    assert stat == {"name": "file", "size": len(payload), "mode": 0o644,
                    "mtime": "2023-11-14T22:13:20.000000000Z", "linkTarget": ""}
    name, (path, pieces, _) = backend.calls[-1]
    assert name == "put_archive" and path == "/data" and pieces > 1
