"""A system-only backend: real host facts for ``/version`` and ``/info``, nothing else.

The daemon uses it while the full engine (``engine.engine.Engine``) is not
available: every container, image, network and volume route then answers
501. Everything it reports is read from the real host.
"""

from __future__ import annotations

import os
import platform
import socket
import uuid

from engine.model import DiskUsage, SystemInfo, VersionInfo
from engine.jobs import EventBus
from engine.version import API_VERSION, MIN_API_VERSION, __version__

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def go_arch() -> str:
    """The host architecture in Docker's (Go's) words: ``amd64``, ``arm64`` …"""
    machine = platform.machine()
    return _ARCH.get(machine, machine)


def _os_release() -> tuple[str, str]:
    fields: dict[str, str] = {}
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.strip().partition("=")
                fields[key] = value.strip('"')
    except OSError:
        pass
    return fields.get("PRETTY_NAME", "Linux"), fields.get("VERSION_ID", "")


def _mem_total() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def engine_id(root: str) -> str:
    """A stable ID for this state root (kept in ``<root>/engine-id``)."""
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


class SystemOnlyBackend:
    """Answers the system part of :class:`~engine.api.backend.EngineBackend` from the host.

    Args:
        root: the state root (for ``DockerRootDir`` and the engine ID).
        bus: the event bus the daemon publishes on.
    """

    def __init__(self, root: str, bus: EventBus | None = None) -> None:
        self.root = os.path.abspath(root)
        self.bus = bus or EventBus()
        self._id = engine_id(self.root)

    def version(self) -> VersionInfo:
        """See :meth:`EngineBackend.version`."""
        return version_info()

    def info(self) -> SystemInfo:
        """See :meth:`EngineBackend.info`; no engine, so no containers or images."""
        name, os_version = _os_release()
        cgroup = _cgroup_version()
        return SystemInfo(
            id=self._id, name=socket.gethostname(), server_version=__version__,
            containers=0, containers_running=0, containers_paused=0, containers_stopped=0, images=0,
            driver="overlay2", driver_status=[("Backing Filesystem", "")], root_dir=self.root,
            ncpu=os.cpu_count() or 1, mem_total=_mem_total(), operating_system=name, os_version=os_version,
            kernel_version=platform.release(), architecture=platform.machine(),
            cgroup_driver="cgroupfs", cgroup_version=cgroup,
            security_options=["name=seccomp,profile=builtin"] + (["name=cgroupns"] if cgroup == "2" else []),
            runtimes=["wharf"], default_runtime="wharf",
            warnings=["WARNING: only the system part of the Wharf engine is available in this build"])

    def disk_usage(self) -> DiskUsage:
        """See :meth:`EngineBackend.disk_usage`: nothing stored without an engine."""
        return DiskUsage()
