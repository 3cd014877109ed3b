"""Containers' lifecycle: create, start, stop, kill, pause, restart, remove, wait (supervision in ``supervision``).

:class:`ContainerManager` ties the engine's drivers together for each
container, as Docker's daemon does: the image store gives the config, the
graph driver mounts the root filesystem, the exec driver creates the
container's init (waiting), the network driver wires its namespace, then
the init execs the command. A monitor thread per running container waits
for its exit, tears down what the start set up, records the exit and
applies the restart policy. Every change of status goes through the state
machine in :mod:`engine.containers.state`, and every step is published on
the engine's bus as part of a Job.

A restarted engine calls :meth:`ContainerManager.adopt`: containers still
running get their monitor back; those that ended while the engine was away
get their exit recorded (the shim wrote it) and their restart policy applied.
"""

from __future__ import annotations

import os
import shutil
import signal as signals
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.model import ContainerCreateSpec, PortBinding
from engine.containers.command import merge_env, resolve_command
from engine.containers.prepare import (VolumeMount, bind_and_volume_requests, check_namespace_modes,
                                       namespace_joins, runtime_spec)
from engine.containers.records import ContainerRecord, ContainerStore, RootfsInfo
from engine.containers.restart import RestartTracker, parse_policy
from engine.containers.state import Operation, Status, transition
from engine.containers.supervision import Supervision
from engine.errors import (CommandNotFound, Conflict, ContainerNotFound, InvalidSpec, NotFound,
                           WharfError)
from engine.images.store import ImageStore
from engine.jobs import Component, EventBus, Job
from engine.network.driver import NetworkDriver
from engine.network.etcfiles import render_hosts, render_resolv_conf
from engine.network.records import PortBinding as NetPortBinding
from engine.runtime.runtime import Runtime
from engine.runtime.spec import RLIMIT_NAMES, ProcessSpec, Rlimit, clamp_rlimits
from engine.storage.driver import GraphDriver
from engine.volumes.store import VolumeStore

DEFAULT_STOP_TIMEOUT = 10
"""Seconds ``stop`` waits after the stop signal before SIGKILL (Docker's default)."""


def signal_number(name: str | int) -> int:
    """``"SIGTERM"``, ``"TERM"``, ``"15"`` or ``15`` → 15.

    Raises:
        InvalidSpec: not a signal.
    """
    if isinstance(name, int):
        return name
    text = name.strip().upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    if text.startswith("SIGRTMIN+") and text[9:].isdigit():
        return signals.SIGRTMIN + int(text[9:])
    try:
        return int(signals.Signals[text])
    except KeyError:
        raise InvalidSpec(f"invalid signal: {name}") from None


