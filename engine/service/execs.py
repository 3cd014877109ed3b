"""The exec part of the engine facade: processes run inside running containers."""

from __future__ import annotations

import secrets
import threading

from engine.containers.manager import ContainerManager
from engine.containers.state import Status
from engine.errors import Conflict, NotFound
from engine.model import Cancel, ExecInfo, ExecSpec
from engine.runtime.runtime import Runtime
from engine.runtime.spec import ProcessSpec
from engine.service.sessions import ExecSession, drain


class ExecService:
    """``EngineBackend``'s exec operations (mixed into :class:`engine.engine.Engine`)."""

    containers: ContainerManager
    runtime: Runtime
    _execs: dict[str, ExecInfo]
    _exec_lock: threading.Lock


    def exec_create(self, ref: str, spec: ExecSpec) -> str:
        """Create an exec instance; returns its ID."""
        record = self.containers.get(ref)
        if record.status != Status.RUNNING:
            raise Conflict(f"Container {record.id} is not running" if record.status != Status.PAUSED
                           else f"Container {record.id} is paused, unpause the container before exec")
        exec_id = secrets.token_hex(32)
        with self._exec_lock:
            self._execs[exec_id] = ExecInfo(exec_id, record.id, spec)
        record.exec_ids.append(exec_id)
        self.containers.store.save(record)
        return exec_id

    def _exec(self, exec_id: str) -> ExecInfo:
        with self._exec_lock:
            info = self._execs.get(exec_id)
        if info is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        return info

    def exec_start(self, exec_id: str, detach: bool, tty: bool, console_size: tuple[int, int] | None,
                   cancel: Cancel) -> ExecSession | None:
        """Start the exec; ``None`` when detached."""
        info = self._exec(exec_id)
        if info.running or info.exit_code is not None:
            raise Conflict(f"exec {exec_id} has already been started")
        record = self.containers.get(info.container_id)
        from engine.containers.command import merge_env  # noqa: PLC0415
        from engine.containers.prepare import capabilities  # noqa: PLC0415

        spec = info.spec
        process = ProcessSpec(args=list(spec.cmd), env=merge_env(record.env, spec.env, tty=tty or spec.tty),
                              cwd=spec.workdir or record.workdir or "/", user=spec.user or record.user,
                              tty=tty or spec.tty, open_stdin=spec.attach_stdin,
                              capabilities=capabilities(record.spec.cap_add, record.spec.cap_drop,
                                                        record.spec.privileged or spec.privileged),
                              seccomp=not (record.spec.privileged or spec.privileged),
                              console_size=console_size or spec.console_size)
        stream = self.runtime.exec(record.id, process, exec_id)
        info.running, info.pid = True, stream.pid  # type: ignore[attr-defined]

        def finished() -> None:
            state = self.runtime.exec_state(record.id, exec_id) or {}
            info.running = bool(state.get("running"))
            if state.get("exit_code") is not None:
                info.exit_code = state["exit_code"]

        if detach:
            threading.Thread(target=drain, args=(stream, info), daemon=True).start()
            return None
        return ExecSession(stream, info, finished)

    def exec_inspect(self, exec_id: str) -> ExecInfo:
        """The exec instance."""
        info = self._exec(exec_id)
        if info.running:
            state = self.runtime.exec_state(info.container_id, exec_id) or {}
            if not state.get("running", True):
                info.running, info.exit_code = False, state.get("exit_code")
        return info

    def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        """Resize the exec's tty."""
        info = self._exec(exec_id)
        self.runtime.resize(info.container_id, height, width, exec_id)
