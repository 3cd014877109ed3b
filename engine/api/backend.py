"""The narrow interface the API routes call: :class:`EngineBackend`.

Every method is synchronous and may block: the server calls it from a
worker thread, never on its event loop. Methods raise only
:mod:`engine.errors` classes (the router maps them to HTTP statuses once).
Container and image arguments named ``ref`` are as the client typed them:
a name, a full ID or a unique ID prefix (containers), a reference or an ID
(images); the engine resolves and normalises them (``debian``,
``library/debian`` and ``docker.io/library/debian:latest`` are one image).

Long or streaming operations take a :class:`~engine.model.Cancel`
token; the server cancels it when the client goes away. Iterators are
consumed on one dedicated thread and closed (``close()``) when done.

A backend may implement only part of this (see
:mod:`engine.api.system_backend`): routes whose method is missing, or that
raise :class:`NotImplementedError`, answer 501.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from engine.model import (
    Anatomy,
    AttachOptions,
    Cancel,
    ContainerCreateSpec,
    ContainerInfo,
    DiskUsage,
    ExecInfo,
    ExecSpec,
    FileChange,
    HistoryEntry,
    ImageDeleteItem,
    ImageInfo,
    ImportSpec,
    LoginResult,
    LogOptions,
    LogRecord,
    NetworkCreateSpec,
    NetworkInfo,
    EndpointSpec,
    PathStat,
    ProcessTable,
    Progress,
    PruneFilter,
    PruneResult,
    RegistryAuth,
    StatsSample,
    SystemInfo,
    UpdateSpec,
    VersionInfo,
    VolumeCreateSpec,
    VolumeInfo,
    WaitResult,
)
from engine.jobs import EventBus


class StdioSession(Protocol):
    """A live connection to a process's stdio (attach, or a started exec).

    ``read`` is called from one thread, ``write``/``close_stdin`` from
    another, ``close`` from any thread (and must wake a blocked ``read``).
    """

    tty: bool
    """Whether output is a tty's raw bytes (not multiplexed)."""

    def read(self) -> tuple[int, bytes] | None:
        """Block for the next output chunk ``(stream, data)``; ``None`` when output ended."""
        ...

    def write(self, data: bytes) -> None:
        """Forward bytes to the process's stdin (no-op if stdin is not attached)."""
        ...

    def close_stdin(self) -> None:
        """The client finished sending: close the process's stdin."""
        ...

    def close(self) -> None:
        """Detach: release everything; the process keeps running."""
        ...


@runtime_checkable
class SystemBackend(Protocol):
    """The system part: enough for ``/_ping``, ``/version``, ``/info``, ``/events``, journal."""

    bus: EventBus
    """The engine's event bus (object events become ``/events``; all make the journal)."""

    def version(self) -> VersionInfo:
        """Versions of the engine and its host."""
        ...

    def info(self) -> SystemInfo:
        """Counts, host facts and configuration."""
        ...

    def disk_usage(self) -> DiskUsage:
        """Every image, container and volume with its size."""
        ...


