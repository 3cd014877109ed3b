"""The exec driver's typed specs: what a container's processes, mounts and limits are.

These dataclasses are the contract between the containers layer (which maps
Docker's JSON onto them) and the runtime. They serialise to plain JSON with
:func:`spec_to_dict` / :func:`spec_from_dict`, which is how they travel to the
launcher and the shim and how they are kept in the container's state folder.
"""

from __future__ import annotations

import dataclasses
import re
import resource
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InvalidSpec

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""Docker's default ``PATH`` for containers whose image sets none."""

DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)
"""Docker's 14 default capabilities (``moby daemon/pkg/oci/caps/defaults.go``)."""

DEFAULT_MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
    "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
)
"""Docker's masked paths; each existing ``cpuN/thermal_throttle`` is added at mount time."""

DEFAULT_READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)
"""Docker's read-only paths."""

TINI_HOST_PATH = "/usr/bin/tini-static"
"""The static tini bound at :data:`INIT_PATH` when :attr:`RuntimeSpec.init` is set."""

INIT_PATH = "/sbin/docker-init"
"""Where the ``--init`` binary appears inside the container."""

RLIMIT_NAMES = {name[len("RLIMIT_"):].lower(): getattr(resource, name)
                for name in dir(resource) if name.startswith("RLIMIT_")}
"""Rlimit names as Docker writes them (``nofile``, ``nproc``, …) → ``resource`` constants."""

_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")


@dataclass
class Rlimit:
    """One resource limit, e.g. ``Rlimit("nofile", 1024, 1024)``."""

    name: str
    soft: int
    hard: int


@dataclass
class ProcessSpec:
    """A process to run in a container: its init command or an exec.

    Attributes:
        args: argv; ``args[0]`` is looked up in the container's ``PATH`` if it has no ``/``.
        env: ``KEY=value`` strings (later keys win); ``PATH`` defaults to :data:`DEFAULT_PATH`,
            ``HOME`` to the user's home from the container's ``/etc/passwd``.
        cwd: working directory inside the container, created if missing.
        user: ``name``, ``uid``, ``uid:gid``, ``name:group`` (resolved in the container's
            own ``/etc/passwd`` and ``/etc/group``); empty means root.
        additional_groups: extra groups (names or gids), Docker's ``--group-add``.
        tty: give the process a pseudo-terminal from the container's own devpts.
        open_stdin: keep a stdin the shim can write to (Docker ``-i``).
        rlimits: resource limits; values above the engine's own hard limit are clamped.
        no_new_privileges: set ``PR_SET_NO_NEW_PRIVS`` (Docker default off).
        capabilities: the bounding = effective = permitted set; inheritable and ambient stay empty.
        seccomp: apply Docker's default seccomp profile.
        console_size: initial ``(rows, cols)`` of the tty.
    """

    args: list[str]
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    user: str = ""
    additional_groups: list[str] = field(default_factory=list)
    tty: bool = False
    open_stdin: bool = False
    rlimits: list[Rlimit] = field(default_factory=list)
    no_new_privileges: bool = False
    capabilities: list[str] = field(default_factory=lambda: list(DEFAULT_CAPABILITIES))
    seccomp: bool = True
    console_size: tuple[int, int] | None = None


@dataclass
class MountSpec:
    """One mount inside the container.

    Attributes:
        destination: absolute path inside the container (resolved confined to the rootfs).
        type: ``bind``, ``tmpfs``, or another filesystem type.
        source: host path for ``bind``; ignored for ``tmpfs``.
        readonly: mount read-only.
        options: extra mount data, e.g. ``["size=64m", "mode=1777"]`` for tmpfs.
        propagation: ``rprivate`` (default), ``rslave``, ``rshared``, ``private``, …
        recursive: ``MS_REC`` for binds (Docker default true).
    """

    destination: str
    type: str = "bind"
    source: str = ""
    readonly: bool = False
    options: list[str] = field(default_factory=list)
    propagation: str = "rprivate"
    recursive: bool = True


