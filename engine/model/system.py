"""Versions, host facts, disk usage, login, and the anatomy view."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.model.containers import ContainerInfo
from engine.model.images import ImageInfo
from engine.model.networks import VolumeInfo


@dataclass
class VersionInfo:
    """What ``/version`` reports about the engine and its host."""

    version: str
    api_version: str
    min_api_version: str
    git_commit: str
    runtime_version: str
    """The language runtime, e.g. ``python3.11.7`` (Docker's ``GoVersion``)."""
    os: str
    arch: str
    kernel_version: str
    build_time: str = ""
    experimental: bool = False
    components: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """Extra components (name, version, details), e.g. ``("runc", "1.1.12", {…})``."""


@dataclass
class SystemInfo:
    """What ``/info`` reports. Counts are of this engine's objects."""

    id: str
    name: str
    server_version: str
    containers: int
    containers_running: int
    containers_paused: int
    containers_stopped: int
    images: int
    driver: str
    driver_status: list[tuple[str, str]]
    root_dir: str
    ncpu: int
    mem_total: int
    operating_system: str
    os_version: str
    kernel_version: str
    architecture: str
    cgroup_driver: str
    cgroup_version: str
    logging_driver: str = "json-file"
    security_options: list[str] = field(default_factory=list)
    runtimes: list[str] = field(default_factory=list)
    default_runtime: str = "wharf"
    init_binary: str = ""
    debug: bool = False
    experimental: bool = False
    live_restore: bool = True
    memory_limit: bool = True
    swap_limit: bool = False
    pids_limit: bool = True
    ipv4_forwarding: bool = True
    http_proxy: str = ""
    https_proxy: str = ""
    no_proxy: str = ""
    labels: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    index_server: str = "https://index.docker.io/v1/"
    system_time: float = 0.0


@dataclass
class DiskUsage:
    """``/system/df``: every image, container and volume with its size."""

    layers_size: int = 0
    images: list[ImageInfo] = field(default_factory=list)
    containers: list[ContainerInfo] = field(default_factory=list)
    volumes: list[VolumeInfo] = field(default_factory=list)


@dataclass
class LoginResult:
    """The answer to ``/auth``."""

    status: str = "Login Succeeded"
    identity_token: str = ""


Anatomy = Mapping[str, Any]
"""Wharf's own JSON for ``/wharf/containers/{id}/anatomy``: namespaces, cgroup,
overlay dirs, veth, shim, … as the engine chooses to show them (JSON-ready)."""
