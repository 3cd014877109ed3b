"""docker-py 7.1 against ``wharf daemon``: the CLI's flows through the Python SDK.

The flows take a ``dc`` fixture (a ``DockerClient``) and an ``errors``
fixture (the module holding ``NotFound``, ``ImageNotFound``, ``APIError``,
``ContainerError``). ``test_wharf_client.py`` imports these same tests and
overrides both fixtures with Wharf's own client, so both clients are held to
one set of expectations.
"""

from __future__ import annotations

import io
import tarfile
import time
import types
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
import pytest
from compat.conftest import Daemon

LOOP = "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"


def _name(prefix: str) -> str:
    """A container/network/volume name unique to this run."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def dc(daemon: Daemon) -> Iterator[Any]:
    """docker-py's ``DockerClient`` on the daemon's socket."""
    client = docker.DockerClient(base_url=daemon.host, version="auto", timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def errors() -> types.ModuleType:
    """docker-py's exception classes."""
    return docker.errors


@pytest.fixture(scope="module")
def image(dc: Any, busybox: str) -> str:
    """The busybox test image, pulled through the client under test; its reference."""
    pulled = dc.images.pull(busybox)
    assert busybox in pulled.tags
    return busybox


@pytest.fixture
def sleeper(dc: Any, image: str) -> Iterator[Any]:
    """A detached ``sleep 300`` container, force-removed afterwards."""
    container = dc.containers.run(image, ["sleep", "300"], detach=True, name=_name("sleeper"))
    yield container
    _force_remove(dc, container.id)


def _force_remove(dc: Any, ref: str) -> None:
    try:
        dc.api.remove_container(ref, force=True, v=True)
    except Exception:  # noqa: BLE001 - already gone is fine in a finalizer
        pass


