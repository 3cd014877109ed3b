"""From a container record to the exec driver's :class:`RuntimeSpec`, Docker's way.

Pure mapping plus the few file-system facts it needs (volume folders, the
container's own etc files): Docker's capability arithmetic, memory+swap
defaults, ``--cpus`` to a CFS quota, ulimits, security options, mounts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.model import ContainerCreateSpec
from engine.model import MountSpec as RequestedMount
from engine.containers.records import ContainerRecord
from engine.containers.state import Status
from engine.errors import ContainerNotFound, InvalidSpec, RuntimeFailure
from engine.runtime.spec import (
    DEFAULT_CAPABILITIES,
    DEFAULT_MASKED_PATHS,
    DEFAULT_READONLY_PATHS,
    LogSpec,
    MountSpec,
    NamespaceSpec,
    ProcessSpec,
    ResourceSpec,
    Rlimit,
    RuntimeSpec,
)
from engine.runtime.statefiles import start_time

ALL_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
"""Every capability the kernel knows (``--cap-add ALL``, ``--privileged``)."""

DEFAULT_SHM_SIZE = 64 * 1024 * 1024
"""Docker's ``/dev/shm`` size."""


@dataclass(frozen=True)
class VolumeMount:
    """A requested mount resolved to a host folder: a named volume or a bind."""

    source: str
    destination: str
    read_only: bool
    propagation: str = "rprivate"


def capabilities(cap_add: list[str], cap_drop: list[str], privileged: bool) -> list[str]:
    """Docker's capability set: the 14 defaults, plus ``cap_add``, minus ``cap_drop``.

    ``ALL`` works in either list; names may omit the ``CAP_`` prefix.

    Raises:
        InvalidSpec: an unknown capability name.
    """
    if privileged:
        return list(ALL_CAPABILITIES)

    def normalise(names: list[str]) -> list[str]:
        result = []
        for name in names:
            upper = name.upper()
            if upper == "ALL":
                result.append("ALL")
                continue
            full = upper if upper.startswith("CAP_") else f"CAP_{upper}"
            if full not in ALL_CAPABILITIES:
                raise InvalidSpec(f"unknown capability: {name!r}")
            result.append(full)
        return result

    added, dropped = normalise(cap_add), normalise(cap_drop)
    base = list(ALL_CAPABILITIES) if "ALL" in added else list(DEFAULT_CAPABILITIES)
    if "ALL" in dropped:
        base = []
    for name in added:
        if name != "ALL" and name not in base:
            base.append(name)
    return [name for name in base if name not in dropped]


