"""Typed specs and records the API layer hands to, and receives from, the engine.

These dataclasses are the engine's own vocabulary: no Docker JSON field
names. ``engine.api.convert_*`` translates Docker's JSON to these and back;
:class:`engine.api.backend.EngineBackend` speaks only in them. Times are
seconds since the epoch (``float``); durations are nanoseconds where Docker
uses nanoseconds (health checks) and seconds elsewhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3
"""Stream numbers of the multiplexed framing (and of :class:`LogRecord`)."""


class Cancel:
    """A thread-safe cancellation token for one request.

    The server sets it when the client hangs up (or the daemon stops) while
    an operation runs for that client. Blocking engine code polls
    :meth:`is_set`, waits with :meth:`wait`, or registers a callback with
    :meth:`on_cancel` that unblocks it (closing a subscription, a socket, …).
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        """Whether the request was cancelled."""
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; returns whether it was cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once on cancellation (at once if already cancelled)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def cancel(self) -> None:
        """Cancel: set the flag and run every registered callback once."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing callback must not stop the others
                pass


# ----------------------------------------------------------------- containers


@dataclass
class PortBinding:
    """One published port: ``host_ip:host_port -> container_port/protocol``.

    Attributes:
        container_port: the port inside the container.
        protocol: ``"tcp"``, ``"udp"`` or ``"sctp"``.
        host_ip: the host address to bind, ``""`` for all.
        host_port: the host port, ``0`` for an ephemeral one.
    """

    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    host_port: int = 0


@dataclass
class MountSpec:
    """One mount asked for at create (``-v``, ``--mount``, ``--tmpfs`` all end up here).

    Attributes:
        type: ``"bind"``, ``"volume"`` or ``"tmpfs"``.
        target: the path inside the container.
        source: a host path (bind), a volume name (volume, ``""`` = anonymous), ``""`` (tmpfs).
        read_only: mount read-only.
        options: extra options (``"z"``, ``"nocopy"``, tmpfs ``"size=64m"``, …).
        propagation: bind propagation (``"rprivate"``, ``"shared"``, …), ``""`` for default.
    """

    type: str
    target: str
    source: str = ""
    read_only: bool = False
    options: list[str] = field(default_factory=list)
    propagation: str = ""


@dataclass
class RestartPolicy:
    """When the engine restarts a container: ``no``, ``always``, ``unless-stopped``, ``on-failure``."""

    name: str = "no"
    maximum_retry_count: int = 0


@dataclass
class Ulimit:
    """One rlimit, e.g. ``Ulimit("nofile", 1024, 2048)``."""

    name: str
    soft: int
    hard: int


@dataclass
class DeviceMapping:
    """A host device made visible in the container."""

    host_path: str
    container_path: str
    permissions: str = "rwm"


@dataclass
class Resources:
    """Cgroup limits. ``0`` (or ``None``) means unlimited / unset.

    Attributes:
        memory: memory limit in bytes.
        memory_swap: memory+swap limit in bytes (``-1`` unlimited swap).
        memory_reservation: soft limit in bytes.
        nano_cpus: CPU quota in 1e-9 CPUs (``--cpus 1.5`` = 1_500_000_000).
        cpu_shares: relative weight (cgroup v1 shares).
        cpu_period: CFS period in microseconds.
        cpu_quota: CFS quota in microseconds.
        cpuset_cpus: CPUs allowed, e.g. ``"0-1"``.
        cpuset_mems: memory nodes allowed.
        pids_limit: max number of tasks; ``None`` or ``0`` unlimited.
        blkio_weight: block IO weight 10..1000.
        oom_kill_disable: disable the OOM killer.
        ulimits: rlimits for the container's processes.
        devices: host devices to map in.
    """

    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    pids_limit: int | None = None
    blkio_weight: int = 0
    oom_kill_disable: bool = False
    ulimits: list[Ulimit] = field(default_factory=list)
    devices: list[DeviceMapping] = field(default_factory=list)


@dataclass
class HealthcheckSpec:
    """A health check; durations in nanoseconds, ``test`` as Docker words it (``["CMD", …]``)."""

    test: list[str] = field(default_factory=list)
    interval: int = 0
    timeout: int = 0
    retries: int = 0
    start_period: int = 0


@dataclass
class EndpointSpec:
    """How a container joins one network."""

    aliases: list[str] = field(default_factory=list)
    ipv4_address: str = ""
    ipv6_address: str = ""
    mac_address: str = ""


@dataclass
class ContainerCreateSpec:
    """Everything ``docker create`` / ``POST /containers/create`` can ask for.

    ``None`` in ``cmd``/``entrypoint``/``stop_signal``/``stop_timeout``/``init``
    means "the image's (or engine's) default".
    """

    image: str
    name: str | None = None
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    user: str = ""
    workdir: str = ""
    hostname: str = ""
    domainname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    console_size: tuple[int, int] | None = None
    """(height, width) of the tty at create."""
    auto_remove: bool = False
    stop_signal: str | None = None
    stop_timeout: int | None = None
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    resources: Resources = field(default_factory=Resources)
    mounts: list[MountSpec] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    """Anonymous volume targets (``Config.Volumes``)."""
    shm_size: int = 0
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    init: bool | None = None
    readonly_rootfs: bool = False
    security_opt: list[str] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    group_add: list[str] = field(default_factory=list)
    oom_score_adj: int = 0
    network_mode: str = "bridge"
    """``bridge`` (default network), ``host``, ``none``, ``container:<ref>`` or a network name."""
    networks: dict[str, EndpointSpec] = field(default_factory=dict)
    port_bindings: list[PortBinding] = field(default_factory=list)
    publish_all_ports: bool = False
    exposed_ports: list[tuple[int, str]] = field(default_factory=list)
    """(port, protocol) pairs, in addition to the image's."""
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)
    """``"name:ip"`` entries for /etc/hosts."""
    mac_address: str = ""
    ipc_mode: str = ""
    pid_mode: str = ""
    uts_mode: str = ""
    userns_mode: str = ""
    log_driver: str = "json-file"
    log_options: dict[str, str] = field(default_factory=dict)
    healthcheck: HealthcheckSpec | None = None
    platform: str = ""


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


