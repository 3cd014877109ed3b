"""Facts about the host the engine runs on: kernel, OS release, CPUs, memory, cgroups, engine ID.

Everything here is read from the real host (``/proc``, ``/etc/os-release``,
``/sys/fs/cgroup``) when asked. :func:`host_info` gives the host's part of
``docker info`` with zero counts; the full engine
(:class:`engine.service.system.SystemService`) and the system-only backend
(:class:`engine.api.system_backend.SystemOnlyBackend`) fill in the rest.
"""

from __future__ import annotations

import os
import platform
import socket
import uuid

from engine.model import SystemInfo, VersionInfo
from engine.version import API_VERSION, MIN_API_VERSION, __version__

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def go_arch() -> str:
    """The host architecture in Docker's (Go's) words: ``amd64``, ``arm64`` …"""
    machine = platform.machine()
    return _ARCH.get(machine, machine)


def os_release() -> tuple[str, str]:
    """``(PRETTY_NAME, VERSION_ID)`` from ``/etc/os-release`` (``("Linux", "")`` without one)."""
    fields: dict[str, str] = {}
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.strip().partition("=")
                fields[key] = value.strip('"')
    except OSError:
        pass
    return fields.get("PRETTY_NAME", "Linux"), fields.get("VERSION_ID", "")


def mem_total() -> int:
    """The host's memory in bytes (``MemTotal`` of ``/proc/meminfo``), 0 if unreadable."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def cgroup_version() -> str:
    """``"2"`` on a unified cgroup hierarchy, else ``"1"``."""
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def engine_id(root: str) -> str:
    """A stable ID for this state root (kept in ``<root>/engine-id``, made on first use)."""
    path = os.path.join(root, "engine-id")
    try:
        with open(path, encoding="ascii") as handle:
            value = handle.read().strip()
            if value:
                return value
    except OSError:
        pass
    value = str(uuid.uuid4())
    try:
        os.makedirs(root, exist_ok=True)
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError:
        pass
    return value


def version_info() -> VersionInfo:
    """This engine's versions and the host's kernel and architecture."""
    return VersionInfo(
        version=__version__, api_version=API_VERSION, min_api_version=MIN_API_VERSION,
        git_commit="wharf", runtime_version=f"python{platform.python_version()}", os="linux",
        arch=go_arch(), kernel_version=platform.release())


def host_info(root: str, engine_id: str) -> SystemInfo:
    """The host's part of ``docker info``: no containers or images counted, no warnings.

    Args:
        root: the state root (``DockerRootDir``).
        engine_id: the root's ID (see :func:`engine_id`).
    """
    name, os_version = os_release()
    cgroup = cgroup_version()
    return SystemInfo(
        id=engine_id, name=socket.gethostname(), server_version=__version__,
        containers=0, containers_running=0, containers_paused=0, containers_stopped=0, images=0,
        driver="overlay2", driver_status=[("Backing Filesystem", "")], root_dir=root,
        ncpu=os.cpu_count() or 1, mem_total=mem_total(), operating_system=name, os_version=os_version,
        kernel_version=platform.release(), architecture=platform.machine(),
        cgroup_driver="cgroupfs", cgroup_version=cgroup,
        security_options=["name=seccomp,profile=builtin"] + (["name=cgroupns"] if cgroup == "2" else []),
        runtimes=["wharf"], default_runtime="wharf")
