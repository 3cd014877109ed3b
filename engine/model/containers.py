"""Container records and the data of running containers (logs, stats, top, archive, prune)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.model.specs import ContainerCreateSpec, PortBinding, Resources, RestartPolicy


@dataclass
class ContainerState:
    """A container's lifecycle state as the engine records it.

    Attributes:
        status: ``created``, ``running``, ``paused``, ``restarting``,
            ``removing``, ``exited`` or ``dead``.
    """

    status: str = "created"
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    oom_killed: bool = False
    started_at: float | None = None
    finished_at: float | None = None
    health: str = ""
    """``""`` (no check), ``starting``, ``healthy`` or ``unhealthy``."""

    @property
    def running(self) -> bool:
        """True while the process lives (also when paused or restarting)."""
        return self.status in ("running", "paused", "restarting")


@dataclass
class NetworkAttachment:
    """A container's endpoint on one network."""

    network: str
    network_id: str = ""
    endpoint_id: str = ""
    ip_address: str = ""
    ip_prefix_len: int = 0
    gateway: str = ""
    mac_address: str = ""
    ipv6_address: str = ""
    aliases: list[str] = field(default_factory=list)


@dataclass
class MountPoint:
    """A mount as it is in the container (resolved: volume paths known)."""

    type: str
    source: str
    destination: str
    name: str = ""
    driver: str = ""
    read_only: bool = False
    propagation: str = ""
    mode: str = ""


@dataclass
class ContainerInfo:
    """One container, for both list and inspect.

    Attributes:
        image: the reference the user gave (``busybox``, ``alpine:3.20``).
        image_id: ``sha256:<hex>`` of the image's config.
        path: the resolved executable (entrypoint + cmd, first word).
        args: the rest of the resolved command.
        spec: what was asked at create.
        image_config_env: the effective environment (image env + spec env).
        ports: the actual bindings (ephemeral host ports resolved).
        size_rw: bytes in the upper dir, or ``None`` if not computed.
        size_root_fs: bytes of the whole rootfs, or ``None`` if not computed.
    """

    id: str
    name: str
    created: float
    image: str
    image_id: str
    path: str
    args: list[str]
    state: ContainerState
    spec: ContainerCreateSpec
    env: list[str] = field(default_factory=list)
    exposed_ports: list[tuple[int, str]] = field(default_factory=list)
    networks: list[NetworkAttachment] = field(default_factory=list)
    ports: list[PortBinding] = field(default_factory=list)
    mounts: list[MountPoint] = field(default_factory=list)
    restart_count: int = 0
    log_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    resolv_conf_path: str = ""
    driver: str = "overlay2"
    graph_upper_dir: str = ""
    graph_lower_dir: str = ""
    graph_merged_dir: str = ""
    graph_work_dir: str = ""
    exec_ids: list[str] = field(default_factory=list)
    size_rw: int | None = None
    size_root_fs: int | None = None


@dataclass
class WaitResult:
    """How a wait ended."""

    status_code: int
    error: str | None = None


@dataclass
class LogOptions:
    """What part of a container's log to read.

    Attributes:
        since: only records at or after this time (``None``: from the start).
        until: only records before this time (``None``: no end).
        tail: only the last N records (``None``: all).
    """

    stdout: bool = True
    stderr: bool = True
    follow: bool = False
    since: float | None = None
    until: float | None = None
    tail: int | None = None


@dataclass
class LogRecord:
    """One chunk of output: ``stream`` is :data:`STDOUT` or :data:`STDERR`; ``time`` in epoch seconds."""

    stream: int
    data: bytes
    time: float


@dataclass
class AttachOptions:
    """Which streams to attach; ``logs`` replays earlier output first."""

    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    stream: bool = True
    logs: bool = False
    detach_keys: str = ""


@dataclass
class NetStats:
    """Counters of one network interface."""

    rx_bytes: int = 0
    rx_packets: int = 0
    rx_errors: int = 0
    rx_dropped: int = 0
    tx_bytes: int = 0
    tx_packets: int = 0
    tx_errors: int = 0
    tx_dropped: int = 0


@dataclass
class StatsSample:
    """One resource sample of a container.

    Attributes:
        time: when it was read.
        cpu_total: CPU time used by the container, nanoseconds.
        percpu: per-CPU usage, nanoseconds (may be empty on cgroup v2).
        cpu_kernel / cpu_user: kernel and user time, nanoseconds.
        system_cpu: host CPU time (all CPUs), nanoseconds, from /proc/stat.
        online_cpus: CPUs available.
        memory_usage: bytes in use (including page cache).
        memory_limit: the limit, or host memory if unlimited.
        memory_stat: the cgroup's memory.stat map (``inactive_file``, …).
        cgroup_v2: whether memory_stat uses v2 names.
        networks: counters by interface name.
        blkio: (op, bytes) pairs, op ``"read"`` or ``"write"``.
        pids: current number of tasks; pids_limit the limit (0 none).
    """

    time: float
    cpu_total: int = 0
    percpu: list[int] = field(default_factory=list)
    cpu_kernel: int = 0
    cpu_user: int = 0
    system_cpu: int = 0
    online_cpus: int = 0
    throttling: tuple[int, int, int] = (0, 0, 0)
    """(periods, throttled periods, throttled time ns)."""
    memory_usage: int = 0
    memory_max_usage: int = 0
    memory_limit: int = 0
    memory_stat: dict[str, int] = field(default_factory=dict)
    cgroup_v2: bool = True
    networks: dict[str, NetStats] = field(default_factory=dict)
    blkio: list[tuple[str, int]] = field(default_factory=list)
    pids: int = 0
    pids_limit: int = 0


@dataclass
class ProcessTable:
    """``top`` output: column titles and one row of strings per process."""

    titles: list[str]
    processes: list[list[str]]


@dataclass
class FileChange:
    """One change in a container's upper dir: ``kind`` 0 modified, 1 added, 2 deleted."""

    path: str
    kind: int


@dataclass
class PathStat:
    """What a path in a container is (for archive HEAD/GET)."""

    name: str
    size: int
    mode: int
    """The Go ``os.FileMode`` bits (type bits high, permission bits low)."""
    mtime: float
    link_target: str = ""


@dataclass
class UpdateSpec:
    """``docker update``: new limits and restart policy (``None`` = unchanged)."""

    resources: Resources
    restart_policy: RestartPolicy | None = None


@dataclass
class PruneFilter:
    """Which unused objects a prune may remove.

    Attributes:
        until: only objects created before this time.
        labels: ``key`` or ``key=value`` that must match.
        labels_absent: ``key`` or ``key=value`` that must not match.
        dangling: images: only untagged (``True``, the default) or all unused (``False``).
        all: volumes: also named volumes, not only anonymous ones.
    """

    until: float | None = None
    labels: list[str] = field(default_factory=list)
    labels_absent: list[str] = field(default_factory=list)
    dangling: bool = True
    all: bool = False


@dataclass
class PruneResult:
    """What a prune removed: IDs or names, and the bytes freed."""

    deleted: list[str] = field(default_factory=list)
    space_reclaimed: int = 0
    untagged: list[str] = field(default_factory=list)