@dataclass
class ResourceSpec:
    """cgroup limits. ``None`` or 0 means unlimited / kernel default.

    Attributes:
        memory: bytes (``--memory``).
        memory_swap: memory + swap in bytes; ``None`` → 2 × memory as Docker; -1 → unlimited.
        memory_reservation: soft limit in bytes.
        cpu_quota: microseconds per period (``--cpus N`` → N × 100000).
        cpu_period: microseconds (default 100000 when a quota is set).
        cpu_shares: relative weight (v1 2..262144; converted to v2 weight).
        cpuset_cpus: e.g. ``"0-1"``; empty copies the parent's.
        cpuset_mems: e.g. ``"0"``; empty copies the parent's.
        pids_limit: maximum number of tasks.
    """

    memory: int | None = None
    memory_swap: int | None = None
    memory_reservation: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int | None = None

    @staticmethod
    def from_cpus(cpus: float) -> tuple[int, int]:
        """Docker's ``--cpus``: returns ``(quota, period)``."""
        return int(round(cpus * 100000)), 100000


@dataclass
class NamespaceSpec:
    """Which namespaces the container gets.

    Attributes:
        pid, mnt, uts, ipc, cgroup: new namespace when true; when false, the one named
            in :attr:`join`, else the host's.
        net: ``"new"`` (a fresh, empty netns), ``"host"``, or a path to join
            (``/proc/<pid>/ns/net`` of another container, or ``/run/netns/x``).
        join: ``pid``, ``ipc`` or ``uts`` → ``[host PID, start time]`` of a process
            (another container's init) whose namespace to join; the start time
            (``/proc/<pid>/stat`` field 22) makes a recycled PID fail, not join.
        shm: ``/dev/shm``: ``"private"`` (its own tmpfs), ``"none"`` (not mounted),
            ``"host"`` (the host's, with ``--ipc host``) or ``"join"`` (the IPC
            donor's in :attr:`join`).
    """

    pid: bool = True
    mnt: bool = True
    uts: bool = True
    ipc: bool = True
    cgroup: bool = True
    net: str = "new"
    join: dict[str, list[int]] = field(default_factory=dict)
    shm: str = "private"


@dataclass
class LogSpec:
    """json-file logging options: ``max_size`` bytes per file (0: no rotation), ``max_file``."""

    max_size: int = 0
    max_file: int = 1


