"""PROTOCOL-LAYER UNIT TESTS of engine.api's HTTP server and router.

They serve the real server over a real unix socket with the in-test
FramingBackend (see wharf_api_fixtures): what is under test is HTTP framing
(keep-alive, limits, chunked flushes, multiplexed frames, the 101 hijack,
disconnect cancellation) and error translation, not the engine.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import time
from pathlib import Path

import httpx
import pytest
from wharf_api_fixtures import framing_server

from engine.api.http import Limits


def connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    sock.connect(path)
    return sock


def read_response(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """One Content-Length response from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed early: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += sock.recv(65536)
    return lines[0], headers, body


def client(path: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(uds=path), base_url="http://docker", timeout=10)


def test_json_errors_and_common_headers(framing):
    path, _, _ = framing
    with client(path) as c:
        r = c.get("/v1.50/containers/nosuch/json")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"message": "No such container: nosuch"}
    assert r.headers["api-version"] == "1.50"
    assert r.headers["ostype"] == "linux"
    assert re.fullmatch(r"Docker/.+\s\((.+)\)", r.headers["server"]).group(1) == "linux"


def test_version_prefix_bounds_and_unknown_routes(framing):
    path, _, seen = framing
    with client(path) as c:
        assert c.get("/v1.41/version").status_code == 200
        assert c.get("/version").status_code == 200
        old = c.get("/v1.12/version")
        new = c.get("/v1.52/info")
        missing = c.get("/v1.50/nothing/here")
    assert old.status_code == 400 and old.json()["message"] == (
        "client version 1.12 is too old. Minimum supported API version is 1.24, "
        "please upgrade your client to a newer version")
    assert new.status_code == 400 and new.json()["message"] == (
        "client version 1.52 is too new. Maximum supported API version is 1.50")
    assert missing.status_code == 404 and missing.json() == {"message": "page not found"}


def test_ping_head_and_get(framing):
    path, _, _ = framing
    with client(path) as c:
        head = c.head("/_ping")
        get = c.get("/v1.50/_ping")
    assert head.status_code == 200 and head.content == b"" and head.headers["api-version"] == "1.50"
    assert get.text == "OK"


def test_keep_alive_serves_requests_in_turn_on_one_connection(framing):
    path, _, _ = framing
    sock = connect(path)
    for _ in range(3):
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = read_response(sock)
        assert status == "HTTP/1.1 200 OK" and body == b"OK"
    sock.close()


def test_limits_and_malformed_requests_leave_other_connections_alone(tmp_path: Path):
    limits = Limits(max_header_bytes=8192, max_body_bytes=1024)
    with framing_server(tmp_path, limits) as (path, _, _):
        bystander = connect(path)
        bystander.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(bystander)[2] == b"OK"

        cases = {
            b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n": "413",
            b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n": "431",
            b"THIS IS NOT HTTP\r\n\r\n": "400",
            b"GET /_ping HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n": "400",
        }
        for request, code in cases.items():
            sock = connect(path)
            sock.sendall(request)
            status, headers, body = read_response(sock)
            assert status.split()[1] == code, (request[:40], status)
            assert headers["content-type"] == "application/json"
            assert "message" in json.loads(body)
            sock.close()

        sock = connect(path)  # a chunked body over the limit, no Content-Length
        sock.sendall(b"POST /containers/create HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"400\r\n" + b"x" * 1024 + b"\r\n" + b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n")
        assert read_response(sock)[0].split()[1] == "413"
        sock.close()

        bystander.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(bystander)[2] == b"OK"
        bystander.close()


def test_malformed_json_body_is_400(framing):
    path, _, _ = framing
    with client(path) as c:
        r = c.post("/containers/create", content=b"{not json", headers={"Content-Type": "application/json"})
        wrong = c.post("/containers/create", json={"Image": 5})
    assert r.status_code == 400 and r.json()["message"].startswith("invalid JSON in request body")
    assert wrong.status_code == 400 and "no image" in wrong.json()["message"]


