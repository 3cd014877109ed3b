"""The real docker CLI against ``wharf daemon``: ``--pid``, ``--ipc`` and ``--uts`` modes
(``host``, ``container:<name|id>``, ``shareable``, ``none``), their errors and their inspect output."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from compat.conftest import Daemon


@pytest.fixture(autouse=True)
def _clean(daemon: Daemon) -> Iterator[None]:
    """Each test's containers are removed after it (a failed removal fails the test), their
    cgroups with them."""
    yield
    ids = daemon.docker("ps", "-aq", "--no-trunc").stdout.split()
    if ids:
        daemon.docker("rm", "-f", *ids)
    left = [i for i in ids if any(Path(f"/sys/fs/cgroup/{c}/wharf/{i}").exists() for c in ("pids", "memory"))]
    assert not left, f"cgroups left behind: {left}"


def _inspect(daemon: Daemon, ref: str) -> dict:
    return json.loads(daemon.docker("inspect", ref).stdout)[0]


def test_pid_container_sees_the_targets_processes_and_top_kill_stay_its_own(daemon: Daemon,
                                                                           busybox: str) -> None:
    target = daemon.docker("run", "-d", "--name", "pidowner", busybox, "sleep", "1234").stdout.strip()
    seen = daemon.docker("run", "--rm", "--pid", "container:pidowner", busybox, "ps", "-o", "pid,args").stdout
    assert any(line.split()[:3] == ["1", "sleep", "1234"] for line in seen.splitlines()), seen

    daemon.docker("run", "-d", "--name", "pidjoiner", "--pid", f"container:{target[:12]}", busybox,
                  "sleep", "4321")
    host = _inspect(daemon, "pidjoiner")["HostConfig"]
    assert host["PidMode"] == f"container:{target}"  # dockerd stores the target's full ID
    assert host["IpcMode"] == "private" and host["UTSMode"] == ""
    exec_ps = daemon.docker("exec", "pidjoiner", "ps", "-o", "pid,args").stdout
    assert any(line.split()[:3] == ["1", "sleep", "1234"] for line in exec_ps.splitlines()), exec_ps
    top = daemon.docker("top", "pidjoiner").stdout
    assert "sleep 4321" in top and "sleep 1234" not in top
    owner_top = daemon.docker("top", "pidowner").stdout
    assert "sleep 1234" in owner_top and "sleep 4321" not in owner_top
    assert daemon.docker("stats", "--no-stream", "--format", "{{.PIDs}}", "pidjoiner").stdout.strip() == "1"
    assert daemon.docker("stats", "--no-stream", "--format", "{{.PIDs}}", "pidowner").stdout.strip() == "1"
    daemon.docker("kill", "pidjoiner")
    assert _inspect(daemon, "pidjoiner")["State"]["ExitCode"] == 137
    assert _inspect(daemon, "pidowner")["State"]["Running"] is True

    daemon.docker("pause", "pidowner")  # paused still counts as running for dockerd
    assert daemon.docker("run", "--rm", "--pid", "container:pidowner", busybox, "true").returncode == 0
    daemon.docker("unpause", "pidowner")
    daemon.docker("create", "--name", "netjoiner", "--network", "container:pidowner", busybox)
    assert _inspect(daemon, "netjoiner")["HostConfig"]["NetworkMode"] == f"container:{target}"


def test_removing_the_pid_target_ends_the_joiner(daemon: Daemon, busybox: str) -> None:
    """As with dockerd, the target may be removed; its PID namespace ends and the joiner with it."""
    daemon.docker("run", "-d", "--name", "doomed", busybox, "sleep", "1000")
    daemon.docker("run", "-d", "--name", "rider", "--pid", "container:doomed", busybox, "sleep", "1000")
    daemon.docker("rm", "-f", "doomed")
    waited = daemon.docker("wait", "rider", timeout=20).stdout.strip()
    assert waited == "137"


def test_ipc_container_shares_the_namespace_and_dev_shm(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "shmowner", "--ipc", "shareable", busybox, "sh", "-c",
                  "echo owner > /dev/shm/token; exec sleep 1000")
    assert _inspect(daemon, "shmowner")["HostConfig"]["IpcMode"] == "shareable"
    owner_ns = daemon.docker("exec", "shmowner", "readlink", "/proc/self/ns/ipc").stdout.strip()
    joined = daemon.docker("run", "--rm", "--ipc", "container:shmowner", busybox, "sh", "-c",
                           "readlink /proc/self/ns/ipc; cat /dev/shm/token; echo joiner > /dev/shm/back"
                           ).stdout.splitlines()
    assert joined == [owner_ns, "owner"]
    assert daemon.docker("exec", "shmowner", "cat", "/dev/shm/back").stdout == "joiner\n"
    own = daemon.docker("run", "--rm", busybox, "readlink", "/proc/self/ns/ipc").stdout.strip()
    assert own != owner_ns


def test_ipc_container_of_a_private_container_is_refused(daemon: Daemon, busybox: str) -> None:
    """dockerd's default IPC mode is private, and a private donor is not shareable."""
    target = daemon.docker("run", "-d", "--name", "private-ipc", busybox, "sleep", "1000").stdout.strip()
    refused = daemon.docker("run", "--rm", "--ipc", "container:private-ipc", busybox, "true", check=False)
    assert refused.returncode == 125
    assert (f"failed to join IPC namespace: container {target}: non-shareable IPC (hint: use "
            "IpcMode:shareable for the donor container)") in refused.stderr


