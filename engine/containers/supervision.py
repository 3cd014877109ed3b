"""Supervision of running containers: exit monitors, teardown, restart policies, adoption.

One monitor thread per running container waits for its exit (the shim
records it), then tears down what the start set up, records the exit and
applies the restart policy with Docker's backoff. :meth:`Supervision.adopt`
takes containers back after an engine restart. Mixed into
:class:`engine.containers.manager.ContainerManager`.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engine.containers.records import ContainerRecord, ContainerStore
from engine.containers.state import Operation, Status, transition
from engine.errors import ContainerNotFound, WharfError
from engine.jobs import Component, EventBus, Job
from engine.network.driver import NetworkDriver
from engine.runtime.records import STOPPED
from engine.runtime.runtime import Runtime
from engine.storage.driver import GraphDriver


MONITOR_RECHECK = 30.0
"""Seconds a monitor waits on its shim before checking whether the engine is closing."""


class Supervision:
    """The monitoring half of the container manager."""

    store: ContainerStore
    bus: EventBus
    runtime: Runtime
    network: NetworkDriver
    graph: GraphDriver
    _changed: threading.Condition
    _monitors: dict[str, threading.Thread]
    _closing: bool
    _emit: Callable[..., None]
    _start: Callable[[ContainerRecord], None]
    _delete_runtime: Callable[[ContainerRecord], None]
    remove: Callable[..., None]


    def _watch(self, record: ContainerRecord) -> None:
        thread = threading.Thread(target=self._monitor, args=(record.id,), name=f"monitor-{record.short_id}",
                                  daemon=True)
        with self.store.lock:
            self._monitors[record.id] = thread
        thread.start()

    def _monitor(self, container_id: str) -> None:
        # The shim answers a wait the moment the container exits, so the timeout only
        # bounds how long a closed engine's monitor lingers; a short one would make an
        # idle engine with 100 containers poll 100 shims a second.
        while not self._closing:
            try:
                state = self.runtime.wait(container_id, timeout=MONITOR_RECHECK)
            except ContainerNotFound:
                return
            if state.status == STOPPED:
                break
        else:
            return
        self._on_exit(container_id, state.exit_code if state.exit_code is not None else 255,
                      state.oom_killed, state.finished_at or time.time())

    def _on_exit(self, container_id: str, exit_code: int, oom_killed: bool, finished_at: float) -> None:
        try:
            record = self.store.get(container_id)
        except ContainerNotFound:
            return
        with Job(self.bus, "die", record.id, Component.ENGINE) as job:
            self._tear_down(record, job)
            with self._changed:
                record.exit_code, record.oom_killed = exit_code, oom_killed
                record.finished_at, record.pid, record.ports = finished_at, 0, []
                self._monitors.pop(record.id, None)
                if record.status not in (Status.EXITED, Status.REMOVING):
                    record.status = transition(record.status, Operation.EXIT, record.subject)
                self.store.save(record)
                self._changed.notify_all()
            if oom_killed:
                self._emit("oom", record, job)
            self._emit("die", record, job, exitCode=str(exit_code))
        if record.spec.auto_remove and record.status != Status.REMOVING:
            try:
                self.remove(record.id, force=True, volumes=True)
            except ContainerNotFound:
                pass
            return
        delay = record.restart.next_restart(exit_code, max(0.0, finished_at - record.started_at))
        if delay is not None and not self._closing:
            with self._changed:
                record.status = transition(record.status, Operation.SCHEDULE_RESTART, record.subject)
                self.store.save(record)
            timer = threading.Timer(delay, self._restart_after_backoff, args=(record.id,))
            timer.daemon = True
            timer.start()

    def _restart_after_backoff(self, container_id: str) -> None:
        try:
            record = self.store.get(container_id)
        except ContainerNotFound:
            return
        if record.status != Status.RESTARTING or self._closing:
            return
        try:
            self._start(record)
        except WharfError:
            with self._changed:
                record.status = Status.EXITED
                self.store.save(record)
                self._changed.notify_all()

    def _tear_down(self, record: ContainerRecord, job: Job | None) -> None:
        """Undo what a start set up: network, runtime state, the rootfs mount."""
        self._delete_runtime(record)
        self.network.release(record.id, job=job)
        merged = str(self._folder(record) / "merged")
        if record.rootfs.mounted or os.path.ismount(merged):  # an engine killed mid-start saved no flag
            self.graph.unmount(record.rootfs.target or merged)
            record.rootfs.mounted = False

    def adopt(self) -> None:
        """Take back every container after an engine restart (see the module docs)."""
        self._drop_unfinished_creates()
        for record in self.store.all():
            half_started = (self.runtime.paths(record.id).state.exists()
                            or os.path.ismount(self._folder(record) / "merged"))
            if record.status in (Status.CREATED, Status.EXITED) and half_started:
                self._tear_down(record, None)  # an engine killed mid-start: back to a clean stop
                self.store.save(record)
                continue
            if record.status not in (Status.RUNNING, Status.PAUSED, Status.RESTARTING):
                continue
            try:
                state = self.runtime.state(record.id)
            except ContainerNotFound:
                state = None
            if state is not None and state.status != STOPPED:
                record.pid = state.pid
                self._watch(record)
                continue
            exit_code = state.exit_code if state is not None and state.exit_code is not None else 255
            self._on_exit(record.id, exit_code, bool(state and state.oom_killed),
                          (state.finished_at if state else 0) or time.time())
        for record in self.store.all():
            if record.status == Status.EXITED and record.restart.restarts_on_engine_start():
                try:
                    self._start(record)  # Docker starts always/unless-stopped containers with the daemon
                except WharfError:
                    continue

    def _drop_unfinished_creates(self) -> None:
        """Remove folders of creates an engine was killed in (no record was saved, so the
        API never returned their ID): nothing of theirs may stay behind unlisted."""
        for entry in os.scandir(self.store.root):
            name = entry.name
            if (not entry.is_dir() or len(name) != 64 or self.store.lookup(name) is not None
                    or (Path(entry.path) / "record.json").exists()):
                continue
            try:
                self.runtime.delete(name, force=True)
            except (ContainerNotFound, WharfError):
                pass
            merged = Path(entry.path) / "merged"
            if os.path.ismount(merged):
                try:
                    self.graph.unmount(str(merged))
                except WharfError:
                    continue
            shutil.rmtree(entry.path, ignore_errors=True)
