"""Container specs: what create and update ask for."""

from __future__ import annotations

from dataclasses import dataclass, field


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
