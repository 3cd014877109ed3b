"""The engine killed with SIGKILL: containers keep running, a new daemon on the same root adopts them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from compat.conftest import Daemon, start_daemon, stop_daemon
from harness.images import TestImages
from harness.registry import Registry


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A daemon folder; whatever daemon runs there at the end is cleaned up."""
    yield tmp_path
    final = tmp_path / "final"
    if (tmp_path / "wharf.sock").exists() or (tmp_path / "root").exists():
        try:
            cleaner = start_daemon(tmp_path)
        except RuntimeError:
            return
        stop_daemon(cleaner)
    del final


def _kill9(daemon: Daemon) -> None:
    os.kill(daemon.process.pid, signal.SIGKILL)
    daemon.process.wait(timeout=10)
    daemon.socket.unlink(missing_ok=True)


def _states(daemon: Daemon) -> dict[str, str]:
    lines = daemon.docker("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.splitlines()
    return dict(line.split(" ", 1) for line in lines)


def test_containers_survive_a_sigkilled_engine_and_are_adopted(workdir: Path, registry: Registry,
                                                                test_images: TestImages) -> None:
    first = start_daemon(workdir)
    reference = test_images.busybox_oci.reference
    first.docker("pull", reference)
    first.docker("run", "-d", "--name", "keeps", reference, "sh", "-c",
                 "trap 'echo bye; exit 0' TERM; echo hello; while true; do sleep 0.1; done")
    first.docker("run", "-d", "--name", "ends", reference, "sh", "-c",
                 "echo started; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo ending; exit 42")
    keeps = json.loads(first.docker("inspect", "keeps").stdout)[0]["State"]["Pid"]
    ends = json.loads(first.docker("inspect", "ends").stdout)[0]["State"]["Pid"]
    time.sleep(0.3)
    _kill9(first)
    # the engine is gone: both containers still run; one of them ends meanwhile
    os.kill(keeps, 0)
    os.kill(ends, 0)
    Path(f"/proc/{ends}/root/tmp/go").touch()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{ends}").exists():
        time.sleep(0.05)
    assert not Path(f"/proc/{ends}").exists() or "Z" in Path(f"/proc/{ends}/stat").read_text().split()[2]

    second = start_daemon(workdir)
    states = _states(second)
    assert states["keeps"].startswith("Up"), states
    assert states["ends"].startswith("Exited (42)"), states
    ended = json.loads(second.docker("inspect", "ends").stdout)[0]["State"]
    assert ended["ExitCode"] == 42 and ended["Status"] == "exited"
    assert second.docker("logs", "ends").stdout == "started\nending\n"
    running = json.loads(second.docker("inspect", "keeps").stdout)[0]["State"]
    assert running["Running"] and running["Pid"] == keeps
    assert second.docker("logs", "keeps").stdout.startswith("hello\n")
    started = time.monotonic()
    second.docker("stop", "keeps")
    assert time.monotonic() - started < 5
    stopped = json.loads(second.docker("inspect", "keeps").stdout)[0]["State"]
    assert stopped["Status"] == "exited" and stopped["ExitCode"] == 0
    assert "bye" in second.docker("logs", "keeps").stdout
    assert not Path(f"/proc/{keeps}").exists()
    stop_daemon(second)


def test_an_engine_killed_during_start_leaves_a_discoverable_container(workdir: Path, registry: Registry,
                                                                       test_images: TestImages) -> None:
    reference = test_images.busybox_oci.reference
    first = start_daemon(workdir)
    first.docker("pull", reference)
    ids = []
    # kill the engine at several points of `docker run -d`: each container it got to create must be
    # listed by the next daemon, and be removable, leaving nothing running
    for delay in (0.02, 0.05, 0.1, 0.2):
        runner = subprocess.Popen(["docker", "-H", first.host, "run", "-d", reference, "sleep", "30"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "DOCKER_CONFIG": str(workdir / "docker-config")})
        time.sleep(delay)
        _kill9(first)
        runner.communicate(timeout=20)
        first = start_daemon(workdir)
        listed = first.docker("ps", "-a", "--format", "{{.ID}} {{.Status}}").stdout.splitlines()
        for line in listed:
            cid, status = line.split(" ", 1)
            assert status.startswith(("Up", "Created", "Exited")), listed
            ids.append(cid)
    # every container on disk is known to the engine
    on_disk = {p.name[:12] for p in (workdir / "root" / "containers").iterdir() if p.is_dir()}
    known = set(first.docker("ps", "-aq").stdout.split())
    assert on_disk <= known, (on_disk, known)
    if known:
        first.docker("rm", "-f", *known)
    assert first.docker("ps", "-aq").stdout == ""
    root = str(workdir / "root")
    left = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if line.split()[4].startswith(root)]
    assert left == [], left  # the half-started ones' root filesystems were unmounted too
    stop_daemon(first)


def test_restart_policies_apply_to_exits_seen_by_a_new_engine(workdir: Path, registry: Registry,
                                                              test_images: TestImages) -> None:
    reference = test_images.busybox_oci.reference
    first = start_daemon(workdir)
    first.docker("pull", reference)
    gate = ("if [ -e /tmp/ran ]; then exec sleep 60; fi; touch /tmp/ran; "  # a second run stays up
            "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 3")
    for name, policy in (("again", "always"), ("quits", "no")):
        first.docker("run", "-d", "--network", "none", "--name", name, "--restart", policy, reference, "sh", "-c", gate)
    first.docker("run", "-d", "--network", "none", "--name", "parked", "--restart", "unless-stopped", reference,
                 "sleep", "60")
    first.docker("stop", "-t", "0", "parked")
    pids = {n: json.loads(first.docker("inspect", n).stdout)[0]["State"]["Pid"] for n in ("again", "quits")}
    _kill9(first)
    for pid in pids.values():
        Path(f"/proc/{pid}/root/tmp/go").touch()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids.values()):
        time.sleep(0.05)
    second = start_daemon(workdir)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _states(second)["again"].startswith("Up"):
        time.sleep(0.1)
    states = _states(second)
    assert states["again"].startswith("Up"), states  # exited while away: restarted by its policy
    assert json.loads(second.docker("inspect", "again").stdout)[0]["RestartCount"] >= 1
    assert states["quits"].startswith("Exited (3)"), states
    assert states["parked"].startswith("Exited"), states  # stopped by the user: stays stopped
    stop_daemon(second)
