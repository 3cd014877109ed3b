"""100 create/start/remove cycles leave the machine as it was: no mount, cgroup, link, rule, folder, process."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from compat.conftest import Daemon

CYCLES = 100


def _mounts() -> set[str]:
    return {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}


def _cgroups() -> set[str]:
    found = set()
    for base in (Path("/sys/fs/cgroup"), *Path("/sys/fs/cgroup").glob("*")):
        wharf = base / "wharf"
        if wharf.is_dir():
            found |= {str(p) for p in wharf.iterdir() if p.is_dir()}
    return found


def _links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def _rules() -> set[str]:
    done = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False)
    return {line for line in done.stdout.splitlines() if line.startswith("-A")}


def _processes() -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
    return found


def _children_of(pid: int) -> set[int]:
    """Every process below ``pid`` (its launcher, shims that stayed attached, containers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    below, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return below


def _snapshot(daemon: Daemon) -> dict[str, object]:
    root = str(daemon.root)
    return {
        "mounts under the root": {m for m in _mounts() if m.startswith(root)},
        "cgroups": _cgroups(),
        "links": _links(),
        "rules": _rules(),
        "container folders": set(os.listdir(daemon.root / "containers")) if (daemon.root / "containers").exists() else set(),
        "volumes": set(os.listdir(daemon.root / "volumes")) if (daemon.root / "volumes").exists() else set(),
        "processes below the daemon": _children_of(daemon.process.pid),
        "netns": set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set(),
        "daemon fds": set(os.listdir(f"/proc/{daemon.process.pid}/fd")),
    }


def test_a_hundred_cycles_leave_nothing_behind(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "--rm", busybox, "true")  # the default bridge exists from now on
    before = _snapshot(daemon)
    ids = []
    for index in range(CYCLES):
        network = ("bridge", "none")[index % 2]
        extra = ["-v", "/data"] if index % 10 == 0 else []
        if index % 4 == 3:  # docker run --rm: the engine removes it itself
            cid = daemon.docker("run", "-d", "--rm", "--network", network, busybox, "true").stdout.strip()
            daemon.docker("wait", cid, check=False)
        else:
            cid = daemon.docker("create", "--network", network, *extra, busybox, "sh", "-c",
                                "echo $HOSTNAME").stdout.strip()
            daemon.docker("start", "-a", cid)
            daemon.docker("stats", "--no-stream", cid) if index % 10 == 5 else None
            daemon.docker("rm", "-v", cid)
        ids.append(cid)
    deadline = time.monotonic() + 10
    while daemon.docker("ps", "-aq").stdout and time.monotonic() < deadline:
        time.sleep(0.1)  # the last --rm ones are still being removed
    after = _snapshot(daemon)
    mine = {i[:10] for i in ids}
    leaks = {}
    for key, was in before.items():
        now = after[key]
        new = now - was  # type: ignore[operator]
        if key in ("cgroups", "links", "rules"):  # other engines may run on this machine: only ours count
            new = {item for item in new if any(short in str(item) for short in mine)}
        if key == "daemon fds" and len(new) <= 3:  # a few come and go (connections, pools)
            continue
        if key == "processes below the daemon":
            new = {f"{pid} {_processes().get(pid, '?')}" for pid in new}
        if new:
            leaks[key] = sorted(map(str, new))[:10]
    assert not leaks, json.dumps(leaks, indent=1)
    assert daemon.docker("ps", "-aq").stdout == ""