class ContainerBackend(Protocol):
    """Container lifecycle, I/O and inspection."""

    def list_containers(self, all: bool, size: bool) -> list[ContainerInfo]:
        """Containers (only running ones unless ``all``); ``size`` computes size_rw/size_root_fs.

        A backend may also offer ``list_containers_now`` and ``inspect_container_now``:
        the same answers without ever waiting (called on the event loop, see
        :meth:`engine.api.router.Api.read`), or ``None`` when they would have to.
        """
        ...

    def create_container(self, spec: ContainerCreateSpec) -> tuple[str, list[str]]:
        """Create; returns (ID, warnings). ImageNotFound if the image is not local."""
        ...

    def inspect_container(self, ref: str, size: bool = False) -> ContainerInfo:
        """One container; ContainerNotFound ("No such container: <ref>")."""
        ...

    def start_container(self, ref: str) -> bool:
        """Start; False if it was already running (304)."""
        ...

    def stop_container(self, ref: str, timeout: int | None, signal: str | None) -> bool:
        """Stop (signal, wait ``timeout`` s, then SIGKILL); False if it was not running (304)."""
        ...

    def restart_container(self, ref: str, timeout: int | None, signal: str | None) -> None:
        """Stop if running, then start."""
        ...

    def kill_container(self, ref: str, signal: str) -> None:
        """Send a signal (``"KILL"``, ``"SIGTERM"``, ``"15"``); Conflict if not running."""
        ...

    def pause_container(self, ref: str) -> None:
        """Freeze the container's cgroup."""
        ...

    def unpause_container(self, ref: str) -> None:
        """Thaw the container's cgroup."""
        ...

    def wait_container(self, ref: str, condition: str, cancel: Cancel) -> WaitResult:
        """Block until ``condition`` (``not-running``, ``next-exit``, ``removed``) holds.

        Resolves ``ref`` before blocking (raise ContainerNotFound at once).
        Returns early with ``WaitResult(-1, "cancelled")`` when ``cancel`` fires.
        """
        ...

    def attach_container(self, ref: str, options: AttachOptions, cancel: Cancel) -> StdioSession:
        """Attach to the container's stdio (before or after start)."""
        ...

    def container_logs(self, ref: str, options: LogOptions, cancel: Cancel) -> Iterator[LogRecord]:
        """The log records; with ``follow`` it keeps going until the container stops."""
        ...

    def container_stats(self, ref: str, interval: float, cancel: Cancel) -> Iterator[StatsSample]:
        """Samples: one at once, then one every ``interval`` s while the container exists."""
        ...

    def all_container_stats(self, interval: float, cancel: Cancel) -> Iterator[dict[str, StatsSample]]:
        """Every running container's sample (ID → sample): one mapping now, then one every ``interval`` s."""
        ...

    def container_top(self, ref: str, ps_args: str) -> ProcessTable:
        """The container's processes."""
        ...

    def container_changes(self, ref: str) -> list[FileChange]:
        """Changes in the container's upper dir."""
        ...

    def rename_container(self, ref: str, new_name: str) -> None:
        """Rename; AlreadyExists if the name is taken."""
        ...

    def resize_container(self, ref: str, height: int, width: int) -> None:
        """Resize the container's tty."""
        ...

    def update_container(self, ref: str, update: UpdateSpec) -> list[str]:
        """Change limits and restart policy; returns warnings."""
        ...

    def remove_container(self, ref: str, force: bool, volumes: bool, link: bool) -> None:
        """Remove; Conflict ("... stop the container before removing or force remove") if running."""
        ...

    def prune_containers(self, filters: PruneFilter) -> PruneResult:
        """Remove stopped containers."""
        ...

    def archive_stat(self, ref: str, path: str) -> PathStat:
        """Stat a path in the container's filesystem."""
        ...

    def get_archive(self, ref: str, path: str, cancel: Cancel) -> tuple[PathStat, Iterator[bytes]]:
        """A tar stream of ``path``."""
        ...

    def put_archive(self, ref: str, path: str, tar: Iterator[bytes], no_overwrite_dir_non_dir: bool,
                    copy_uid_gid: bool) -> None:
        """Extract a tar stream (the request body, read as it arrives) under ``path``."""
        ...

    def container_anatomy(self, ref: str) -> Anatomy:
        """Wharf's teaching view of a container (namespaces, cgroup, overlay, veth, shim)."""
        ...


class ExecBackend(Protocol):
    """Processes run inside running containers."""

    def exec_create(self, ref: str, spec: ExecSpec) -> str:
        """Create an exec instance in a running container; returns its ID."""
        ...

    def exec_start(self, exec_id: str, detach: bool, tty: bool,
                   console_size: tuple[int, int] | None, cancel: Cancel) -> StdioSession | None:
        """Start it; ``None`` when detached. The exit code must be recorded before output ends."""
        ...

    def exec_inspect(self, exec_id: str) -> ExecInfo:
        """The exec instance; NotFound ("No such exec instance: <id>")."""
        ...

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        """Resize the exec's tty."""
        ...