# ----------------------------------------------------------------------- exec


@dataclass
class ExecSpec:
    """``docker exec``: a process to run in a running container."""

    cmd: list[str]
    env: list[str] = field(default_factory=list)
    user: str = ""
    workdir: str = ""
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    privileged: bool = False
    detach_keys: str = ""
    console_size: tuple[int, int] | None = None


@dataclass
class ExecInfo:
    """An exec instance: its spec, and its process once started."""

    id: str
    container_id: str
    spec: ExecSpec
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    can_remove: bool = False


# --------------------------------------------------------------------- images


@dataclass
class RegistryAuth:
    """Credentials for one registry (from ``X-Registry-Auth`` or ``/auth``)."""

    username: str = ""
    password: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""


@dataclass
class PushResult:
    """The end of a push: tag, manifest digest and manifest size."""

    tag: str
    digest: str
    size: int


@dataclass
class Progress:
    """One message of a pull, push or import stream.

    Attributes:
        status: ``"Pulling fs layer"``, ``"Downloading"``, ``"Download complete"``,
            ``"Pull complete"``, ``"Digest: sha256:…"``, ``"Status: …"``, …
        id: the item it concerns (a short layer ID or a tag), ``""`` for none.
        current: bytes done, for a progress bar (``None``: no bar).
        total: bytes in all (``0`` unknown).
        pushed: set on the final message of a push.
    """

    status: str
    id: str = ""
    current: int | None = None
    total: int = 0
    pushed: PushResult | None = None


@dataclass
class ImageConfig:
    """The runtime defaults an image carries."""

    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    exposed_ports: list[tuple[int, str]] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    healthcheck: HealthcheckSpec | None = None
    shell: list[str] = field(default_factory=list)


@dataclass
class ImageInfo:
    """One image, for both list and inspect.

    Attributes:
        id: ``sha256:<hex>`` of the config blob.
        repo_tags: ``["busybox:latest", …]`` in the short form users type.
        repo_digests: ``["busybox@sha256:…"]``.
        size: bytes of all layers, uncompressed.
        diff_ids: the layers' uncompressed digests, bottom first.
        containers: how many containers use it, ``-1`` if not counted.
    """

    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    created: float
    size: int
    config: ImageConfig
    architecture: str = "amd64"
    os: str = "linux"
    variant: str = ""
    parent: str = ""
    author: str = ""
    comment: str = ""
    docker_version: str = ""
    diff_ids: list[str] = field(default_factory=list)
    containers: int = -1
    shared_size: int = -1
    graph_driver: str = "overlay2"
    graph_data: dict[str, str] = field(default_factory=dict)
    manifest_digest: str = ""


@dataclass
class HistoryEntry:
    """One step of an image's history, newest first in lists."""

    id: str
    created: float
    created_by: str
    size: int
    tags: list[str] = field(default_factory=list)
    comment: str = ""
    empty_layer: bool = False


@dataclass
class ImageDeleteItem:
    """One effect of removing an image: a reference untagged, or an image deleted."""

    untagged: str = ""
    deleted: str = ""


@dataclass
class ImportSpec:
    """``docker import``: a rootfs tarball (body or URL) made into an image."""

    source: str = "-"
    """``"-"`` means the request body; otherwise a URL."""
    repo: str = ""
    tag: str = ""
    message: str = ""
    changes: list[str] = field(default_factory=list)
    platform: str = ""


# ------------------------------------------------------------------- networks


@dataclass
class IPAMPool:
    """One address pool of a network."""

    subnet: str
    gateway: str = ""
    ip_range: str = ""


@dataclass
class NetworkCreateSpec:
    """``docker network create``."""

    name: str
    driver: str = "bridge"
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    pools: list[IPAMPool] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class NetworkEndpoint:
    """A container's endpoint as a network lists it."""

    container_id: str
    name: str
    endpoint_id: str = ""
    mac_address: str = ""
    ipv4_address: str = ""
    """With prefix, e.g. ``172.18.0.2/16``."""
    ipv6_address: str = ""


@dataclass
class NetworkInfo:
    """One network."""

    id: str
    name: str
    driver: str
    created: float
    scope: str = "local"
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    pools: list[IPAMPool] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    endpoints: list[NetworkEndpoint] = field(default_factory=list)


# -------------------------------------------------------------------- volumes


@dataclass
class VolumeCreateSpec:
    """``docker volume create``; an empty name asks the engine for a random one."""

    name: str = ""
    driver: str = "local"
    driver_opts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class VolumeInfo:
    """One volume; ``size`` and ``ref_count`` are ``-1`` when not computed."""

    name: str
    driver: str
    mountpoint: str
    created: float
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    scope: str = "local"
    anonymous: bool = False
    size: int = -1
    ref_count: int = -1


# --------------------------------------------------------------------- system


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