@dataclass
class RuntimeSpec:
    """Everything the runtime needs to create one container.

    Attributes:
        id: the container's ID (also its cgroup and state folder name).
        rootfs: the already mounted root filesystem (the graph driver's ``merged``).
        process: the container's main process.
        hostname: set in the new UTS namespace.
        mounts: binds, tmpfs and others, applied in order after the defaults.
        shm_size: bytes for ``/dev/shm`` (Docker default 64 MiB).
        resources: cgroup limits.
        namespaces: namespace configuration.
        readonly_rootfs: remount ``/`` read-only at the end of setup.
        masked_paths: paths hidden behind ``/dev/null`` or an empty read-only tmpfs.
        readonly_paths: paths made read-only.
        privileged: all capabilities, no seccomp, no masks, rw ``/sys``.
        etc_files: ``{"/etc/hosts": host path, …}`` bound into the container.
        init: bind tini at :data:`INIT_PATH` and prepend it to the command.
        log: json-file options.
        sysctls: written in the container's namespaces before ``/proc/sys`` turns read-only.
        oom_score_adj: the container's ``oom_score_adj`` (the shim itself runs at -999).
    """

    id: str
    rootfs: str
    process: ProcessSpec
    hostname: str = ""
    mounts: list[MountSpec] = field(default_factory=list)
    shm_size: int = 64 * 1024 * 1024
    resources: ResourceSpec = field(default_factory=ResourceSpec)
    namespaces: NamespaceSpec = field(default_factory=NamespaceSpec)
    readonly_rootfs: bool = False
    masked_paths: list[str] = field(default_factory=lambda: list(DEFAULT_MASKED_PATHS))
    readonly_paths: list[str] = field(default_factory=lambda: list(DEFAULT_READONLY_PATHS))
    privileged: bool = False
    etc_files: dict[str, str] = field(default_factory=dict)
    init: bool = False
    log: LogSpec = field(default_factory=LogSpec)
    sysctls: dict[str, str] = field(default_factory=dict)
    oom_score_adj: int = 0

    def validate(self) -> None:
        """Raise :class:`InvalidSpec` for what can be checked before any process starts."""
        if not _ID.match(self.id):
            raise InvalidSpec(f"invalid container id {self.id!r}")
        if not Path(self.rootfs).is_dir():
            raise InvalidSpec(f"rootfs {self.rootfs} is not a directory")
        if not self.process.args:
            raise InvalidSpec("no command given: the process needs at least one argument")
        for mount in self.mounts:
            if not mount.destination.startswith("/"):
                raise InvalidSpec(f"mount destination {mount.destination!r} is not absolute")
            if mount.type == "bind" and not Path(mount.source).exists():
                raise InvalidSpec(f"bind source path does not exist: {mount.source}")
        for dest, src in self.etc_files.items():
            if not Path(src).is_file():
                raise InvalidSpec(f"file for {dest} does not exist: {src}")
        if self.init and not Path(TINI_HOST_PATH).is_file():
            raise InvalidSpec(f"--init needs {TINI_HOST_PATH} on the host")
        for limit in self.process.rlimits:
            if limit.name.lower().removeprefix("rlimit_") not in RLIMIT_NAMES:
                raise InvalidSpec(f"unknown rlimit {limit.name!r}")
        ns = self.namespaces
        for kind, target in ns.join.items():
            if kind not in ("pid", "ipc", "uts") or getattr(ns, kind):
                raise InvalidSpec(f"cannot join a {kind} namespace here: only pid, ipc and uts "
                                  "namespaces are joined, and only when not created new")
            if len(target) != 2 or int(target[0]) <= 0 or int(target[1]) <= 0:
                raise InvalidSpec(f"the {kind} namespace to join needs [pid, start time]")
        if ns.shm not in ("private", "none", "host", "join") or (ns.shm == "join"
                                                                 and "ipc" not in ns.join):
            raise InvalidSpec(f"invalid /dev/shm mode {ns.shm!r}")


def clamp_rlimits(process: ProcessSpec) -> list[str]:
    """Lower rlimits above the engine's own hard limits (raising them is refused).

    Returns:
        One warning sentence per clamped limit; ``process`` is changed in place.
    """
    warnings = []
    for limit in process.rlimits:
        key = RLIMIT_NAMES[limit.name.lower().removeprefix("rlimit_")]
        _soft, hard = resource.getrlimit(key)
        if hard == resource.RLIM_INFINITY:
            continue
        for attr in ("soft", "hard"):
            value = getattr(limit, attr)
            if value < 0 or value > hard:
                warnings.append(f"rlimit {limit.name} {attr} {value} is above the engine's "
                                f"hard limit {hard}; clamped to {hard}")
                setattr(limit, attr, hard)
    return warnings


def spec_to_dict(spec: Any) -> dict[str, Any]:
    """A spec dataclass as plain JSON-able data."""
    return dataclasses.asdict(spec)


def _build(cls: type, data: dict[str, Any]) -> Any:
    """``cls(**data)``, ignoring keys the dataclass does not have (older or newer state files)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})


def process_from_dict(data: dict[str, Any]) -> ProcessSpec:
    """A :class:`ProcessSpec` from :func:`spec_to_dict` output."""
    proc = _build(ProcessSpec, data)
    proc.rlimits = [Rlimit(**r) if isinstance(r, dict) else r for r in proc.rlimits]
    if proc.console_size is not None:
        proc.console_size = tuple(proc.console_size)
    return proc


def spec_from_dict(data: dict[str, Any]) -> RuntimeSpec:
    """A :class:`RuntimeSpec` from :func:`spec_to_dict` output."""
    spec = _build(RuntimeSpec, data)
    spec.process = process_from_dict(data["process"])
    spec.mounts = [_build(MountSpec, m) for m in data.get("mounts", [])]
    spec.resources = _build(ResourceSpec, data.get("resources", {}))
    spec.namespaces = _build(NamespaceSpec, data.get("namespaces", {}))
    spec.log = _build(LogSpec, data.get("log", {}))
    return spec