class ImageBackend(Protocol):
    """Images: the graph, pulls and pushes."""

    def list_images(self, all: bool) -> list[ImageInfo]:
        """Local images (``all`` also intermediate ones)."""
        ...

    def inspect_image(self, ref: str) -> ImageInfo:
        """One image; ImageNotFound ("No such image: <ref>")."""
        ...

    def image_history(self, ref: str) -> list[HistoryEntry]:
        """The image's history, newest first."""
        ...

    def pull_image(self, ref: str, platform: str, auth: RegistryAuth | None,
                   cancel: Cancel) -> Iterator[Progress]:
        """Pull ``ref`` (``name:tag`` or ``name@digest``), yielding progress; errors raise mid-stream."""
        ...

    def push_image(self, ref: str, auth: RegistryAuth | None, cancel: Cancel) -> Iterator[Progress]:
        """Push ``ref``; the last message carries :class:`~engine.model.PushResult`."""
        ...

    def import_image(self, spec: ImportSpec, tar: Iterator[bytes], cancel: Cancel) -> Iterator[Progress]:
        """Make an image from a rootfs tarball; the last message's status is the new ID."""
        ...

    def tag_image(self, ref: str, repo: str, tag: str) -> None:
        """Give an image another reference ``repo:tag``."""
        ...

    def remove_image(self, ref: str, force: bool, prune: bool) -> list[ImageDeleteItem]:
        """Untag (and delete when unreferenced); Conflict if a container uses it and not ``force``."""
        ...

    def prune_images(self, filters: PruneFilter) -> PruneResult:
        """Remove dangling (or all unused) images."""
        ...

    def login(self, auth: RegistryAuth) -> LoginResult:
        """Check credentials against a registry."""
        ...


class NetworkBackend(Protocol):
    """Networks (bridge driver)."""

    def list_networks(self) -> list[NetworkInfo]:
        """All networks."""
        ...

    def inspect_network(self, ref: str) -> NetworkInfo:
        """One network by name, ID or ID prefix; NetworkNotFound."""
        ...

    def create_network(self, spec: NetworkCreateSpec) -> tuple[str, str]:
        """Create; returns (ID, warning)."""
        ...

    def remove_network(self, ref: str) -> None:
        """Remove; InUse if containers are connected."""
        ...

    def connect_network(self, ref: str, container: str, endpoint: EndpointSpec) -> None:
        """Connect a container."""
        ...

    def disconnect_network(self, ref: str, container: str, force: bool) -> None:
        """Disconnect a container."""
        ...

    def prune_networks(self, filters: PruneFilter) -> PruneResult:
        """Remove unused user networks."""
        ...


class VolumeBackend(Protocol):
    """Named and anonymous volumes (local driver)."""

    def list_volumes(self) -> list[VolumeInfo]:
        """All volumes."""
        ...

    def inspect_volume(self, name: str) -> VolumeInfo:
        """One volume; VolumeNotFound."""
        ...

    def create_volume(self, spec: VolumeCreateSpec) -> VolumeInfo:
        """Create (idempotent for an existing name with the same driver)."""
        ...

    def remove_volume(self, name: str, force: bool) -> None:
        """Remove; InUse if a container uses it."""
        ...

    def prune_volumes(self, filters: PruneFilter) -> PruneResult:
        """Remove unused (anonymous, or with ``all`` every) volumes."""
        ...


class EngineBackend(SystemBackend, ContainerBackend, ExecBackend, ImageBackend, NetworkBackend,
                    VolumeBackend, Protocol):
    """Everything the API routes need from the engine."""