def test_create_body_is_converted_to_a_typed_spec(framing):
    path, backend, _ = framing
    body = {"Image": "busybox:latest", "Cmd": ["sh", "-c", "echo hi"], "Env": ["A=1"], "Tty": True,
            "ExposedPorts": {"80/tcp": {}},
            "HostConfig": {"Binds": ["/srv:/data:ro", "vol:/v"], "AutoRemove": True, "Memory": 1 << 26,
                           "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
                           "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                           "Tmpfs": {"/run": "size=1m"}, "LogConfig": {"Type": "json-file"}}}
    with client(path) as c:
        created = c.post("/v1.50/containers/create", params={"name": "web"}, json=body)
        missing = c.post("/containers/create", json={"Image": "nope:1"})
    assert created.status_code == 201 and created.json() == {"Id": "e" * 64, "Warnings": []}
    assert missing.status_code == 404 and missing.json()["message"] == "No such image: nope:1"
    spec = backend.calls[0][1]
    assert spec.name == "web" and spec.tty and spec.auto_remove and spec.env == ["A=1"]
    assert [(m.type, m.source, m.target, m.read_only) for m in spec.mounts] == [
        ("bind", "/srv", "/data", True), ("volume", "vol", "/v", False), ("tmpfs", "", "/run", False)]
    assert spec.port_bindings[0].host_port == 8080 and spec.port_bindings[0].host_ip == "127.0.0.1"
    assert spec.restart_policy.name == "on-failure" and spec.resources.memory == 1 << 26
    assert spec.exposed_ports == [(80, "tcp")]


def test_image_names_with_slashes_and_colons(framing):
    path, backend, _ = framing
    with client(path) as c:
        r = c.get("/v1.50/images/localhost:5000/team/app:v1/json")
        d = c.delete("/images/localhost:5000/a:v1", params={"force": "False"})
    assert r.status_code == 404 and r.json()["message"] == "No such image: localhost:5000/team/app:v1"
    assert d.status_code == 200 and d.json() == []
    assert ("inspect_image", "localhost:5000/team/app:v1") in backend.calls
    assert ("remove_image", "localhost:5000/a:v1") in backend.calls


def test_booleans_follow_moby_rules(framing):
    path, backend, _ = framing
    with client(path) as c:
        c.delete("/containers/plain", params={"force": "False", "v": "1", "link": "no"})
        c.delete("/containers/plain", params={"force": "True", "v": "0", "link": "yes"})
        one = c.get("/containers/plain/stats", params={"stream": "False"})
    removes = [args for name, args in backend.calls if name == "remove"]
    assert removes == [("plain", False, True, False), ("plain", True, False, True)]
    assert "chunked" not in one.headers.get("transfer-encoding", "")
    sample = one.json()
    assert sample["precpu_stats"]["cpu_usage"]["total_usage"] > 0  # sampled twice, like moby
    assert sample["cpu_stats"]["cpu_usage"]["total_usage"] > sample["precpu_stats"]["cpu_usage"]["total_usage"]


def test_conflicts_and_unexpected_errors(framing, caplog):
    path, _, _ = framing
    with client(path) as c:
        kill = c.post("/containers/plain/kill")
        top = c.get("/containers/plain/top")
        unsupported = c.get("/volumes")
    assert kill.status_code == 409 and "exited" in kill.json()["message"]
    assert top.status_code == 500 and "an unexpected bug" in top.json()["message"]
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)
    assert unsupported.status_code == 501


def test_logs_frames_are_flushed_one_by_one(framing):
    path, backend, _ = framing
    with client(path) as c:
        with c.stream("GET", "/containers/plain/logs",
                      params={"stdout": 1, "stderr": 1, "follow": 1, "timestamps": 1}) as r:
            assert r.headers["content-type"] == "application/vnd.docker.multiplexed-stream"
            started = time.monotonic()
            arrivals = []
            buffer = b""
            frames = []
            for chunk in r.iter_raw():
                buffer += chunk
                while len(buffer) >= 8:
                    stream, size = struct.unpack(">BxxxL", buffer[:8])
                    if len(buffer) < 8 + size:
                        break
                    frames.append((stream, buffer[8:8 + size]))
                    arrivals.append(time.monotonic() - started)
                    buffer = buffer[8 + size:]
                if len(frames) == 3:
                    break
    assert [s for s, _ in frames] == [1, 2, 1]
    assert frames[0][1] == b"2023-11-14T22:13:20.500000000Z line 0\n"
    assert arrivals[0] < 0.3 and arrivals[2] - arrivals[0] > 0.6  # not buffered until the end
    assert backend.cancel_event("logs").wait(3), "the follow was not cancelled when the client left"


def test_tty_logs_are_raw(framing):
    path, _, _ = framing
    with client(path) as c:
        r = c.get("/containers/tty/logs", params={"stdout": "true", "stderr": "true"})
        neither = c.get("/containers/tty/logs")
    assert r.headers["content-type"] == "application/vnd.docker.raw-stream"
    assert r.content == b"line 0\nline 1\nline 2\n"
    assert neither.status_code == 400


def test_wait_headers_come_at_once_and_disconnect_cancels(framing):
    path, backend, _ = framing
    sock = connect(path)
    started = time.monotonic()
    sock.sendall(b"POST /v1.50/containers/plain/wait?condition=next-exit HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: 0\r\n\r\n")
    head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 200 OK") and time.monotonic() - started < 1.0
    assert b"transfer-encoding: chunked" in head.lower()
    sock.close()  # like `docker run -d` dropping its wait
    assert backend.cancel_event("wait").wait(3)
    with client(path) as c:
        done = c.post("/containers/plain/wait")
        missing = c.post("/containers/ghost/wait")
    assert done.json() == {"StatusCode": 3, "Error": None}
    assert missing.status_code == 404


def test_pull_progress_and_in_stream_errors(framing):
    path, backend, _ = framing
    with client(path) as c:
        ok = c.post("/images/create", params={"fromImage": "docker.io/library/busybox", "tag": "1.36"},
                    headers={"X-Registry-Auth": "e30="})
        bad = c.post("/images/create", params={"fromImage": "missing"})
        unknown = c.post("/images/create", params={"fromImage": "unknown", "tag": "v1"})
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/json"
    assert unknown.json()["message"] == "repository unknown:v1 not found: manifest unknown"
    lines = [json.loads(line) for line in ok.text.splitlines()]
    assert ok.headers["transfer-encoding"] == "chunked"
    assert lines[1]["progressDetail"] == {"current": 50, "total": 100} and lines[1]["id"] == "abc"
    assert lines[-1] == {"status": "Status: Downloaded newer image for busybox:latest"}
    assert backend.calls[0] == ("pull", ("docker.io/library/busybox:1.36", None))
    last = json.loads(bad.text.splitlines()[-1])
    assert last["errorDetail"]["message"] == last["error"] == "manifest for missing not found"


def test_stats_stream_sends_one_object_per_chunk_and_stops_on_disconnect(framing):
    path, backend, _ = framing
    with client(path) as c:
        with c.stream("GET", "/containers/plain/stats", params={"stream": "1"}) as r:
            objects = []
            for line in r.iter_lines():
                objects.append(json.loads(line))
                if len(objects) == 2:
                    break
    assert objects[1]["precpu_stats"]["cpu_usage"]["total_usage"] == objects[0]["cpu_stats"]["cpu_usage"]["total_usage"]
    assert objects[0]["memory_stats"]["limit"] == 2 << 30 and objects[0]["name"] == "/plain"
    assert backend.cancel_event("stats").wait(3)


def _hijack(path: str, target: str, body: bytes, content_type: str = "application/json") -> tuple[socket.socket, bytes]:
    sock = connect(path)
    sock.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                 f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)  # byte by byte: the header block must come alone
    return sock, head


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_exec_hijack_multiplexes_and_half_close_closes_stdin(framing):
    path, backend, _ = framing
    with client(path) as c:
        exec_id = c.post("/containers/plain/exec", json={
            "Cmd": ["sh", "-c", "cat; echo err >&2; exit 7"], "AttachStdin": True}).json()["Id"]
    sock, head = _hijack(path, f"/v1.50/exec/{exec_id}/start", b'{"Detach":false,"Tty":false}')
    assert head.startswith(b"HTTP/1.1 101 UPGRADED\r\n")
    assert b"Content-Type: application/vnd.docker.multiplexed-stream" in head
    assert b"Upgrade: tcp" in head and b"Connection: Upgrade" in head
    sock.sendall(b"hello\n")
    sock.shutdown(socket.SHUT_WR)  # stdin EOF, not a hang-up
    data = _read_all(sock)  # the server closes when output ends
    frames = []
    while data:
        stream, size = struct.unpack(">BxxxL", data[:8])
        frames.append((stream, data[8:8 + size]))
        data = data[8 + size:]
    assert (1, b"hello\n") in frames and (2, b"err\n") in frames
    with client(path) as c:
        assert c.get(f"/exec/{exec_id}/json").json()["ExitCode"] == 7


