"""What tests leave behind on the machine: mounts, cgroups, links, namespaces, rules, processes.

:func:`take_snapshot` records the machine's state; :func:`leaks_since`
compares a later state with it and names everything that is new. The test
session takes one snapshot at its start and one at its end, after every
fixture has been torn down.

Processes are counted as the session's own when their environment carries
the session's marker (``WHARF_TEST_SESSION``), which every process a test
starts inherits; container processes, which get their own environment, are
caught through the cgroups they live in.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
LINK_PATTERN = re.compile(r"^(wh|veth|wharf)")
CGROUP_PATTERN = re.compile(r"^(wharf|wh)")
SESSION_VARIABLE = "WHARF_TEST_SESSION"


@dataclass(frozen=True)
class Snapshot:
    """The parts of the machine's state that tests may leak."""

    mounts: frozenset[str]
    cgroups: frozenset[str]
    links: frozenset[str]
    netns: frozenset[str]
    rules: frozenset[str]
    processes: frozenset[int]


def _mount_points() -> frozenset[str]:
    points = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.add(fields[4].replace("\\040", " "))
    return frozenset(points)


def _cgroups() -> frozenset[str]:
    found = set()
    if not CGROUP_ROOT.is_dir():
        return frozenset()
    hierarchies = [CGROUP_ROOT] + [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink()]
    for hierarchy in hierarchies:
        try:
            for child in hierarchy.iterdir():
                if child.is_dir() and CGROUP_PATTERN.match(child.name):
                    found.add(str(child))
                    found.update(str(p) for p in child.rglob("*") if p.is_dir())
        except OSError:
            continue
    return frozenset(found)


def _links() -> frozenset[str]:
    names = set()
    for entry in Path("/sys/class/net").iterdir():
        if LINK_PATTERN.match(entry.name):
            names.add(entry.name)
    return frozenset(names)


def _netns() -> frozenset[str]:
    run_netns = Path("/run/netns")
    return frozenset(p.name for p in run_netns.iterdir()) if run_netns.is_dir() else frozenset()


def _rules() -> frozenset[str]:
    try:
        out = subprocess.run(["iptables-save"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(line for line in out.splitlines() if "WHARF" in line.upper())


def _session_processes(marker: str) -> frozenset[int]:
    needle = f"{SESSION_VARIABLE}={marker}".encode()
    mine = {os.getpid(), os.getppid()}
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.add(int(entry.name))
    return frozenset(found)


def take_snapshot(marker: str) -> Snapshot:
    """The machine's state now; ``marker`` is the session's ``WHARF_TEST_SESSION`` value."""
    return Snapshot(_mount_points(), _cgroups(), _links(), _netns(), _rules(),
                    _session_processes(marker))


def remove_empty_parents(before: Snapshot) -> None:
    """Remove the engine's ``wharf`` parent cgroups the session created, once they are empty
    (an engine keeps its parent; a test session leaves the machine as it found it)."""
    if not CGROUP_ROOT.is_dir():
        return
    for hierarchy in [CGROUP_ROOT, *(p for p in CGROUP_ROOT.iterdir() if p.is_dir() and not p.is_symlink())]:
        parent = hierarchy / "wharf"
        if str(parent) in before.cgroups or not parent.is_dir():
            continue
        try:
            if not any(child.is_dir() for child in parent.iterdir()):
                parent.rmdir()
        except OSError:
            continue


def leaks_since(before: Snapshot, after: Snapshot) -> list[str]:
    """One line for each thing present in ``after`` that ``before`` did not have."""
    lines = []
    for kind in ("mounts", "cgroups", "links", "netns", "rules", "processes"):
        new = sorted(getattr(after, kind) - getattr(before, kind), key=str)
        for item in new:
            detail = item
            if kind == "processes":
                try:
                    cmdline = Path(f"/proc/{item}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    cmdline = "?"
                detail = f"{item} {cmdline.strip()}"
            lines.append(f"{kind}: {detail}")
    return lines