def test_host_modes(daemon: Daemon, busybox: str) -> None:
    done = daemon.docker("run", "--rm", "--pid", "host", "--uts", "host", "--ipc", "host", busybox, "sh", "-c",
                         "for n in pid uts ipc; do readlink /proc/self/ns/$n; done; hostname").stdout
    me = os.getpid()
    assert done.splitlines() == [os.readlink(f"/proc/{me}/ns/{n}") for n in ("pid", "uts", "ipc")] \
        + [socket.gethostname()]
    daemon.docker("run", "-d", "--name", "hostipc", "--ipc", "host", busybox, "sleep", "1000")
    joined = daemon.docker("run", "--rm", "--ipc", "container:hostipc", busybox, "readlink",
                           "/proc/self/ns/ipc").stdout.strip()
    assert joined == os.readlink(f"/proc/{me}/ns/ipc")  # a host-IPC donor is shareable, as in dockerd
    daemon.docker("create", "--name", "hosty", "--pid", "host", "--uts", "host", "--ipc", "host", busybox)
    host = _inspect(daemon, "hosty")["HostConfig"]
    assert (host["PidMode"], host["UTSMode"], host["IpcMode"]) == ("host", "host", "host")


def test_ipc_none_has_no_dev_shm(daemon: Daemon, busybox: str) -> None:
    done = daemon.docker("run", "--rm", "--ipc", "none", busybox, "sh", "-c",
                         "grep -q ' /dev/shm ' /proc/self/mountinfo && echo mounted || echo absent").stdout
    assert done == "absent\n"


def test_a_stopped_or_missing_target_is_refused_clearly(daemon: Daemon, busybox: str) -> None:
    stopped = daemon.docker("create", "--name", "idle", busybox, "true").stdout.strip()
    refused = daemon.docker("run", "--rm", "--pid", "container:idle", busybox, "true", check=False)
    assert refused.returncode == 125
    assert f"failed to join PID namespace: container {stopped} is not running" in refused.stderr
    missing = daemon.docker("run", "--rm", "--pid", "container:nosuch", busybox, "true", check=False)
    assert missing.returncode == 125
    assert "No such container: nosuch" in missing.stderr
    assert "Unable to find image" not in missing.stderr  # a 400, not a 404 the CLI would pull on
    bad = daemon.docker("create", "--ipc", "bogus", busybox, check=False)
    assert bad.returncode != 0 and "invalid IPC mode: bogus" in bad.stderr


def test_uts_container_through_the_api(daemon: Daemon, busybox: str) -> None:
    """``UTSMode: container:<id>`` is a Wharf extension the docker CLI cannot send (it accepts only
    ``host``): the raw API joins the target's UTS namespace and its hostname."""
    target = daemon.docker("run", "-d", "--name", "utsowner", "--hostname", "alpha-host", busybox,
                           "sleep", "1000").stdout.strip()
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(daemon.socket)), base_url="http://wharf",
                      timeout=30) as api:
        created = api.post("/v1.50/containers/create", params={"name": "utsjoiner"},
                           json={"Image": busybox, "Cmd": ["hostname"],
                                 "HostConfig": {"UTSMode": "container:utsowner"}})
        assert created.status_code == 201, created.text
        assert api.post("/v1.50/containers/utsjoiner/start").status_code == 204
        assert api.post("/v1.50/containers/utsjoiner/wait").json()["StatusCode"] == 0
        conflict = api.post("/v1.50/containers/create",
                            json={"Image": busybox, "Hostname": "mine",
                                  "HostConfig": {"UTSMode": "container:utsowner"}})
        assert conflict.status_code == 400
        assert "conflicting options: hostname and the UTS mode" in conflict.json()["message"]
    assert daemon.docker("logs", "utsjoiner").stdout == "alpha-host\n"
    assert _inspect(daemon, "utsjoiner")["HostConfig"]["UTSMode"] == f"container:{target}"