class ContainerManager(Supervision):
    """Every container of one engine.

    Args:
        root: the state root (``containers/`` lives under it).
        bus: where jobs and Docker's events go.
        images: the image store.
        graph: the graph driver.
        runtime: the exec driver.
        network: the network driver.
        volumes: the volume store.
    """

    def __init__(self, root: Path, bus: EventBus, images: ImageStore, graph: GraphDriver,
                 runtime: Runtime, network: NetworkDriver, volumes: VolumeStore) -> None:
        self.store = ContainerStore(Path(root) / "containers")
        self.bus = bus
        self.images = images
        self.graph = graph
        self.runtime = runtime
        self.network = network
        self.volumes = volumes
        self._changed = threading.Condition(self.store.lock)
        self._monitors: dict[str, threading.Thread] = {}
        self._attach_hooks: dict[str, list[Callable[[bool], None]]] = {}
        self._closing = False

    # ------------------------------------------------------------------ helpers

    def get(self, ref: str) -> ContainerRecord:
        """The container ``ref`` names (name, ID or unique ID prefix)."""
        return self.store.get(ref)

    def list(self) -> list[ContainerRecord]:
        """Every container, newest first."""
        return self.store.all()

    def _emit(self, action: str, record: ContainerRecord, job: Job | None = None, **extra: Any) -> None:
        attributes = {"name": record.name, "image": record.spec.image, **record.spec.labels, **extra}
        if job is not None:
            job.emit(action, record.id, **attributes)
        else:
            with Job(self.bus, action, record.id) as own:
                own.emit(action, record.id, **attributes)

    def _set_status(self, record: ContainerRecord, operation: Operation) -> None:
        with self._changed:
            record.status = transition(record.status, operation, record.subject)
            self.store.save(record)
            self._changed.notify_all()

    def _folder(self, record: ContainerRecord) -> Path:
        return self.store.folder(record.id)

    # ------------------------------------------------------------------- create

    def create(self, spec: ContainerCreateSpec) -> ContainerRecord:
        """Create a container (nothing runs yet); emits ``create``.

        Raises:
            ImageNotFound: ``No such image: <ref>`` (the CLI then pulls and retries).
            InvalidArgument, InvalidSpec, AlreadyExists: a bad name, policy or option.
        """
        image = self.images.resolve(spec.image)
        config = self.images.config(image.id).get("config") or {}
        container_id = self.store.new_id()
        with self.store.lock:
            name = self.store.claim_name(spec.name, container_id)
            policy, retries = parse_policy(
                spec.restart_policy.name + (f":{spec.restart_policy.maximum_retry_count}"
                                            if spec.restart_policy.name == "on-failure"
                                            and spec.restart_policy.maximum_retry_count else ""))
            if spec.auto_remove and policy != "no":
                raise InvalidSpec("conflicting options: cannot specify both --restart and --rm")
            check_namespace_modes(spec, self.store.get)
            self._check_network_mode(spec)
            hostname = spec.hostname or container_id[:12]
            args = resolve_command(config.get("Entrypoint"), config.get("Cmd"), spec.entrypoint, spec.cmd)
            exposed = sorted({*_ports_of(config.get("ExposedPorts") or {}), *spec.exposed_ports})
            record = ContainerRecord(
                id=container_id, name=name, created=time.time(), spec=spec, image_id=image.id, args=args,
                env=merge_env(config.get("Env"), spec.env, hostname=hostname, tty=spec.tty),
                workdir=spec.workdir or config.get("WorkingDir") or "/",
                user=spec.user or config.get("User") or "", hostname=hostname, exposed_ports=exposed,
                stop_signal=spec.stop_signal or config.get("StopSignal") or "SIGTERM",
                restart=RestartTracker(policy=policy, maximum_retry_count=retries))
            signal_number(record.stop_signal)
            record.warnings = _rlimit_warnings(spec)
            folder = self._folder(record)
            for sub in ("upper", "work", "merged"):
                (folder / sub).mkdir(parents=True, exist_ok=True)
            (folder / "hostname").write_text(f"{hostname}\n")
            (folder / "hosts").write_text(render_hosts(hostname))
            (folder / "resolv.conf").write_text(render_resolv_conf())
            self._claim_volumes(record, config)
            self.store.save(record)
        self._emit("create", record)
        return record

    def _check_network_mode(self, spec: ContainerCreateSpec) -> None:
        mode = spec.network_mode or "bridge"
        if mode in ("bridge", "default", "none", "host"):
            return
        if mode.startswith("container:"):
            self.store.get(mode.split(":", 1)[1])
            return
        self.network.get(mode)  # NetworkNotFound

    def _claim_volumes(self, record: ContainerRecord, config: dict[str, Any]) -> None:
        targets = {m.target for m in record.spec.mounts}
        for mount in record.spec.mounts:
            if mount.type == "volume":
                volume = self.volumes.create(mount.source)
                mount.source = volume.name
                record.volumes.append(volume.name)
                if volume.anonymous:
                    record.anonymous_volumes.append(volume.name)
        image_volumes = [*(config.get("Volumes") or {}), *record.spec.volumes]
        for target in image_volumes:
            if target in targets:
                continue
            volume = self.volumes.create()
            from engine.model import MountSpec  # noqa: PLC0415 - the request's own type

            record.spec.mounts.append(MountSpec(type="volume", target=target, source=volume.name))
            record.volumes.append(volume.name)
            record.anonymous_volumes.append(volume.name)
            targets.add(target)

    # -------------------------------------------------------------------- start

    def start(self, ref: str) -> bool:
        """Start a created or exited container; ``False`` if it is already running (Docker's 304).

        Raises:
            CommandNotFound: the command is not in the image (exit code 127 recorded).
            InvalidSpec, Conflict, RuntimeFailure, NetworkError, StorageError: the start failed;
                the container is left as it was, with ``error`` set.
        """
        record = self.store.get(ref)
        if record.status in (Status.RUNNING, Status.PAUSED):
            return False
        record.restart.on_manual_start()
        self._start(record)
        return True

    def _start(self, record: ContainerRecord) -> None:
        with self.store.lock:
            previous = record.status
            transition(previous, Operation.START, record.subject)
        with Job(self.bus, "start", record.id, Component.ENGINE) as job:
            undo: list[Callable[[], None]] = []
            try:
                self._bring_up(record, job, undo)
            except BaseException as exc:
                for step in reversed(undo):
                    try:
                        step()
                    except WharfError:
                        continue
                with self._changed:
                    record.error = str(exc)
                    record.exit_code = 127 if isinstance(exc, CommandNotFound) else 128
                    record.rootfs.mounted = False
                    record.pid = 0
                    record.finished_at = time.time()
                    self.store.save(record)
                    self._changed.notify_all()
                    hooks = self._attach_hooks.pop(record.id, [])
                for hook in hooks:
                    hook(False)
                if record.spec.auto_remove:
                    try:
                        self.remove(record.id, force=True, volumes=True)
                    except WharfError:
                        pass
                raise
            with self._changed:
                record.status = transition(record.status, Operation.START, record.subject)
                record.error = ""
                record.started_at = time.time()
                record.finished_at = 0.0
                self.store.save(record)
                self._changed.notify_all()
            self._emit("start", record, job)
        self._watch(record)

    def _bring_up(self, record: ContainerRecord, job: Job, undo: list[Callable[[], None]]) -> None:
        folder = self._folder(record)
        image = self.images.resolve(record.image_id)
        if self.runtime.paths(record.id).state.exists():
            self._delete_runtime(record)  # state of an earlier run
        for sub in ("upper", "work", "merged"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        info = self.graph.mount(record.id, list(image.chain_ids), str(folder / "upper"), str(folder / "work"),
                                str(folder / "merged"), job=job)
        undo.append(lambda: self.graph.unmount(str(folder / "merged")))
        record.rootfs = RootfsInfo(info.driver, info.target, list(info.lowerdir), info.upperdir,
                                   info.workdir, info.options, True)
        volumes = self._resolve_volumes(record, Path(info.target))
        mode = record.spec.network_mode or "bridge"
        netns = "new"
        if mode == "host":
            netns = "host"
        elif mode.startswith("container:"):
            other = self.store.get(mode.split(":", 1)[1])
            if other.status not in (Status.RUNNING, Status.PAUSED) or not other.pid:
                raise Conflict(f"cannot join the network of {other.subject}: it is not running")
            netns = f"/proc/{other.pid}/ns/net"
        spec = runtime_spec(record, info.target, folder, volumes, netns,
                            joins=namespace_joins(record, self.store.get))
        process = self.runtime.create(spec, job=job)
        undo.append(lambda: self._delete_runtime(record))
        record.pid = process.pid
        record.warnings = list(process.warnings)
        undo.append(lambda: self.network.release(record.id))
        record.ports = self._wire_network(record, mode, process.netns_path, job)
        with self.store.lock:
            hooks = self._attach_hooks.pop(record.id, [])
        for hook in hooks:
            hook(True)  # attach before the command runs, so no output is missed
        self.runtime.start(record.id)

    def _resolve_volumes(self, record: ContainerRecord, rootfs: Path) -> list[VolumeMount]:
        resolved = []
        for mount in bind_and_volume_requests(record):
            if mount.type == "bind":
                if not os.path.exists(mount.source):
                    raise InvalidSpec(f"invalid mount config for type \"bind\": bind source path does not "
                                      f"exist: {mount.source}")
                resolved.append(VolumeMount(mount.source, mount.target, mount.read_only,
                                            mount.propagation or "rprivate"))
                continue
            volume = self.volumes.get(mount.source)
            if "nocopy" not in mount.options:
                inside = _inside(rootfs, mount.target)
                if inside is not None:
                    self.volumes.populate(volume.name, inside)
            resolved.append(VolumeMount(str(volume.mountpoint), mount.target, mount.read_only))
        return resolved

    def _wire_network(self, record: ContainerRecord, mode: str, netns: str, job: Job) -> list[PortBinding]:
        if mode in ("none", "host") or mode.startswith("container:"):
            self.network.join(record.id, mode, netns if mode == "none" else "", record.hostname,
                              name=record.name, job=job)
            return []
        requested = {("bridge" if n == "default" else n): e for n, e in record.spec.networks.items()}
        names = [mode if mode != "default" else "bridge"]
        names += [n for n in requested if n not in names]
        first = None
        for name in names:
            endpoint_spec = requested.get(name)
            endpoint = self.network.connect(name, record.id, netns, record.hostname,
                                            aliases=list(endpoint_spec.aliases) if endpoint_spec else [],
                                            ip=(endpoint_spec.ipv4_address or None) if endpoint_spec else None,
                                            name=record.name, job=job)
            first = first or endpoint
        wanted = [NetPortBinding(b.container_port, b.protocol, b.host_ip, b.host_port)
                  for b in record.spec.port_bindings]
        bound = {(b.container_port, b.protocol) for b in record.spec.port_bindings}
        if record.spec.publish_all_ports:
            wanted += [NetPortBinding(port, proto) for port, proto in record.exposed_ports
                       if (port, proto) not in bound]
        if not wanted or first is None:
            return []
        published = self.network.publish(record.id, first, wanted, job=job)
        return [PortBinding(p.container_port, p.protocol, p.host_ip, p.host_port) for p in published]

    def _delete_runtime(self, record: ContainerRecord) -> None:
        try:
            self.runtime.delete(record.id, force=True, keep_log=True)
        except ContainerNotFound:
            pass

    def on_next_start(self, container_id: str, hook: Callable[[bool], None]) -> None:
        """Call ``hook(True)`` during the next start, after the init exists and before the command
        runs (``docker run`` attaches to a container before it starts it), or ``hook(False)``
        when that start fails."""
        with self.store.lock:
            self._attach_hooks.setdefault(container_id, []).append(hook)

    # ----------------------------------------------------------- stop and kill

    def stop(self, ref: str, timeout: int | None = None, signal: str | None = None) -> bool:
        """Stop signal, wait, then SIGKILL; ``False`` if it was not running (Docker's 304)."""
        record = self.store.get(ref)
        record.restart.on_manual_stop()
        self.store.save(record)
        if record.status == Status.RESTARTING:
            with self._changed:
                record.status = transition(record.status, Operation.STOP, record.subject)
                self.store.save(record)
                self._changed.notify_all()
            return True
        if record.status not in (Status.RUNNING, Status.PAUSED):
            return False
        grace = record.spec.stop_timeout if timeout is None else timeout
        grace = DEFAULT_STOP_TIMEOUT if grace is None else grace
        try:
            if record.status == Status.PAUSED:
                self.runtime.unpause(record.id)
                self._set_status(record, Operation.UNPAUSE)
            if grace != 0:
                self.runtime.kill(record.id, signal_number(signal or record.stop_signal))
            if grace < 0 or not self._wait_exit(record, grace if grace > 0 else 0):
                self.runtime.kill(record.id, signals.SIGKILL)
                self._wait_exit(record, None)
        except WharfError:
            if not self._wait_exit(record, 5):
                raise
        self._emit("stop", record)
        return True

    def _wait_exit(self, record: ContainerRecord, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while record.status in (Status.RUNNING, Status.PAUSED):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(left if left is not None else 1.0)
        return True

    def kill(self, ref: str, signal: str = "SIGKILL") -> None:
        """Send a signal to the container's init.

        Raises:
            Conflict: ``Container <id> is not running``.
        """
        record = self.store.get(ref)
        if record.status not in (Status.RUNNING, Status.PAUSED):
            raise Conflict(f"Cannot kill container: {record.name}: Container {record.id} is not running")
        number = signal_number(signal)
        if number in (signals.SIGKILL, signals.SIGTERM, signals.SIGINT):
            record.restart.on_manual_stop()
            self.store.save(record)
        self.runtime.kill(record.id, number)
        self._emit("kill", record, signal=str(number))
        if number == signals.SIGKILL:
            self._wait_exit(record, 10)  # as dockerd: a SIGKILL returns once the container is down

    def restart(self, ref: str, timeout: int | None = None, signal: str | None = None) -> None:
        """Stop (if running), then start."""
        record = self.store.get(ref)
        self.stop(record.id, timeout, signal)
        record.restart.on_manual_start()
        self._start(record)
        self._emit("restart", record)

    def pause(self, ref: str) -> None:
        """Freeze the container's processes."""
        record = self.store.get(ref)
        transition(record.status, Operation.PAUSE, record.subject)
        self.runtime.pause(record.id)
        self._set_status(record, Operation.PAUSE)
        self._emit("pause", record)

    def unpause(self, ref: str) -> None:
        """Thaw the container's processes."""
        record = self.store.get(ref)
        transition(record.status, Operation.UNPAUSE, record.subject)
        self.runtime.unpause(record.id)
        self._set_status(record, Operation.UNPAUSE)
        self._emit("unpause", record)

    # ------------------------------------------------------------------ remove

    def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        """Remove a container; running ones only with ``force`` (killed first).

        Raises:
            InvalidStateTransition: running and not forced (409, "stop the container before removing or force remove").
        """
        record = self.store.get(ref)
        operation = Operation.FORCE_REMOVE if force else Operation.REMOVE
        with self._changed:
            was_alive = record.status in (Status.RUNNING, Status.PAUSED)
            record.status = transition(record.status, operation, record.subject)
            self.store.save(record)
        if was_alive:
            self.runtime.kill(record.id, signals.SIGKILL)
            monitor = self._monitors.get(record.id)
            if monitor is not None and monitor is not threading.current_thread():
                monitor.join(timeout=15)
        self._tear_down(record, None)
        shutil.rmtree(self._folder(record), ignore_errors=True)
        self.store.forget(record.id)
        if volumes:
            for name in record.anonymous_volumes:
                try:
                    self.volumes.remove(name, self.volume_users)
                except (NotFound, Conflict):
                    continue
        with self._changed:
            self._changed.notify_all()
        self._emit("destroy", record)

    def volume_users(self, name: str) -> list[str]:
        """Names of the containers that use volume ``name``."""
        return [r.name for r in self.store.all() if name in r.volumes]

    # -------------------------------------------------------------------- wait

    def wait(self, ref: str, condition: str = "not-running", timeout: float | None = None,
             cancelled: Callable[[], bool] = lambda: False) -> int | None:
        """Block until the condition holds; the exit code, or ``None`` on timeout or cancel.

        Args:
            condition: ``not-running`` (returns at once if it is not running),
                ``next-exit`` (the next exit from now), or ``removed``.
        """
        record = self.store.get(ref)
        deadline = None if timeout is None else time.monotonic() + timeout
        baseline = record.finished_at
        with self._changed:
            while True:
                alive = record.status in (Status.RUNNING, Status.PAUSED, Status.RESTARTING)
                if condition == "removed":
                    if self.store.lookup(record.id) is None:
                        return record.exit_code
                elif condition == "next-exit":
                    if record.finished_at > baseline:
                        return record.exit_code
                elif not alive:
                    return record.exit_code
                if cancelled():
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._changed.wait(min(left, 0.5) if left is not None else 0.5)

    # ------------------------------------------------------------------- misc

    def rename(self, ref: str, new_name: str) -> None:
        """Give the container another name."""
        record = self.store.get(ref)
        with self.store.lock:
            old = record.name
            record.name = self.store.claim_name(new_name, record.id)
            self.store.save(record)
        self._emit("rename", record, oldName=f"/{old}")

    def close(self) -> None:
        """Stop supervising (containers keep running; a new engine adopts them)."""
        self._closing = True


def _rlimit_warnings(spec: ContainerCreateSpec) -> list[str]:
    """The warnings the start will give for ulimits above the engine's own (Docker's CLI prints
    create's warnings)."""
    known = [u for u in spec.resources.ulimits if u.name.lower().removeprefix("rlimit_") in RLIMIT_NAMES]
    return clamp_rlimits(ProcessSpec(args=["true"], rlimits=[Rlimit(u.name, u.soft, u.hard) for u in known]))


def _ports_of(exposed: dict[str, Any]) -> list[tuple[int, str]]:
    result = []
    for key in exposed:
        port, _, proto = str(key).partition("/")
        if port.isdigit():
            result.append((int(port), proto or "tcp"))
    return result


def _inside(rootfs: Path, target: str) -> Path | None:
    """The folder ``target`` names inside ``rootfs``, or ``None`` when it does not exist there
    or a symlink on the way leads out of the root (then nothing is copied from the image)."""
    candidate = rootfs
    for part in [p for p in target.split("/") if p and p != "."]:
        if part == "..":
            return None
        candidate = candidate / part
        if candidate.is_symlink():
            return None
    return candidate if candidate.is_dir() else None
