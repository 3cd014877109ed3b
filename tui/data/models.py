"""Frozen dataclasses the console renders; widgets never see client objects."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EngineTarget:
    """An engine the console can manage.

    Attributes:
        name: what the picker shows (``"embedded"``, ``"docker"``, …).
        url: the client's ``base_url`` (``unix:///run/wharf.sock``, ``tcp://…``).
        description: one line on where it comes from.
    """

    name: str
    url: str
    description: str = ""


@dataclass(frozen=True)
class EngineInfo:
    """Who answers on the other end and how healthy it looks.

    Attributes:
        product: ``"Wharf"`` or ``"Docker Engine"`` (from ``version()["Components"]``).
        version: the engine's version string.
        api_version: the negotiated API version.
        os_arch: ``linux/amd64``.
        ncpu: online CPUs of the host (``info()["NCPU"]``).
        mem_total: host memory in bytes.
        containers: how many containers the engine has.
        images: how many images.
        is_wharf: whether the engine has Wharf's extensions (journal, anatomy).
    """

    product: str
    version: str
    api_version: str
    os_arch: str = ""
    ncpu: int = 1
    mem_total: int = 0
    containers: int = 0
    images: int = 0
    is_wharf: bool = False


@dataclass(frozen=True)
class Health:
    """The result of one ping.

    Attributes:
        ok: whether the engine answered.
        latency_ms: round trip in milliseconds (0 when not ok).
        message: why not, when not ok.
    """

    ok: bool
    latency_ms: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class ContainerRow:
    """One container as the containers table shows it.

    Attributes:
        id: full ID.
        short_id: first 12 hex digits.
        name: name without the leading slash.
        state: ``running``, ``exited``, ``paused``, ``created``, ``restarting``, ``dead``.
        status: Docker's human status (``Up 3 hours``, ``Exited (0) 2 minutes ago``).
        image: the image reference it was created from.
        image_id: the image's ID.
        ports: ``0.0.0.0:8080->80/tcp, 443/tcp``.
        started_at: seconds since the epoch, or 0 when never started.
        command: the command line.
        labels: its labels.
    """

    id: str
    short_id: str
    name: str
    state: str
    status: str
    image: str
    image_id: str = ""
    ports: str = ""
    started_at: float = 0.0
    command: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRow:
    """One image tag (or an untagged image) as the images table shows it.

    Attributes:
        id: ``sha256:…``.
        short_id: 12 hex digits.
        reference: ``repository:tag`` or ``<none>:<none>``.
        tags: every tag of the image.
        size: bytes.
        created: seconds since the epoch.
        used_by: how many containers use it.
    """

    id: str
    short_id: str
    reference: str
    tags: tuple[str, ...]
    size: int
    created: float
    used_by: int = 0


@dataclass(frozen=True)
class LayerLine:
    """One line of an image's history, with the layer it made if any.

    Attributes:
        created_by: the instruction (``/bin/sh -c #(nop) CMD ["sh"]``).
        created: seconds since the epoch.
        size: bytes the step added.
        diff_id: the layer's diff ID, when the step made a layer and it could be matched.
        empty: whether the step made no filesystem layer (metadata only).
        comment: the history comment.
    """

    created_by: str
    created: float
    size: int
    diff_id: str = ""
    empty: bool = False
    comment: str = ""


@dataclass(frozen=True)
class StatsSample:
    """One container's resource figures at one moment (rates over the last interval).

    Attributes:
        id: container ID.
        time: when it was read (seconds since the epoch).
        cpu_percent: CPU, Docker's convention (100% = one core); ``None`` for the first interval.
        cpu_host_percent: CPU as a share of the whole host (100% = every core); ``None`` likewise.
        online_cpus: CPUs the figure was scaled by.
        mem_usage: bytes, ``usage - inactive_file`` like ``docker stats``.
        mem_limit: bytes.
        mem_percent: ``mem_usage / mem_limit``.
        net_rx: bytes received (cumulative).
        net_tx: bytes sent (cumulative).
        blk_read: bytes read from block devices (cumulative).
        blk_write: bytes written (cumulative).
        pids: processes and threads.
    """

    id: str
    time: float
    cpu_percent: float | None
    cpu_host_percent: float | None
    online_cpus: int
    mem_usage: int
    mem_limit: int
    mem_percent: float
    net_rx: int = 0
    net_tx: int = 0
    blk_read: int = 0
    blk_write: int = 0
    pids: int = 0


@dataclass(frozen=True)
class ProcessTable:
    """``docker top``: column titles and rows."""

    titles: tuple[str, ...]
    processes: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class FileChange:
    """One line of ``docker diff``.

    Attributes:
        path: the path in the container.
        kind: ``"C"`` changed, ``"A"`` added, ``"D"`` deleted.
    """

    path: str
    kind: str


@dataclass(frozen=True)
class JournalEntry:
    """One step the engine took, from Wharf's journal (or Docker's ``/events``).

    Attributes:
        seq: the bus's sequence number (0 for Docker events).
        time: seconds since the epoch.
        kind: ``job``, ``step``, ``progress``, ``object``.
        action: what happened.
        component: ``registry``, ``graph driver``, ``network driver``, ``exec driver``, ``engine``, ``daemon``.
        job_id: the job it belongs to.
        subject: what it concerns.
        detail: free-form data, rendered ``key=value``.
    """

    seq: int
    time: float
    kind: str
    action: str
    component: str
    job_id: str = ""
    subject: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Anatomy:
    """What a running container is made of, from Wharf's ``anatomy`` extension.

    Attributes:
        container_id: the container.
        host_pid: its init's PID on the host.
        container_pid: the same process's PID inside (normally 1).
        namespaces: namespace type → inode (``{"pid": 4026532301}``).
        cgroup: cgroup path and its limits and usage (``{"path": …, "memory.max": …}``).
        overlay: ``lowerdir`` (list), ``upperdir``, ``workdir``, ``merged``.
        network: endpoint fields (address, gateway, veth, bridge, mac).
        raw: the whole answer, for what the fields above do not name.
    """

    container_id: str
    host_pid: int
    container_pid: int
    namespaces: Mapping[str, Any]
    cgroup: Mapping[str, Any]
    overlay: Mapping[str, Any]
    network: Mapping[str, Any]
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DiskUsage:
    """``docker system df`` in four numbers."""

    images: int
    containers: int
    volumes: int
    build_cache: int
