"""The containers part of the engine facade: the API's container operations (exec is in ``execs``)."""

from __future__ import annotations

import dataclasses
import time
from contextlib import contextmanager
from collections.abc import Iterator
from typing import Any

from engine.model import (
    AttachOptions,
    Cancel,
    ContainerCreateSpec,
    ContainerInfo,
    ContainerState,
    FileChange,
    LogOptions,
    LogRecord,
    MountPoint,
    NetworkAttachment,
    PathStat,
    ProcessTable,
    PruneFilter,
    PruneResult,
    StatsSample,
    UpdateSpec,
)
from engine.containers import archive
from engine.containers.logs import read_logs
from engine.containers.manager import ContainerManager
from engine.containers.records import ContainerRecord
from engine.containers.state import Status
from engine.errors import Conflict, ContainerNotFound, NotFound
from engine.images.store import ImageStore
from engine.jobs import EventBus
from engine.network.driver import NetworkDriver
from engine.runtime.runtime import Runtime
from engine.runtime.stats import StatsSampler
from engine.service.stats_batch import batched_stats, stats_sample
from engine.service.network_view import NetworkView
from engine.service.sessions import DeferredSession, StreamSession
from engine.runtime.streams import ProcessStream
from engine.storage.driver import GraphDriver
from engine.volumes.store import VolumeStore

_INIT_PATHS = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev", "/dev/pts", "/dev/shm", "/proc",
               "/sys", "/dev/console", "/.dockerenv", "/etc/mtab", "/dev/mqueue", "/sys/fs/cgroup"}
"""What Docker's init layer holds: mount points the engine makes, not changes the container made."""

_LISTED = frozenset((Status.RUNNING, Status.PAUSED, Status.RESTARTING))
"""What ``docker ps`` shows without ``--all``."""

_STATUS = {Status.CREATED: "created", Status.RUNNING: "running", Status.PAUSED: "paused",
           Status.RESTARTING: "restarting", Status.REMOVING: "removing", Status.EXITED: "exited",
           Status.DEAD: "dead"}