def test_attach_tty_is_raw_and_client_hangup_detaches(framing):
    path, backend, _ = framing
    sock, head = _hijack(path, "/containers/tty/attach?stream=1&stdin=1&stdout=1&stderr=1", b"", "text/plain")
    assert b"application/vnd.docker.raw-stream" in head
    sock.sendall(b"ping\n")
    echoed = b""
    deadline = time.monotonic() + 5
    while b"ping" not in echoed and time.monotonic() < deadline:
        echoed += sock.recv(1024)
    assert b"ping" in echoed and not echoed.startswith(b"\x01\x00")
    sock.close()
    assert backend.sessions[-1].closed.wait(5), "the session was not closed after the client left"


def test_exec_start_detached_is_plain_200(framing):
    path, _, _ = framing
    with client(path) as c:
        exec_id = c.post("/containers/plain/exec", json={"Cmd": ["true"]}).json()["Id"]
        r = c.post(f"/exec/{exec_id}/start", json={"Detach": True})
        missing = c.post("/exec/nope/start", json={})
    assert r.status_code == 200
    assert missing.status_code == 404 and missing.json()["message"] == "No such exec instance: nope"


@pytest.mark.parametrize("filters", ['{"type":{"container":true}}', '{"type":["container"]}'])
def test_events_since_until_and_filters(framing, filters):
    path, backend, _ = framing
    from engine.jobs import Component, Job

    with Job(backend.bus, "start", "c" * 64, Component.EXEC_DRIVER) as job:
        job.emit("start", "c" * 64, name="plain", image="busybox")
        job.emit("pull", "busybox:latest", type="image")
    until = time.time() + 0.5
    with client(path) as c:
        r = c.get("/events", params={"since": "0", "until": f"{until:.3f}", "filters": filters})
    events = [json.loads(line) for line in r.text.splitlines()]
    assert [e["Action"] for e in events] == ["start"]
    event = events[0]
    assert event["Type"] == "container" and event["Actor"]["ID"] == "c" * 64
    assert event["Actor"]["Attributes"] == {"name": "plain", "image": "busybox"}
    assert event["scope"] == "local" and event["time"] == event["timeNano"] // 10**9