def resources(record: ContainerRecord) -> ResourceSpec:
    """Cgroup limits with Docker's defaults (memory+swap = 2 × memory when unset)."""
    asked = record.spec.resources
    memory = asked.memory or None
    swap = asked.memory_swap or None
    if memory and swap is None:
        swap = 2 * memory
    if swap == -1:
        swap = None
    if memory and swap is not None and swap < memory:
        raise InvalidSpec("Minimum memoryswap limit should be larger than memory limit, see usage")
    quota, period = (asked.cpu_quota or None), (asked.cpu_period or None)
    if asked.nano_cpus:
        if quota:
            raise InvalidSpec("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        period = 100_000
        quota = asked.nano_cpus * period // 1_000_000_000
    return ResourceSpec(memory=memory, memory_swap=swap,
                        memory_reservation=asked.memory_reservation or None,
                        cpu_quota=quota, cpu_period=period, cpu_shares=asked.cpu_shares or None,
                        cpuset_cpus=asked.cpuset_cpus, cpuset_mems=asked.cpuset_mems,
                        pids_limit=asked.pids_limit if asked.pids_limit and asked.pids_limit > 0 else None)


def _security(record: ContainerRecord) -> tuple[bool, bool]:
    """(no_new_privileges, seccomp) from ``--security-opt``."""
    no_new_privileges, seccomp = False, not record.spec.privileged
    for option in record.spec.security_opt:
        key, _, value = option.replace(":", "=", 1).partition("=")
        if key == "no-new-privileges":
            no_new_privileges = value in ("", "true")
        elif key == "seccomp":
            if value == "unconfined":
                seccomp = False
            elif value not in ("", "default", "builtin"):
                raise InvalidSpec(f"seccomp profile {value!r} is not supported: use the default or unconfined")
        elif key in ("label", "apparmor"):
            continue  # no LSM on Wharf's hosts: accepted and ignored, as Docker does without one
        else:
            raise InvalidSpec(f"invalid --security-opt: {option!r}")
    return no_new_privileges, seccomp


def _log(record: ContainerRecord) -> LogSpec:
    options = record.spec.log_options
    size = options.get("max-size", "")
    files = options.get("max-file", "1")
    try:
        max_file = int(files)
    except ValueError:
        raise InvalidSpec(f"invalid max-file log option {files!r}") from None
    return LogSpec(max_size=parse_size(size) if size else 0, max_file=max(1, max_file))


def parse_size(text: str) -> int:
    """``"10m"`` → 10485760, as Docker reads sizes (``b k m g``, powers of 1024).

    Raises:
        InvalidSpec: not a size.
    """
    units = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
    value = text.strip().lower()
    number = value.rstrip("bkmg")
    unit = value[len(number):]
    try:
        return int(float(number) * units[unit])
    except (ValueError, KeyError):
        raise InvalidSpec(f"invalid size: {text!r}") from None


def _mounts(record: ContainerRecord, volumes: list[VolumeMount]) -> list[MountSpec]:
    mounts = [MountSpec(destination=v.destination, type="bind", source=v.source, readonly=v.read_only,
                        propagation=v.propagation or "rprivate") for v in volumes]
    for requested in record.spec.mounts:
        if requested.type == "tmpfs":
            mounts.append(MountSpec(destination=requested.target, type="tmpfs", source="tmpfs",
                                    readonly=requested.read_only,
                                    options=["nosuid", "nodev", "noexec", *requested.options]))
    return mounts


_NAMESPACE_MODES = (("pid_mode", "PID", ("", "host")),
                    ("ipc_mode", "IPC", ("", "none", "private", "shareable", "host")),
                    ("uts_mode", "UTS", ("", "host")))
"""(create spec field, Docker's name for it, the modes other than ``container:<ref>``)."""

_SHAREABLE_DONORS = ("shareable", "host")
"""IPC modes whose ``/dev/shm`` another container may join (dockerd's rule)."""

CONTAINER_PREFIX = "container:"
"""How a mode names another container whose namespace is joined (``container:<name|id>``)."""


def check_namespace_modes(spec: ContainerCreateSpec,
                          lookup: Callable[[str], ContainerRecord]) -> None:
    """Validate ``--pid``, ``--ipc`` and ``--uts`` at create, and name targets by full ID.

    As dockerd, ``container:<name>`` is stored as ``container:<id>`` (also for
    ``--network``), so a later rename of the target changes nothing; whether
    the target runs is checked at start. ``--uts container:<ref>`` is a Wharf
    extension (dockerd and the docker CLI accept only ``host`` there).

    Raises:
        InvalidSpec: ``invalid PID mode: …`` and the like, a target that does
            not exist (``No such container: …``, 400 as in dockerd), or a
            hostname with a shared UTS namespace.
    """
    for attr, label, plain in _NAMESPACE_MODES:
        mode = getattr(spec, attr)
        if mode.startswith(CONTAINER_PREFIX) and mode != CONTAINER_PREFIX:
            ref = mode[len(CONTAINER_PREFIX):]
            try:
                setattr(spec, attr, CONTAINER_PREFIX + lookup(ref).id)
            except ContainerNotFound:
                raise InvalidSpec(f"No such container: {ref}") from None
        elif mode not in plain:
            raise InvalidSpec(f"invalid {label} mode: {mode}")
    if spec.hostname and spec.uts_mode:
        raise InvalidSpec("conflicting options: hostname and the UTS mode")
    if spec.network_mode.startswith(CONTAINER_PREFIX):
        try:
            spec.network_mode = CONTAINER_PREFIX + lookup(spec.network_mode[len(CONTAINER_PREFIX):]).id
        except ContainerNotFound:
            pass  # the network check that follows names it


def namespace_joins(record: ContainerRecord,
                    lookup: Callable[[str], ContainerRecord]) -> dict[str, list[int]]:
    """For one start: ``kind`` → ``[host PID, start time]`` of each container whose namespace
    ``record`` joins (``--pid``/``--ipc``/``--uts container:<id>``).

    Raises:
        RuntimeFailure: a target is gone, not running, restarting, or (IPC) not shareable;
            dockerd words these ``failed to join PID namespace: container <id> is not
            running`` and answers 500, as here.
    """
    joins: dict[str, list[int]] = {}
    for attr, label, _plain in _NAMESPACE_MODES:
        mode = getattr(record.spec, attr)
        if not mode.startswith(CONTAINER_PREFIX):
            continue
        ref, failed = mode[len(CONTAINER_PREFIX):], f"failed to join {label} namespace"
        try:
            target = lookup(ref)
        except ContainerNotFound:
            raise RuntimeFailure(f"{failed}: No such container: {ref}") from None
        if target.status == Status.RESTARTING:
            raise RuntimeFailure(f"{failed}: Container {target.id} is restarting, wait until "
                                 "the container is running")
        started = start_time(target.pid) if target.pid else None
        if target.status not in (Status.RUNNING, Status.PAUSED) or started is None:
            raise RuntimeFailure(f"{failed}: container {target.id} is not running")
        if label == "IPC" and not (target.spec.ipc_mode in _SHAREABLE_DONORS
                                   or target.spec.ipc_mode.startswith(CONTAINER_PREFIX)):
            raise RuntimeFailure(f"{failed}: container {target.id}: non-shareable IPC (hint: use "
                                 "IpcMode:shareable for the donor container)")
        joins[label.lower()] = [target.pid, started]
    return joins


def _namespaces(record: ContainerRecord, netns: str, joins: dict[str, list[int]]) -> NamespaceSpec:
    """Docker's modes as the runtime's namespaces: new (private, shareable, none), the host's, or joined."""
    spec = record.spec
    for kind, mode in (("pid", spec.pid_mode), ("ipc", spec.ipc_mode), ("uts", spec.uts_mode)):
        if (mode or "").startswith(CONTAINER_PREFIX) and kind not in joins:
            raise InvalidSpec(f"{kind} mode {mode!r} without the namespace to join")
    if "ipc" in joins:
        shm = "join"
    elif spec.ipc_mode in ("host", "none"):
        shm = spec.ipc_mode
    else:
        shm = "private"
    return NamespaceSpec(pid=not spec.pid_mode, ipc=spec.ipc_mode != "host" and "ipc" not in joins,
                         uts=netns != "host" and not spec.uts_mode, net=netns, join=joins, shm=shm)


def bind_and_volume_requests(record: ContainerRecord) -> list[RequestedMount]:
    """The create request's binds and volumes, in order (tmpfs excluded)."""
    return [m for m in record.spec.mounts if m.type in ("bind", "volume")]


def runtime_spec(record: ContainerRecord, rootfs: str, folder: Path, volumes: list[VolumeMount],
                 netns: str, joins: dict[str, list[int]] | None = None) -> RuntimeSpec:
    """The exec driver's spec for one start of ``record``.

    Args:
        record: the container.
        rootfs: its mounted root filesystem.
        folder: its state folder (holds ``hostname``, ``hosts``, ``resolv.conf``).
        volumes: binds and named volumes resolved to host folders.
        netns: ``"new"``, ``"host"`` or the path of another container's netns.
        joins: the other namespaces to join, from :func:`namespace_joins`.
    """
    spec = record.spec
    no_new_privileges, seccomp = _security(record)
    process = ProcessSpec(
        args=list(record.args), env=list(record.env), cwd=record.workdir or "/", user=record.user,
        additional_groups=list(spec.group_add), tty=spec.tty, open_stdin=spec.open_stdin,
        rlimits=[Rlimit(u.name, u.soft, u.hard) for u in spec.resources.ulimits],
        no_new_privileges=no_new_privileges,
        capabilities=capabilities(spec.cap_add, spec.cap_drop, spec.privileged),
        seccomp=seccomp, console_size=spec.console_size)
    etc_files = {"/etc/hostname": str(folder / "hostname"), "/etc/hosts": str(folder / "hosts"),
                 "/etc/resolv.conf": str(folder / "resolv.conf")}
    if netns == "host":
        etc_files.pop("/etc/hostname")
    namespaces = _namespaces(record, netns, joins or {})
    return RuntimeSpec(
        id=record.id, rootfs=rootfs, process=process,
        hostname=record.hostname if namespaces.uts else "",
        mounts=_mounts(record, volumes), shm_size=spec.shm_size or DEFAULT_SHM_SIZE,
        resources=resources(record),
        namespaces=namespaces,
        readonly_rootfs=spec.readonly_rootfs, privileged=spec.privileged,
        masked_paths=[] if spec.privileged else list(DEFAULT_MASKED_PATHS),
        readonly_paths=[] if spec.privileged else list(DEFAULT_READONLY_PATHS),
        etc_files=etc_files, init=bool(spec.init), log=_log(record), sysctls=dict(spec.sysctls))