class ContainerService:
    """``EngineBackend``'s container operations (mixed into :class:`engine.engine.Engine`)."""

    bus: EventBus
    containers: ContainerManager
    runtime: Runtime
    images: ImageStore
    graph: GraphDriver
    network: NetworkDriver
    volumes: VolumeStore
    sampler: StatsSampler
    network_view: NetworkView
    """The networks as the driver lists them, remembered between bus events."""
    _listing_cache: tuple[tuple[Any, ...], list[ContainerInfo]] | None
    """The last event-loop listing and the (network generation, store version, all) it was made at."""

    # ----------------------------------------------------------------- views

    def _info(self, record: ContainerRecord, size: bool = False,
              networks_now: list[Any] | None = None) -> ContainerInfo:
        base = f"{self.containers.store.root}/{record.id}"  # plain strings: pathlib joins cost 1 µs each
        state = ContainerState(status=_STATUS[record.status], pid=record.pid, exit_code=record.exit_code,
                               error=record.error, oom_killed=record.oom_killed,
                               started_at=record.started_at or None, finished_at=record.finished_at or None)
        networks = self._attachments(record, networks_now)
        mounts = []
        for mount in record.spec.mounts:
            if mount.type == "volume":
                try:
                    source = str(self.volumes.get(mount.source).mountpoint)
                except NotFound:
                    source = ""
                mounts.append(MountPoint("volume", source, mount.target, mount.source, "local",
                                         mount.read_only, "", "z" if not mount.read_only else "ro"))
            elif mount.type == "bind":
                mounts.append(MountPoint("bind", mount.source, mount.target, read_only=mount.read_only,
                                         propagation=mount.propagation or "rprivate"))
            else:
                mounts.append(MountPoint("tmpfs", "", mount.target, read_only=mount.read_only))
        size_rw = None
        if size:
            size_rw = sum(p.stat().st_size for p in (self.containers.store.folder(record.id) / "upper").rglob("*")
                          if p.is_file() and not p.is_symlink())
        args = record.args
        return ContainerInfo(
            id=record.id, name=record.name, created=record.created, image=record.spec.image,
            image_id=record.image_id, path=args[0] if args else "", args=args[1:],
            state=state, spec=_shown_spec(record), env=record.env, exposed_ports=record.exposed_ports,
            networks=networks, ports=list(record.ports), mounts=mounts,
            restart_count=record.restart.restart_count, log_path=f"{base}/{record.id}-json.log",
            hostname_path=f"{base}/hostname", hosts_path=f"{base}/hosts",
            resolv_conf_path=f"{base}/resolv.conf", driver="overlay2",
            graph_upper_dir=f"{base}/upper", graph_lower_dir=":".join(record.rootfs.lowerdir),
            graph_merged_dir=f"{base}/merged", graph_work_dir=f"{base}/work",
            exec_ids=list(record.exec_ids), size_rw=size_rw)

    def _attachments(self, record: ContainerRecord,
                     networks_now: list[Any] | None = None) -> list[NetworkAttachment]:
        """``record``'s endpoints; a listing passes ``networks_now`` (the driver's list, read once)."""
        if networks_now is None:
            pairs = self.network.endpoints_of(record.id)
        else:
            container_id = record.id
            pairs = [(n, n.containers[container_id]) for n in networks_now if container_id in n.containers]
        found = [NetworkAttachment(network=network.name, network_id=network.id, endpoint_id=endpoint.id,
                                   ip_address=endpoint.ip, ip_prefix_len=endpoint.prefixlen,
                                   gateway=endpoint.gateway, mac_address=endpoint.mac,
                                   aliases=list(endpoint.aliases))
                 for network, endpoint in pairs]
        if not found:
            mode = record.spec.network_mode or "bridge"
            if mode in ("none", "host"):
                found.append(NetworkAttachment(network=mode))
        return found

    # ------------------------------------------------------------ lifecycle

    def list_containers(self, all: bool = False, size: bool = False) -> list[ContainerInfo]:  # noqa: A002
        """Running containers, or with ``all`` every one, newest first."""
        networks_now = self.network_view.read()  # once per listing, not once per container
        return [self._info(r, size, networks_now) for r in self.containers.list()
                if all or r.status in _LISTED]

    def list_containers_now(self, all: bool = False, size: bool = False) -> list[ContainerInfo] | None:  # noqa: A002
        """:meth:`list_containers` if it can be answered without waiting, else ``None``.

        For the API's event loop, which must never block: ``None`` when the
        container store is locked by another thread, the networks changed
        since they were last read, sizes are asked (a walk of every upper
        dir) or a container has a volume (its mountpoint is read from disk).
        The caller then asks :meth:`list_containers` on a worker thread.

        The answer is remembered, and given again (the same list, to be read
        only) while the store's version and the bus stay where they were:
        every change of a record is saved, and every change of a network
        publishes an event.
        """
        marked = self.network_view.marked()
        if size or marked is None:
            return None
        store = self.containers.store
        if not store.lock.acquire(blocking=False):
            return None
        try:
            key = (marked[0], store.version, all)
            listed = self._listing_cache
            if listed is not None and listed[0] == key:
                return listed[1]  # nothing saved, forgotten or published since: the same listing
            records = [r for r in self.containers.list() if all or r.status in _LISTED]
            if any(m.type == "volume" for r in records for m in r.spec.mounts):
                return None
            infos = [self._info(r, False, marked[1]) for r in records]
            self._listing_cache = (key, infos)
            return infos
        finally:
            store.lock.release()

    def create_container(self, spec: ContainerCreateSpec) -> tuple[str, list[str]]:
        """Create; returns (ID, warnings)."""
        record = self.containers.create(spec)
        return record.id, list(record.warnings)

    def inspect_container(self, ref: str, size: bool = False) -> ContainerInfo:
        """One container."""
        record = self.containers.get(ref)
        return self._info(record, size, self.network_view.read())  # read once, the next ones are quick

    def inspect_container_now(self, ref: str, size: bool = False) -> ContainerInfo | None:
        """:meth:`inspect_container` if it can be answered without waiting, else ``None``
        (see :meth:`list_containers_now`).

        Raises:
            ContainerNotFound: no container ``ref``.
        """
        networks_now = self.network_view.now()
        if size or networks_now is None:
            return None
        lock = self.containers.store.lock
        if not lock.acquire(blocking=False):
            return None
        try:
            record = self.containers.get(ref)
            if any(m.type == "volume" for m in record.spec.mounts):
                return None
            return self._info(record, False, networks_now)
        finally:
            lock.release()

    def start_container(self, ref: str) -> bool:
        """Start; ``False`` if already running."""
        return self.containers.start(ref)  # stats open the cgroup files themselves, per stream

    def stop_container(self, ref: str, timeout: int | None = None, signal: str | None = None) -> bool:
        """Stop; ``False`` if it was not running."""
        return self.containers.stop(ref, timeout, signal)

    def restart_container(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        """Stop then start."""
        self.containers.restart(ref, timeout, signal)

    def kill_container(self, ref: str, signal: str = "SIGKILL") -> None:
        """Send a signal."""
        self.containers.kill(ref, signal or "SIGKILL")

    def pause_container(self, ref: str) -> None:
        """Freeze."""
        self.containers.pause(ref)

    def unpause_container(self, ref: str) -> None:
        """Thaw."""
        self.containers.unpause(ref)

    def wait_container(self, ref: str, condition: str, cancel: Cancel) -> Any:
        """Block until the condition; the exit code."""
        from engine.model import WaitResult  # noqa: PLC0415

        record = self.containers.get(ref)
        code = self.containers.wait(record.id, condition or "not-running", cancelled=cancel.is_set)
        return WaitResult(code if code is not None else -1, record.error or None)

    def remove_container(self, ref: str, force: bool = False, volumes: bool = False, link: bool = False) -> None:
        """Remove."""
        record = self.containers.get(ref)
        self.sampler.untrack(record.id)
        self.containers.remove(record.id, force=force, volumes=volumes)

    def prune_containers(self, filters: PruneFilter) -> PruneResult:
        """Remove every stopped container (created before ``until``, matching labels)."""
        deleted, reclaimed = [], 0
        for record in self.containers.list():
            if record.status not in (Status.EXITED, Status.CREATED, Status.DEAD):
                continue
            if filters.until is not None and record.created >= filters.until:
                continue
            if not _labels_match(record.spec.labels, filters):
                continue
            self.containers.remove(record.id)
            deleted.append(record.id)
        return PruneResult(deleted=deleted, space_reclaimed=reclaimed)

    def rename_container(self, ref: str, new_name: str) -> None:
        """Rename."""
        self.containers.rename(ref, new_name)

    def update_container(self, ref: str, update: UpdateSpec) -> list[str]:
        """Change limits of a container (applied at its next start; live on cgroups when running)."""
        record = self.containers.get(ref)
        current = record.spec.resources
        for name in ("memory", "memory_swap", "memory_reservation", "nano_cpus", "cpu_shares", "cpu_period",
                     "cpu_quota", "cpuset_cpus", "cpuset_mems", "pids_limit"):
            value = getattr(update.resources, name)
            if value:
                setattr(current, name, value)
        if update.restart_policy is not None:
            record.spec.restart_policy = update.restart_policy
            record.restart.policy = update.restart_policy.name or "no"
            record.restart.maximum_retry_count = update.restart_policy.maximum_retry_count
        self.containers.store.save(record)
        warnings = []
        if record.status in (Status.RUNNING, Status.PAUSED):
            from engine.containers.prepare import resources  # noqa: PLC0415

            try:
                self.runtime.cgroup(record.id).apply(resources(record))
            except AttributeError:
                warnings.append("the new limits apply from the container's next start")
        return warnings

    # ---------------------------------------------------------------- streams

    def container_logs(self, ref: str, options: LogOptions, cancel: Cancel) -> Iterator[LogRecord]:
        """The json-file log as asked."""
        record = self.containers.get(ref)
        path = self.containers.store.folder(record.id) / f"{record.id}-json.log"
        max_file = int(record.spec.log_options.get("max-file", "1") or 1)

        def alive() -> bool:
            current = self.containers.store.lookup(record.id)
            return current is not None and current.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)

        return read_logs(path, options, max_file=max_file, alive=alive, cancelled=cancel.is_set)

    def attach_container(self, ref: str, options: AttachOptions, cancel: Cancel) -> Any:
        """A live connection to the container's stdio; to a container not started yet,
        one that connects when it starts (before its command runs)."""
        record = self.containers.get(ref)

        def connect() -> ProcessStream:
            return self.runtime.attach(record.id, stdin=options.stdin, stdout=options.stdout,
                                       stderr=options.stderr)

        if record.status in (Status.RUNNING, Status.PAUSED):
            return StreamSession(connect())
        session = DeferredSession(record.spec.tty, cancel)
        self.containers.on_next_start(record.id, lambda ok: session.connect(connect) if ok else session.close())
        return session

    def resize_container(self, ref: str, height: int, width: int) -> None:
        """Resize the container's tty."""
        record = self.containers.get(ref)
        self.runtime.resize(record.id, height, width)

    def container_stats(self, ref: str, interval: float, cancel: Cancel) -> Iterator[StatsSample]:
        """Samples every ``interval`` seconds until cancelled (or the container stops)."""
        record = self.containers.get(ref)
        try:
            while not cancel.is_set():
                current = self.containers.store.lookup(record.id)
                if current is None:
                    return
                sample = None
                if current.status in (Status.RUNNING, Status.PAUSED):
                    try:
                        self.sampler.track(record.id, self.runtime.cgroup(record.id), current.pid)
                        sample = self.sampler.sample([record.id]).get(record.id)
                    except ContainerNotFound:
                        sample = None  # it ended between the status check and the sample
                else:
                    self.sampler.untrack(record.id)
                yield stats_sample(sample, current) if sample is not None else StatsSample(time=time.time())
                if cancel.wait(interval):
                    return
        finally:
            self.sampler.untrack(record.id)  # no open files once nobody watches (an --rm container never sees rm)

    def all_container_stats(self, interval: float, cancel: Cancel) -> Iterator[dict[str, StatsSample]]:
        """Every running or paused container's sample in one mapping per ``interval`` s."""
        return batched_stats(self.containers, self.runtime, interval, cancel)

    def container_top(self, ref: str, ps_args: str = "") -> ProcessTable:
        """The container's processes (host PID, container PID, user, command)."""
        record = self.containers.get(ref)
        if record.status not in (Status.RUNNING, Status.PAUSED):
            raise Conflict(f"Container {record.id} is not running")
        rows = [[str(p.uid), str(p.host_pid), str(p.ppid), str(p.container_pid), p.state, p.command]
                for p in self.runtime.top(record.id)]
        return ProcessTable(["UID", "PID", "PPID", "CPID", "STAT", "CMD"], rows)

    def container_changes(self, ref: str) -> list[FileChange]:
        """``docker diff``: what the container changed in its writable layer.

        The mount points the engine itself makes (``/etc/hosts`` and friends, Docker's
        init layer) are not the container's changes and are left out, as Docker does.
        """
        record = self.containers.get(ref)
        image = self.images.resolve(record.image_id)
        upper = str(self.containers.store.folder(record.id) / "upper")
        changes = [c for c in self.graph.diff(upper, list(image.chain_ids)) if c.path not in _INIT_PATHS]
        kept = [c for c in changes if int(c.kind) != 0 or any(
            o.path.startswith(c.path.rstrip("/") + "/") for o in changes)]
        return [FileChange(change.path, int(change.kind)) for change in kept]

    @contextmanager
    def _rootfs(self, record: ContainerRecord) -> Iterator[str]:
        """The container's root filesystem, mounted for the duration if it is not running."""
        if record.rootfs.mounted and record.status in (Status.RUNNING, Status.PAUSED):
            yield record.rootfs.target
            return
        folder = self.containers.store.folder(record.id)
        image = self.images.resolve(record.image_id)
        target = folder / "merged"
        info = self.graph.mount(record.id, list(image.chain_ids), str(folder / "upper"), str(folder / "work"),
                                str(target))
        try:
            yield info.target
        finally:
            self.graph.unmount(info.target)

    def archive_stat(self, ref: str, path: str) -> PathStat:
        """Stat a path in the container's filesystem."""
        record = self.containers.get(ref)
        with self._rootfs(record) as rootfs:
            return archive.stat_path(rootfs, path)

    def get_archive(self, ref: str, path: str, cancel: Cancel) -> tuple[PathStat, Iterator[bytes]]:
        """A tar stream of ``path`` (``docker cp`` from the container)."""
        record = self.containers.get(ref)
        mounted = self._rootfs(record)
        rootfs = mounted.__enter__()
        try:
            info = archive.stat_path(rootfs, path)
        except BaseException:
            mounted.__exit__(None, None, None)
            raise

        def stream() -> Iterator[bytes]:
            try:
                yield from archive.read_archive(rootfs, path)
            finally:
                mounted.__exit__(None, None, None)

        return info, stream()

    def put_archive(self, ref: str, path: str, tar: Iterator[bytes], no_overwrite_dir_non_dir: bool = False,
                    copy_uid_gid: bool = False) -> None:
        """Extract a tar stream under ``path`` (``docker cp`` into the container)."""
        record = self.containers.get(ref)
        if record.spec.readonly_rootfs:
            raise Conflict("container rootfs is marked read-only")
        with self._rootfs(record) as rootfs:
            archive.write_archive(rootfs, path, tar)

def _shown_spec(record: ContainerRecord) -> ContainerCreateSpec:
    """The create request as inspect shows it: with the image's StopSignal when the request had none."""
    if record.spec.stop_signal or record.stop_signal in ("", "SIGTERM"):
        return record.spec
    return dataclasses.replace(record.spec, stop_signal=record.stop_signal)


def _labels_match(labels: dict[str, str], filters: PruneFilter) -> bool:
    def has(item: str) -> bool:
        key, _, value = item.partition("=")
        return key in labels and (not value or labels[key] == value)

    return all(has(i) for i in filters.labels) and not any(has(i) for i in filters.labels_absent)



