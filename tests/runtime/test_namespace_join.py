"""Joining another container's PID, IPC and UTS namespaces (``--pid/--ipc/--uts container:``) and
using the host's, through the real runtime: setns on a pinned ``/proc/<pid>``, the donor's
``/dev/shm``, leftovers killed when a joiner without its own PID namespace ends."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from runtime.rthelpers import logs, make_spec, run

from engine.errors import RuntimeFailure
from engine.runtime.runtime import Runtime
from engine.runtime.spec import NamespaceSpec
from engine.runtime.statefiles import start_time


def _wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _donor(runtime: Runtime, rootfs: Path, *args: str, hostname: str = "donor") -> tuple[str, list[int]]:
    """Start a long-running container; its ID and the ``[pid, start time]`` a joiner names."""
    spec = make_spec(rootfs, *args, hostname=hostname)
    runtime.create(spec)
    runtime.start(spec.id)
    pid = runtime.state(spec.id).pid
    started = start_time(pid)
    assert started is not None
    return spec.id, [pid, started]


def _ns(pid: int, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def test_pid_join_sees_the_donors_processes(runtime: Runtime, rootfs: Path) -> None:
    """A joiner's ps lists the donor's processes; the donor's init is PID 1 for both."""
    donor, target = _donor(runtime, rootfs, "sh", "-c", "exec sleep 1234")
    joiner = make_spec(rootfs, "sh", "-c", "ps -o pid,args; readlink /proc/self/ns/pid",
                       namespaces=NamespaceSpec(pid=False, join={"pid": target}))
    code, out, err, _ = run(runtime, joiner)
    assert code == 0, err
    lines = out.splitlines()
    assert any(line.split()[:3] == ["1", "sleep", "1234"] for line in lines), out
    assert lines[-1] == _ns(target[0], "pid")
    assert runtime.state(donor).status == "running"


def test_uts_join_sees_the_donors_hostname(runtime: Runtime, rootfs: Path) -> None:
    """The joiner's hostname is the donor's (its own is not set over it)."""
    _donor_id, target = _donor(runtime, rootfs, "sleep", "1000", hostname="alpha-host")
    joiner = make_spec(rootfs, "sh", "-c", "hostname; readlink /proc/self/ns/uts", hostname="",
                       namespaces=NamespaceSpec(uts=False, join={"uts": target}))
    code, out, err, _ = run(runtime, joiner)
    assert code == 0, err
    assert out.splitlines() == ["alpha-host", _ns(target[0], "uts")]


def test_ipc_join_shares_the_namespace_and_dev_shm(runtime: Runtime, rootfs: Path) -> None:
    """Same IPC namespace inode, and the donor's /dev/shm: a file written by one is read by the other."""
    donor, target = _donor(runtime, rootfs, "sh", "-c",
                           "echo from-donor > /dev/shm/token; while [ ! -e /dev/shm/back ]; do "
                           "sleep 0.05; done; cat /dev/shm/back")
    assert _wait_for(lambda: _donor_has_token(target[0]))
    joiner = make_spec(rootfs, "sh", "-c", "readlink /proc/self/ns/ipc; cat /dev/shm/token; "
                       "echo from-joiner > /dev/shm/back",
                       namespaces=NamespaceSpec(ipc=False, join={"ipc": target}, shm="join"))
    code, out, err, _ = run(runtime, joiner)
    assert code == 0, err
    assert out.splitlines() == [_ns(target[0], "ipc"), "from-donor"]
    final = runtime.wait(donor, timeout=10)
    assert final.status == "stopped" and final.exit_code == 0
    assert logs(runtime, donor)[0] == "from-joiner\n"


def _donor_has_token(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/root/dev/shm/token").exists()
    except OSError:
        return False


def test_host_namespaces(runtime: Runtime, rootfs: Path) -> None:
    """--pid host, --uts host, --ipc host: the host's namespaces, the host's /dev/shm."""
    spec = make_spec(rootfs, "sh", "-c", "for n in pid uts ipc; do readlink /proc/self/ns/$n; done; "
                     "hostname; ps -o pid | grep -qx ' *1' && echo sees-pid1",
                     hostname="", namespaces=NamespaceSpec(pid=False, uts=False, ipc=False, shm="host"))
    code, out, err, _ = run(runtime, spec)
    assert code == 0, err
    me = os.getpid()
    assert out.splitlines() == [_ns(me, "pid"), _ns(me, "uts"), _ns(me, "ipc"),
                                socket.gethostname(), "sees-pid1"]


def test_ipc_none_has_no_dev_shm(runtime: Runtime, rootfs: Path) -> None:
    """--ipc none: its own IPC namespace and no /dev/shm mount."""
    spec = make_spec(rootfs, "sh", "-c", "grep -q ' /dev/shm ' /proc/self/mountinfo && echo mounted "
                     "|| echo absent; readlink /proc/self/ns/ipc", namespaces=NamespaceSpec(shm="none"))
    code, out, err, _ = run(runtime, spec)
    assert code == 0, err
    first, ipc = out.splitlines()
    assert first == "absent" and ipc.startswith("ipc:[") and ipc != _ns(os.getpid(), "ipc")


def test_a_recycled_or_dead_target_is_refused(runtime: Runtime, rootfs: Path) -> None:
    """The target is named by PID and start time: a wrong start time fails clearly, joins nothing."""
    _donor_id, (pid, started) = _donor(runtime, rootfs, "sleep", "1000")
    joiner = make_spec(rootfs, "true", namespaces=NamespaceSpec(pid=False, join={"pid": [pid, started + 1]}))
    with pytest.raises(RuntimeFailure, match=f"pid namespace of process {pid}: the process has exited"):
        runtime.create(joiner)


def test_leftovers_of_a_joiner_are_killed_when_its_init_ends(runtime: Runtime, rootfs: Path) -> None:
    """Without a PID namespace of its own, the joiner's orphans would outlive it: the shim kills its cgroup."""
    donor, target = _donor(runtime, rootfs, "sleep", "1000")
    joiner = make_spec(rootfs, "sh", "-c", "sleep 4321 >/dev/null 2>&1 & echo started",
                       namespaces=NamespaceSpec(pid=False, join={"pid": target}))
    code, out, _err, _ = run(runtime, joiner)
    assert code == 0 and out == "started\n"
    assert _wait_for(lambda: not runtime.cgroup(joiner.id).pids(), 5), runtime.cgroup(joiner.id).pids()
    runtime.delete(joiner.id)
    assert runtime.state(donor).status == "running"


def test_the_joiner_dies_with_the_donors_pid_namespace(runtime: Runtime, rootfs: Path) -> None:
    """When the donor's PID 1 ends, the kernel kills every process in its PID namespace."""
    donor, target = _donor(runtime, rootfs, "sleep", "1000")
    joiner = make_spec(rootfs, "sleep", "1000", namespaces=NamespaceSpec(pid=False, join={"pid": target}))
    runtime.create(joiner)
    runtime.start(joiner.id)
    runtime.kill(donor, 9)
    state = runtime.wait(joiner.id, timeout=10)
    assert state.status == "stopped" and state.exit_code == 137