def test_journal_replays_after_a_sequence_number(framing):
    path, backend, _ = framing
    from engine.jobs import Component, Job

    with Job(backend.bus, "pull", "busybox", Component.REGISTRY) as job:
        job.progress("layer-1", "downloading", 10, 100)
    with client(path) as c:
        everything = [json.loads(x) for x in c.get("/wharf/journal", params={"since": 0, "follow": 0}).text.split()]
        later = [json.loads(x) for x in c.get("/wharf/journal", params={"since": 2, "follow": 0}).text.split()]
    assert [e["kind"] for e in everything] == ["job", "progress", "job"]
    assert everything[1]["detail"] == {"current": 10, "total": 100} and everything[1]["component"] == "registry"
    assert [e["seq"] for e in later] == [3]


def test_archive_head_carries_the_stat_header_only(framing):
    path, backend, _ = framing
    backend.archive = b"x" * 10
    with client(path) as c:
        head = c.head("/containers/plain/archive", params={"path": "/etc/hosts"})
        no_path = c.get("/containers/plain/archive")
    import base64
    stat = json.loads(base64.b64decode(head.headers["x-docker-container-path-stat"]))
    assert head.status_code == 200 and head.content == b""
    assert stat["name"] == "hosts" and stat["size"] == 10
    assert no_path.status_code == 400
