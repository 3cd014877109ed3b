"""The exec driver's front door: create, start, stop, exec into and inspect containers.

:class:`Runtime` runs in the engine (threads, asyncio) and never forks a
container itself: it writes the spec, asks the launcher for a shim, then
talks to that shim over its unix socket. All state lives on disk in
``<state_root>/<id>/runtime/``, so a new :class:`Runtime` on the same root
re-adopts every container and shim still alive (PIDs are checked against
their ``/proc/<pid>/stat`` start time, never trusted alone).

Lifecycle (runc's): ``create`` → created → ``start`` → running ⇄ paused →
stopped → ``delete``. A stopped container is not started again: delete it
and create it anew (that is what a restart policy does).
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from engine import errors
from engine.errors import (ContainerNotFound, InvalidStateTransition, RuntimeFailure,
                           WharfError)
from engine.jobs import Component, Event, EventBus, Job
from engine.runtime import caps, cgroups
from engine.runtime import protocol as proto
from engine.runtime.launcher import LauncherClient
from engine.runtime.records import (CREATED, PAUSED, RUNNING, STOPPED, ContainerProcess,
                                    ContainerState, ProcessInfo, process_info)
from engine.runtime.spec import ProcessSpec, RuntimeSpec, clamp_rlimits, spec_to_dict
from engine.runtime.statefiles import (Paths, alive, read_json, signal_process, wait_gone,
                                       write_json)
from engine.runtime.streams import ExecProcess, ProcessStream



def _error_from(report: dict[str, Any]) -> WharfError:
    kind, message = report.get("kind") or "", report.get("message") or "runtime failure"
    cls = getattr(errors, kind, None)
    if kind == "InvalidStateTransition":
        return RuntimeFailure(message)
    if isinstance(cls, type) and issubclass(cls, WharfError):
        return cls(message)
    return RuntimeFailure(message)


class Runtime:
    """Wharf's exec driver.

    Args:
        state_root: the folder of per-container folders (``<root>/containers``);
            the runtime uses ``<state_root>/<id>/runtime/`` and ``<id>-json.log``.
        bus: where job steps (component ``EXEC_DRIVER``) are published.

    Methods block (for milliseconds, or up to their timeout): call them from
    worker threads in asyncio code.
    """

    def __init__(self, state_root: Path, bus: EventBus) -> None:
        self.state_root = Path(state_root)
        self.state_root.mkdir(parents=True, exist_ok=True)
        self.bus = bus
        self.launcher = LauncherClient(self.state_root / "launcher.log")

    # ----------------------------------------------------------------- helpers

    def paths(self, container_id: str) -> Paths:
        """The runtime's files for ``container_id``."""
        if "/" in container_id or container_id in ("", ".", ".."):
            raise ContainerNotFound(f"No such container: {container_id}")
        return Paths(self.state_root / container_id, container_id)

    def _record(self, container_id: str) -> tuple[Paths, dict[str, Any]]:
        paths = self.paths(container_id)
        state = read_json(paths.state)
        if state is None:
            raise ContainerNotFound(f"No such container: {container_id}")
        return paths, state

    def list(self) -> list[ContainerState]:
        """Every container with runtime state under the root (adopted ones included)."""
        result = []
        for entry in sorted(self.state_root.iterdir()):
            if (entry / "runtime" / "state.json").exists():
                try:
                    result.append(self.state(entry.name))
                except ContainerNotFound:
                    continue
        return result

    # --------------------------------------------------------------- lifecycle

    def create(self, spec: RuntimeSpec, job: Job | None = None,
               timeout: float = 60.0) -> ContainerProcess:
        """Create the container: cgroup, namespaces, rootfs, init waiting for :meth:`start`.

        Raises:
            InvalidSpec: the spec cannot be honoured (bind source missing, unknown user…).
            CommandNotFound: the command is not in the image; the container is then
                stopped with exit code 127 (and the message in its log); delete it.
            AlreadyExists: runtime state for this ID exists already.
            RuntimeFailure: anything else that failed while setting it up.
        """
        own_job = job is None
        job = job or Job(self.bus, "create", spec.id, Component.EXEC_DRIVER)
        if own_job:
            job.__enter__()
        try:
            result = self._create(spec, job, timeout)
        except BaseException as exc:
            if own_job:
                job.__exit__(type(exc), exc, None)
            raise
        if own_job:
            job.__exit__(None, None, None)
        return result

    def _create(self, spec: RuntimeSpec, job: Job, timeout: float) -> ContainerProcess:
        spec.validate()
        if spec.privileged:
            spec.process.capabilities = caps.all_capabilities()
        warnings = clamp_rlimits(spec.process)
        paths = self.paths(spec.id)
        if paths.state.exists():
            raise errors.AlreadyExists(f"container {spec.id} already has runtime state; "
                                       "delete it first")
        paths.dir.mkdir(parents=True, exist_ok=True)
        write_json(paths.spec, spec_to_dict(spec))
        job.step("spec written", Component.EXEC_DRIVER, path=str(paths.spec),
                 warnings=warnings)
        read_fd, write_fd = os.pipe()
        try:
            try:
                self.launcher.spawn(paths.container_dir, spec.id, write_fd)
            finally:
                os.close(write_fd)
            report = _read_report(read_fd, timeout)
        except RuntimeFailure:
            self._discard(spec.id)
            raise
        finally:
            os.close(read_fd)
        if report.get("cgroup_files"):
            job.step("cgroup files written", Component.EXEC_DRIVER,
                     version=report.get("cgroup_version"),
                     files=[list(item) for item in report["cgroup_files"]])
        if report.get("namespaces"):
            job.step("namespaces created", Component.EXEC_DRIVER, **report["namespaces"])
        if not report.get("ok"):
            if paths.state.exists():  # the init ran and failed: it is now a stopped container
                self.wait(spec.id, timeout=5)
            else:  # nothing was started: leave nothing behind
                self._discard(spec.id)
            raise _error_from(report)
        state = read_json(paths.state) or {}
        job.step("pid launched", Component.EXEC_DRIVER, pid=report["pid"],
                 shim_pid=state.get("shim_pid"), netns=f"/proc/{report['pid']}/ns/net",
                 seconds=report.get("seconds", {}))
        return ContainerProcess(spec.id, report["pid"], state.get("shim_pid", 0),
                                report.get("namespaces", {}), paths.log, warnings)

    def _discard(self, container_id: str) -> None:
        paths = self.paths(container_id)
        if not paths.state.exists():
            shutil.rmtree(paths.dir, ignore_errors=True)
            try:
                self._cgroup(container_id).destroy()
            except RuntimeFailure:
                pass

    def start(self, container_id: str) -> None:
        """Let the created init exec the container's command."""
        paths, _ = self._record(container_id)
        current = self.state(container_id)
        if current.status != CREATED:
            raise InvalidStateTransition(current.status, "start", f"container {container_id}")
        try:
            reply = proto.request(paths.dir, {"op": "start"})
        except OSError as exc:
            raise RuntimeFailure(f"cannot reach the shim of {container_id}: {exc}") from exc
        if not reply.get("ok"):
            raise _error_from(reply)
        self.bus.publish(_step("start", container_id, pid=current.pid))

    def state(self, container_id: str) -> ContainerState:
        """The container's status now, from its files and live PIDs."""
        paths, st = self._record(container_id)
        result = ContainerState(container_id, st.get("status", STOPPED), st.get("init_pid") or 0,
                                st.get("shim_pid") or 0, created_at=st.get("created_at", 0.0),
                                started_at=st.get("started_at", 0.0))
        exit_record = read_json(paths.exit)
        init_alive = shim_alive = False
        if exit_record is None:
            init_alive = alive(st.get("init_pid"), st.get("init_start"))
            shim_alive = alive(st.get("shim_pid"), st.get("shim_start"))
            if not init_alive and not shim_alive:
                # the shim writes exit.json before it exits: read again now that it is seen
                # gone (it may have recorded the exit and ended since the first read)
                exit_record = read_json(paths.exit)
        if exit_record is not None:
            result.status, result.pid = STOPPED, 0
            result.exit_code = exit_record["exit_code"]
            result.oom_killed = exit_record.get("oom_killed", False)
            result.finished_at = exit_record.get("finished_at", 0.0)
            result.exit_recorded_at = exit_record.get("recorded_at", 0.0)
            return result
        if not init_alive and not shim_alive:
            result.status, result.pid, result.exit_code = STOPPED, 0, 255
            result.error = "the shim died before recording the exit status"
            return result
        if result.status == RUNNING and init_alive and self._cgroup(container_id).frozen():
            result.status = PAUSED
        if result.status not in (CREATED, RUNNING, PAUSED):
            result.status = RUNNING  # the shim is recording the exit right now
        return result

    def wait(self, container_id: str, timeout: float | None = None) -> ContainerState:
        """Block until the container is stopped (or ``timeout`` passes); its state then.

        On timeout the returned state is simply not ``stopped``.
        """
        paths, _ = self._record(container_id)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self.state(container_id)
            if current.status == STOPPED:
                return current
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return current
            try:
                proto.request(paths.dir, {"op": "wait"},
                              timeout=None if left is None else max(0.01, left))
            except (OSError, ValueError):
                # the shim is gone (or going): it writes exit.json before closing its socket
                if self.state(container_id).status != STOPPED:
                    time.sleep(0.005)

    def kill(self, container_id: str, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to the container's init (PID 1 ignores signals it has no handler for,
        as in Docker; SIGKILL always works, also on a paused container)."""
        current = self.state(container_id)
        if current.status == STOPPED:
            raise InvalidStateTransition(current.status, "kill", f"container {container_id}")
        _, st = self._record(container_id)
        signal_process(st["init_pid"], st["init_start"], sig)
        if current.status == PAUSED and sig == signal.SIGKILL:
            self._cgroup(container_id).thaw()

    def pause(self, container_id: str) -> None:
        """Freeze every process of the container."""
        current = self.state(container_id)
        if current.status != RUNNING:
            raise InvalidStateTransition(current.status, "pause", f"container {container_id}")
        self._cgroup(container_id).freeze()
        self.bus.publish(_step("pause", container_id))

    def unpause(self, container_id: str) -> None:
        """Thaw a paused container."""
        current = self.state(container_id)
        if current.status != PAUSED:
            raise InvalidStateTransition(current.status, "unpause", f"container {container_id}")
        self._cgroup(container_id).thaw()
        self.bus.publish(_step("unpause", container_id))

    def delete(self, container_id: str, force: bool = False, keep_log: bool = False) -> None:
        """Remove a stopped (or created) container's cgroup, shim and runtime state.

        Args:
            force: kill a running or paused container first.
            keep_log: keep ``<id>-json.log`` (a restart: the next create appends to it).
        """
        paths = self.paths(container_id)
        if not paths.state.exists():
            if paths.dir.exists():
                shutil.rmtree(paths.dir, ignore_errors=True)
                self._cgroup(container_id).destroy()
                return
            raise ContainerNotFound(f"No such container: {container_id}")
        current = self.state(container_id)
        if current.status in (RUNNING, PAUSED) and not force:
            raise InvalidStateTransition(current.status, "delete", f"container {container_id}")
        if current.status != STOPPED:
            self.kill(container_id, signal.SIGKILL)
            if self.wait(container_id, timeout=10).status != STOPPED:
                raise RuntimeFailure(f"container {container_id} did not die after SIGKILL")
        _, st = self._record(container_id)
        if not wait_gone(st.get("shim_pid"), st.get("shim_start"), timeout=5):
            signal_process(st["shim_pid"], st["shim_start"], signal.SIGKILL)
        self._cgroup(container_id).destroy()
        shutil.rmtree(paths.dir, ignore_errors=True)
        try:
            if not keep_log:
                paths.log.unlink(missing_ok=True)
                for rotated in paths.container_dir.glob(f"{container_id}-json.log.*"):
                    rotated.unlink()
            paths.container_dir.rmdir()
        except OSError:
            pass
        self.bus.publish(_step("delete", container_id))

    def run(self, spec: RuntimeSpec, timeout: float | None = None) -> ContainerState:
        """create + start + wait: the container's final state. Its timestamps
        (``created_at``, ``started_at``, ``finished_at``, ``exit_recorded_at``)
        time each phase, e.g. for a create → exit-recorded benchmark."""
        self.create(spec)
        self.start(spec.id)
        return self.wait(spec.id, timeout)

    # ------------------------------------------------------------ processes

    def exec(self, container_id: str, process: ProcessSpec, exec_id: str = "") -> ExecProcess:
        """Run ``process`` inside the running container (all its namespaces and cgroups).

        Raises:
            CommandNotFound: the command is not in the container.
            InvalidStateTransition: the container is not running.
        """
        current = self.state(container_id)
        if current.status != RUNNING:
            raise InvalidStateTransition(current.status, "exec in", f"container {container_id}")
        clamp_rlimits(process)
        paths = self.paths(container_id)
        sock = proto.connect(paths.dir, timeout=30)
        try:
            sock.sendall(proto.encode({"op": "exec", "process": spec_to_dict(process),
                                       "exec_id": exec_id}))
            reply, rest = proto.read_line(sock)
        except OSError as exc:
            sock.close()
            raise RuntimeFailure(f"exec in {container_id} failed: {exc}") from exc
        if not reply.get("ok"):
            sock.close()
            raise _error_from(reply)
        self.bus.publish(_step("exec", container_id, pid=reply["pid"], args=process.args))
        return ExecProcess(sock, rest, bool(reply.get("tty")), reply["pid"], exec_id)

    def exec_state(self, container_id: str, exec_id: str) -> dict[str, Any] | None:
        """An exec's record (``pid``, ``running``, ``exit_code``), also after its stream
        was dropped (``docker exec -d``); ``None`` for an unknown exec ID."""
        self._record(container_id)
        record = read_json(self.paths(container_id).exec_record(exec_id))
        if record and record.get("running") and self.state(container_id).status == STOPPED:
            record.update(running=False)  # killed with its container before it could report
        return record

    def attach(self, container_id: str, stdin: bool = False, stdout: bool = True,
               stderr: bool = True, stdin_once: bool = False) -> ProcessStream:
        """Connect to the init's stdio (attach before :meth:`start` to miss nothing)."""
        current = self.state(container_id)
        if current.status == STOPPED:
            raise InvalidStateTransition(current.status, "attach to", f"container {container_id}")
        sock = proto.connect(self.paths(container_id).dir, timeout=30)
        sock.sendall(proto.encode({"op": "attach", "stdin": stdin, "stdout": stdout,
                                   "stderr": stderr, "stdin_once": stdin_once}))
        reply, rest = proto.read_line(sock)
        if not reply.get("ok"):
            sock.close()
            raise _error_from(reply)
        return ProcessStream(sock, rest, bool(reply.get("tty")))

    def resize(self, container_id: str, height: int, width: int, exec_id: str = "") -> None:
        """Resize the tty of the init (or of the exec ``exec_id``)."""
        self._record(container_id)
        try:
            proto.request(self.paths(container_id).dir,
                          {"op": "resize", "h": height, "w": width, "exec_id": exec_id})
        except OSError as exc:
            raise InvalidStateTransition("stopped", "resize", f"container {container_id}") from exc

    def top(self, container_id: str) -> list[ProcessInfo]:
        """The container's processes with host and in-container PIDs."""
        result = []
        for pid in sorted(self._cgroup(container_id).pids()):
            info = process_info(pid)
            if info is not None:
                result.append(info)
        return result

    def cgroup(self, container_id: str) -> cgroups.Cgroup:
        """The container's cgroup (for stats and the teaching view)."""
        self._record(container_id)
        return self._cgroup(container_id)

    def _cgroup(self, container_id: str) -> cgroups.Cgroup:
        return cgroups.for_container(container_id)

    def close(self) -> None:
        """Stop the launcher; containers and shims keep running."""
        self.launcher.close()


def _step(action: str, container_id: str, **detail: Any) -> Event:
    return Event("step", action, "", Component.EXEC_DRIVER, container_id, detail)


def _read_report(fd: int, timeout: float) -> dict[str, Any]:
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        poller = select.poll()  # not select(): the engine may hold more than 1024 descriptors
        poller.register(fd, select.POLLIN)
        if left <= 0 or not poller.poll(left * 1000):
            raise RuntimeFailure("the shim did not report within the timeout")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeFailure("the shim died before reporting (see runtime/shim.log)")
        buf += chunk
    return json.loads(buf.partition(b"\n")[0])