def _tar(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_ping_version_info(dc: Any, daemon: Daemon) -> None:
    assert dc.ping() is True
    version = dc.version()
    assert version["ApiVersion"] == "1.50" and version["Os"] == "linux"
    assert dc.api.api_version == "1.50"
    info = dc.info()
    assert info["DockerRootDir"] == str(daemon.root)
    assert isinstance(info["Containers"], int) and isinstance(info["Images"], int) and "Debug" in info


def test_pull_get_and_not_found_kinds(dc: Any, errors: types.ModuleType, image: str) -> None:
    got = dc.images.get(image)
    assert image in got.tags and got.id.startswith("sha256:")
    assert any(image in i.tags for i in dc.images.list())
    with pytest.raises(errors.ImageNotFound):
        dc.images.get("no-such-image-here:latest")
    with pytest.raises(errors.NotFound) as missing:
        dc.containers.get("no-such-container-here")
    assert not isinstance(missing.value, errors.ImageNotFound)
    assert missing.value.response.status_code == 404


def test_run_foreground_returns_output_and_removes(dc: Any, errors: types.ModuleType, image: str) -> None:
    name = _name("fg")
    out = dc.containers.run(image, ["sh", "-c", "echo out; echo err >&2"], remove=True, name=name)
    assert out == b"out\n"
    both = dc.containers.run(image, ["sh", "-c", "echo out; echo err >&2"], stderr=True, remove=True)
    assert b"out\n" in both and b"err\n" in both
    with pytest.raises(errors.ContainerError) as failed:
        dc.containers.run(image, ["sh", "-c", "echo bad >&2; exit 3"], remove=True)
    assert failed.value.exit_status == 3
    assert not [c for c in dc.containers.list(all=True) if c.name == name]


def test_run_detached_logs_stream_follow_and_wait(dc: Any, image: str) -> None:
    container = dc.containers.run(image, ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"],
                                  detach=True, name=_name("counter"))
    try:
        assert container.status in ("created", "running")
        started = time.monotonic()
        chunks = list(container.logs(stream=True, follow=True))
        assert time.monotonic() - started < 10
        assert b"".join(chunks).split() == [b"1", b"2", b"3"]
        assert container.wait(timeout=10)["StatusCode"] == 0
        assert container.logs(tail=1) == b"3\n"
        stamped = container.logs(timestamps=True).splitlines()[0]
        assert stamped.endswith(b" 1") and b"T" in stamped.split()[0]
        container.reload()
        assert container.status == "exited"
    finally:
        _force_remove(dc, container.id)


def test_run_detached_with_remove_is_gone_after_exit(dc: Any, image: str) -> None:
    container = dc.containers.run(image, ["true"], detach=True, remove=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(c.id == container.id for c in dc.containers.list(all=True)):
        time.sleep(0.1)
    assert not any(c.id == container.id for c in dc.containers.list(all=True))


def test_exec_run_with_and_without_tty(dc: Any, sleeper: Any) -> None:
    plain = sleeper.exec_run(["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert plain.exit_code == 7 and b"out\n" in plain.output and b"err\n" in plain.output
    split = sleeper.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert split.exit_code == 0 and split.output == (b"out\n", b"err\n")
    tty = sleeper.exec_run(["tty"], tty=True)
    assert tty.exit_code == 0 and tty.output.startswith(b"/dev/pts/")
    hostname = sleeper.exec_run(["cat", "/etc/hostname"]).output.strip().decode()
    assert hostname == sleeper.id[:12]
    streamed = sleeper.exec_run(["sh", "-c", "echo a; sleep 0.2; echo b"], stream=True)
    assert b"".join(streamed.output).split() == [b"a", b"b"]


def test_attach_streams_live_output(dc: Any, image: str) -> None:
    container = dc.containers.run(image, ["sh", "-c", LOOP], detach=True, name=_name("attach"))
    try:
        stream = container.attach(stream=True, logs=False)
        received = b""
        deadline = time.monotonic() + 10
        for chunk in stream:
            received += chunk
            if received.count(b"tick") >= 2 or time.monotonic() > deadline:
                break
        assert received.count(b"tick") >= 2
        socket_close = getattr(stream, "close", None)
        if socket_close:
            socket_close()
    finally:
        _force_remove(dc, container.id)


def test_stats_once_and_streamed(dc: Any, sleeper: Any) -> None:
    started = time.monotonic()
    once = sleeper.stats(stream=False)
    assert time.monotonic() - started < 5
    for key in ("read", "networks", "precpu_stats", "cpu_stats", "memory_stats", "blkio_stats"):
        assert key in once, key
    assert once["pids_stats"]["current"] == 1
    assert once["memory_stats"]["usage"] > 0
    samples = sleeper.stats(stream=True, decode=True)
    first, second = next(samples), next(samples)
    assert first["read"] != second["read"]
    assert second["cpu_stats"]["cpu_usage"]["total_usage"] >= first["cpu_stats"]["cpu_usage"]["total_usage"]
    closer = getattr(samples, "close", None)
    if closer:
        closer()


def test_top_diff_and_archives(dc: Any, sleeper: Any) -> None:
    top = sleeper.top()
    assert "PID" in top["Titles"] and any("sleep" in " ".join(p) for p in top["Processes"])
    assert sleeper.put_archive("/tmp", _tar("in.txt", b"copied in\n")) is True
    assert sleeper.exec_run(["cat", "/tmp/in.txt"]).output == b"copied in\n"
    sleeper.exec_run(["rm", "/etc/group"])
    changes = {(c["Path"], c["Kind"]) for c in sleeper.diff()}
    assert ("/tmp/in.txt", 1) in changes and ("/etc/group", 2) in changes
    chunks, stat = sleeper.get_archive("/etc/passwd")
    assert stat["name"] == "passwd" and stat["size"] > 0
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
        member = archive.extractfile("passwd")
        assert member is not None and member.read().startswith(b"root:x:0:0")


def test_lifecycle_and_409_on_removing_a_running_container(dc: Any, errors: types.ModuleType,
                                                            image: str) -> None:
    name, renamed = _name("life"), _name("renamed")
    container = dc.containers.run(image, ["sh", "-c", LOOP], detach=True, name=name)
    try:
        container.pause()
        container.reload()
        assert container.status == "paused"
        container.unpause()
        container.rename(renamed)
        container.reload()
        assert container.name == renamed
        started = time.monotonic()
        container.stop(timeout=5)
        assert time.monotonic() - started < 4  # the trap answered SIGTERM
        container.reload()
        assert container.status == "exited" and container.attrs["State"]["ExitCode"] == 0
        container.restart(timeout=1)
        container.reload()
        assert container.status == "running"
        with pytest.raises(errors.APIError) as refused:
            container.remove()
        assert refused.value.response.status_code == 409
        assert "stop the container before" in str(refused.value)
        container.kill()
        container.reload()
        assert container.attrs["State"]["ExitCode"] == 137
        with pytest.raises(errors.APIError) as not_running:
            container.kill()
        assert not_running.value.response.status_code == 409
        container.remove()
        with pytest.raises(errors.NotFound):
            dc.containers.get(renamed)
    finally:
        _force_remove(dc, container.id)


def test_networks_create_connect_remove(dc: Any, errors: types.ModuleType, image: str) -> None:
    net_name = _name("pynet")
    network = dc.networks.create(net_name, driver="bridge")
    server = late = None
    try:
        assert any(n.name == net_name for n in dc.networks.list())
        server = dc.containers.run(image, ["httpd", "-f", "-p", "80", "-h", "/etc"], detach=True,
                                   name=_name("server"), network=net_name)
        late = dc.containers.run(image, ["sleep", "300"], detach=True, name=_name("late"))
        network.connect(late)
        network.reload()
        assert {c.id for c in network.containers} == {server.id, late.id}
        answer = late.exec_run(["sh", "-c", f"printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {server.name} 80"])
        assert b"200 OK" in answer.output
        with pytest.raises(errors.APIError):
            network.remove()  # still in use
    finally:
        for container in (server, late):
            if container is not None:
                _force_remove(dc, container.id)
    network.remove()
    with pytest.raises(errors.NotFound):
        dc.networks.get(net_name)


def test_volumes(dc: Any, errors: types.ModuleType, image: str) -> None:
    vol_name = _name("pyvol")
    volume = dc.volumes.create(vol_name)
    assert volume.name == vol_name and any(v.name == vol_name for v in dc.volumes.list())
    dc.containers.run(image, ["sh", "-c", "echo persisted > /data/f"], remove=True,
                      volumes={vol_name: {"bind": "/data", "mode": "rw"}})
    out = dc.containers.run(image, ["cat", "/data/f"], remove=True, volumes=[f"{vol_name}:/data"])
    assert out == b"persisted\n"
    assert dc.volumes.get(vol_name).attrs["Mountpoint"]
    volume.remove()
    with pytest.raises(errors.NotFound):
        dc.volumes.get(vol_name)


def test_events_df_and_prunes(dc: Any, image: str) -> None:
    since = int(time.time()) - 1
    name = _name("evented")
    dc.containers.run(image, ["true"], name=name, remove=True)
    until = int(time.time()) + 1
    actions = [e["Action"] for e in dc.events(since=since, until=until, decode=True, filters={"container": name})]
    for action in ("create", "start", "die", "destroy"):
        assert action in actions
    df = dc.df()
    assert {"Images", "Containers", "Volumes"} <= set(df) and any(image in i["RepoTags"] for i in df["Images"])
    done = dc.containers.run(image, ["true"], detach=True, name=_name("done"))
    done.wait(timeout=10)
    pruned = dc.containers.prune()
    assert done.id in (pruned["ContainersDeleted"] or [])
    assert "SpaceReclaimed" in dc.images.prune()
    assert "VolumesDeleted" in dc.volumes.prune()
    assert "NetworksDeleted" in dc.networks.prune()


def test_image_delete_event_names_the_image(dc: Any, image: str) -> None:
    since = int(time.time()) - 1
    box = dc.containers.run(image, ["sh", "-c", "echo made > /made"], detach=True, name=_name("made"))
    box.wait(timeout=10)
    made = box.commit(repository=f"made-{uuid.uuid4().hex[:6]}", tag="v1")
    box.remove()
    dc.images.remove(made.id, force=True)
    until = int(time.time()) + 1
    events = [e for e in dc.events(since=since, until=until, decode=True) if e.get("Type") == "image"]
    deletes = [e["Actor"]["ID"] for e in events if e["Action"] == "delete"]
    assert deletes == [made.id], events
    assert any(e["Action"] == "untag" for e in events)


def test_images_tag_and_remove(dc: Any, errors: types.ModuleType, image: str) -> None:
    repo = f"mybox-{uuid.uuid4().hex[:6]}"
    assert dc.images.get(image).tag(repo, "v1") is True
    assert f"{repo}:v1" in dc.images.get(image).tags
    removed = dc.api.remove_image(f"{repo}:v1")  # docker-py's images.remove returns None
    assert {"Untagged": f"{repo}:v1"} in removed
    with pytest.raises(errors.ImageNotFound):
        dc.images.get(f"{repo}:v1")
    assert image in dc.images.get(image).tags
