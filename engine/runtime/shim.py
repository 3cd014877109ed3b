"""The per-container shim: owns the container's stdio, log, exit status and socket.

Started by the launcher already detached (double fork, ``setsid``), it makes
itself a child subreaper, creates the cgroup and the container init
(:mod:`engine.runtime.init`), reports to the engine, then runs one
single-threaded ``selectors`` loop: container output → json-file log and
attached clients; client stdin → container; ``start``, ``attach``, ``exec``,
``resize``, ``wait`` and ``state`` requests on ``runtime/shim.sock``. When
the init exits it drains the output, records the exit status atomically
(128+signal for signal deaths, OOM from the cgroup) and exits.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import RuntimeFailure
from engine.runtime import cgroups, init
from engine.runtime import protocol as proto
from engine.runtime.logs import JsonFileLog
from engine.runtime.shimio import Child, Client, ShimIO, exit_code
from engine.runtime.spec import RuntimeSpec, process_from_dict, spec_from_dict
from engine.runtime.statefiles import Paths, start_time, write_json

NS_NAMES = ("cgroup", "ipc", "mnt", "net", "pid", "uts")


def _handshake(sync: socket.socket, timeout: float,
               on_pid: Callable[[int], dict[str, Any] | None] | None = None,
               ) -> tuple[int | None, dict[str, Any], int | None]:
    """Read the setup process's ``pid`` line and the child's ``ready``/``error`` line.

    ``on_pid`` runs as soon as the child's PID is known (unless the child has
    failed already); an error report it returns stands when the child sends none.
    """
    sync.settimeout(timeout)
    buf, pid, result, master, failure = b"", None, None, None, None
    while pid is None or result is None:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sync, 65536, 4)
        except (TimeoutError, OSError):
            data, fds = b"", []
        for fd in fds:
            master = fd
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            message = json.loads(line)
            if message["type"] == "pid":
                pid = message["pid"]
                if on_pid is not None and result is None:
                    failure = on_pid(pid)
            elif message["type"] in ("ready", "error"):
                result = message
    died = {"type": "error", "kind": "RuntimeFailure", "exit_code": 128,
            "message": "the container process died during setup"}
    return pid, result or failure or died, master


class Shim(ShimIO):
    """State and loop of one shim."""

    def __init__(self, paths: Paths, spec: RuntimeSpec) -> None:
        self.paths, self.spec = paths, spec
        self.cgroup = cgroups.for_container(spec.id)
        self.selector = selectors.DefaultSelector()
        self.log = JsonFileLog(paths.log, spec.log.max_size, spec.log.max_file)
        self.init: Child | None = None
        self.execs: dict[int, Child] = {}
        self.sync: socket.socket | None = None
        self.state: dict[str, Any] = {"id": spec.id, "shim_pid": os.getpid(),
                                      "shim_start": start_time(os.getpid()),
                                      "status": "creating", "tty": spec.process.tty}
        self.exit_deadline: float | None = None
        self.waiters: list[Client] = []
        self._exec_seq = 0

    # ------------------------------------------------------------------ create

    def listen(self) -> None:
        """Bind ``shim.sock`` (before the init exists, so clients can attach early)."""
        dir_fd = os.open(self.paths.dir, os.O_PATH | os.O_DIRECTORY)
        try:
            path = proto.socket_path(dir_fd)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            self.server.bind(path)
        finally:
            os.close(dir_fd)
        os.chmod(self.paths.socket, 0o600)
        self.server.listen(64)
        self.server.setblocking(False)
        self.selector.register(self.server, selectors.EVENT_READ, "accept")

    def _join_early(self, setup_pid: int) -> None:
        """Move the setup process into the cgroups at once, while it unshares and forks.

        The first move into a cgroup after a quiet spell waits for an RCU grace
        period (the kernel's threadgroup lock; ~8 ms on cgroup v1); the moves
        that follow within a grace period do not. Doing this one now, in
        parallel with the setup process, makes the init's own join (which
        counts: the init may be forked before this move) a quick one. Errors
        are ignored: the setup process may be gone by then, and the init's
        join reports its own.
        """
        data = str(setup_pid).encode()
        for directory in self.cgroup.dirs.values():
            try:
                fd = os.open(directory / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
            except OSError:
                return
            try:
                os.write(fd, data)
            except OSError:
                return
            finally:
                os.close(fd)

    def _join_init(self, sync: socket.socket, pid: int) -> dict[str, Any] | None:
        """Put a new init into the cgroups (it mounts its rootfs meanwhile), then let it go on."""
        try:
            self.cgroup.join(pid)
            sync.sendall(b"joined")
        except (RuntimeFailure, OSError) as exc:
            try:  # it waits for "joined": end it (only this shim, its subreaper, can reap it)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return {"type": "error", "kind": "RuntimeFailure", "exit_code": 128,
                    "message": f"cannot put the container's init into its cgroups: {exc}"}
        return None

    def _spawn(self, spawn: Any, tty: bool, open_stdin: bool,
               join_child: bool = False) -> tuple[Child, dict[str, Any]]:
        if open_stdin and not tty:
            stdin_r, stdin_w = os.pipe()
        else:
            stdin_r, stdin_w = os.open(os.devnull, os.O_RDONLY), None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        setup_pid = spawn((stdin_r, out_w, err_w), child)
        child.close()
        for fd in (stdin_r, out_w, err_w):
            os.close(fd)
        try:
            if join_child:  # the child joins while it builds its rootfs (see init.spawn_init)
                self._join_early(setup_pid)
                pid, result, master = _handshake(parent, 30.0,
                                                 lambda child_pid: self._join_init(parent, child_pid))
            else:
                self.cgroup.join(setup_pid)
                parent.sendall(b"joined")
                pid, result, master = _handshake(parent, 30.0)
        except BaseException:
            parent.close()  # a setup process waiting for "joined" sees EOF and exits
            raise
        finally:
            os.waitpid(setup_pid, 0)
        out_fds = {out_r: proto.STDOUT, err_r: proto.STDERR}
        stdin_fd = stdin_w
        if master is not None:
            out_fds[master] = proto.STDOUT
            stdin_fd = os.dup(master)
        for fd in list(out_fds) + ([stdin_fd] if stdin_fd is not None else []):
            os.set_blocking(fd, False)
        kid = Child(pid or -1, tty, stdin_fd, out_fds)
        if pid is None:  # the setup process failed before forking: nothing to wait for
            kid.status = (result.get("exit_code") or 128) << 8
        for fd in out_fds:
            self.selector.register(fd, selectors.EVENT_READ, ("out", kid))
        if result["type"] == "ready":
            parent_keep = parent
        else:
            parent.close()
            parent_keep = None
        return kid, {"result": result, "sync": parent_keep}

    def create(self) -> dict[str, Any]:
        """Cgroup, init, handshake; returns the report for the engine."""
        spec = self.spec
        began = time.monotonic()
        self.cgroup.create(spec.resources, spec.privileged)
        cgroup_done = time.monotonic()
        if self.cgroup.version == 2:
            cg_dirs = {"": str(self.cgroup.dirs[""])}
        else:
            cg_dirs = {name: str(path) for name, path in self.cgroup.dirs.items()}
        kid, extra = self._spawn(lambda stdio, sync: init.spawn_init(spec, stdio, sync, cg_dirs),
                                 spec.process.tty, spec.process.open_stdin, join_child=True)
        self.init = kid
        self.sync = extra["sync"]
        result = extra["result"]
        namespaces = {}
        for name in NS_NAMES:
            try:
                namespaces[name] = os.stat(f"/proc/{kid.pid}/ns/{name}").st_ino
            except OSError:
                pass
        self.state.update(init_pid=kid.pid, init_start=start_time(kid.pid) if kid.pid > 0 else None,
                          status="created" if result["type"] == "ready" else "stopped",
                          created_at=time.time(), namespaces=namespaces,
                          cgroup_version=self.cgroup.version,
                          cgroup_dirs={k: str(v) for k, v in self.cgroup.dirs.items()})
        write_json(self.paths.state, self.state)
        report = {"ok": result["type"] == "ready", "pid": kid.pid, "namespaces": namespaces,
                  "cgroup_files": self.cgroup.written, "cgroup_version": self.cgroup.version,
                  "seconds": {"cgroup": round(cgroup_done - began, 6),
                              "init": round(time.monotonic() - cgroup_done, 6)}}
        if result["type"] != "ready":
            report.update(kind=result.get("kind"), message=result.get("message"),
                          exit_code=result.get("exit_code"))
        return report

    # -------------------------------------------------------------------- loop

    def run(self) -> None:
        """Serve until the init has exited and everything is recorded."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        self.selector.register(wake_r, selectors.EVENT_READ, "wake")
        self._reap()
        if self.init.status is not None and self.exit_deadline is None:
            self.exit_deadline = time.monotonic() + 2.0
        while True:
            timeout = None
            if self.init.status is not None:
                if not self.init.out_fds or time.monotonic() > self.exit_deadline:
                    break
                timeout = max(0.0, self.exit_deadline - time.monotonic())
            for key, events in self.selector.select(timeout):
                tag = key.data
                if tag == "wake":
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    self._reap()
                elif tag == "accept":
                    self._accept()
                elif tag[0] == "out":
                    self._output(key.fd, tag[1])
                elif tag[0] == "client":
                    self._client_io(tag[1], events)
                elif tag[0] == "stdin":
                    self._flush_stdin(tag[1])
        self._finish()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.init and pid == self.init.pid:
                self.init.status = status
                self.exit_deadline = time.monotonic() + 2.0
                self.state["exited_at"] = time.time()
                if not self.spec.namespaces.pid:  # no PID namespace of its own to end with it
                    try:
                        self.cgroup.kill_all()
                    except Exception:  # noqa: BLE001 — the exit is recorded all the same
                        traceback.print_exc()
            elif pid in self.execs:
                kid = self.execs.pop(pid)
                kid.status = status
                self._maybe_exec_done(kid)

    def _request(self, client: Client, req: dict[str, Any]) -> dict[str, Any] | None:
        op = req.get("op")
        if op == "state":
            return {"ok": True, **self.state}
        if op == "start":
            if self.state["status"] != "created" or self.sync is None:
                return {"ok": False, "kind": "InvalidStateTransition",
                        "message": f"cannot start: it is {self.state['status']}"}
            self.sync.sendall(b"start")
            self.sync.close()
            self.sync = None
            self.state.update(status="running", started_at=time.time())
            write_json(self.paths.state, self.state)
            return {"ok": True, "started_at": self.state["started_at"]}
        if op == "wait":
            self.waiters.append(client)
            client.mode = "wait"
            return None
        if op == "attach":
            client.mode, client.child = "stream", self.init
            client.streams = {s for s, flag in ((1, req.get("stdout", True)),
                                                (2, req.get("stderr", True))) if flag}
            client.stdin, client.stdin_once = bool(req.get("stdin")), bool(req.get("stdin_once"))
            self.init.clients.append(client)
            return {"ok": True, "tty": self.init.tty}
        if op == "resize":
            target = self.init
            for kid in self.execs.values():
                if kid.exec_id == req.get("exec_id"):
                    target = kid
            self._resize(target, int(req["h"]), int(req["w"]))
            return {"ok": True}
        if op == "exec":
            return self._exec(client, req)
        return {"ok": False, "kind": "InvalidArgument", "message": f"unknown op {op!r}"}

    def _exec(self, client: Client, req: dict[str, Any]) -> dict[str, Any]:
        if self.state["status"] not in ("running",) or self.init.status is not None:
            return {"ok": False, "kind": "InvalidStateTransition",
                    "message": f"cannot exec: the container is {self.state['status']}"}
        proc = process_from_dict(req["process"])
        init_pid = self.init.pid
        kid, extra = self._spawn(
            lambda stdio, sync: init.spawn_exec(init_pid, proc, self.spec.privileged,
                                                self.spec.hostname, stdio, sync),
            proc.tty, proc.open_stdin)
        if extra["sync"] is not None:
            extra["sync"].close()
        kid.exec_id = req.get("exec_id", "")
        result = extra["result"]
        client.mode, client.child = "stream", kid
        client.streams = {proto.STDOUT, proto.STDERR}
        client.stdin = True
        kid.clients.append(client)
        self._exec_record(kid, running=result["type"] == "ready", exit_code=None,
                          started_at=time.time())
        if kid.pid > 0:  # reaped from the loop: its SIGCHLD has woken the selector already
            self.execs[kid.pid] = kid
        if result["type"] != "ready":
            return {"ok": False, "kind": result.get("kind"), "message": result.get("message"),
                    "exit_code": result.get("exit_code"), "pid": kid.pid}
        return {"ok": True, "pid": kid.pid, "tty": kid.tty}

    def _exec_record(self, kid: Child, **fields: Any) -> None:
        if kid.exec_id:
            write_json(self.paths.exec_record(kid.exec_id),
                       {"exec_id": kid.exec_id, "pid": kid.pid, **fields})

    def _exec_finished(self, kid: Child, code: int) -> None:
        self._exec_record(kid, running=False, exit_code=code, finished_at=time.time())

    # ------------------------------------------------------------------ finish

    def _finish(self) -> None:
        kid = self.init
        self.log.close()
        code, sig = exit_code(kid.status if kid.status is not None else 0)
        oom = self.cgroup.oom_kills() > 0
        record = {"exit_code": code, "signal": sig, "oom_killed": oom,
                  "finished_at": self.state.get("exited_at", time.time()),
                  "recorded_at": time.time()}
        write_json(self.paths.exit, record)
        self.state["status"] = "stopped"
        write_json(self.paths.state, self.state)
        payload = proto.frame(proto.EXIT, json.dumps(record).encode())
        for client in list(kid.clients):
            self._send(client, payload)
        for client in list(self.waiters):
            self._send(client, proto.encode({"ok": True, **record}))
        deadline = time.monotonic() + 1.0
        pending = [c for c in kid.clients + self.waiters if c.outbuf and c.mode != "closed"]
        for client in pending:
            client.sock.setblocking(True)
            client.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                client.sock.sendall(client.outbuf)
            except OSError:
                pass
        try:
            os.unlink(self.paths.socket)
        except OSError:
            pass


def main(container_dir: Path, container_id: str, result_fd: int) -> None:
    """The shim's life, in the process the launcher has detached for it."""
    paths = Paths(container_dir, container_id)
    log_fd = os.open(paths.shim_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log_fd, 2)
    os.close(null)
    shim = None
    try:
        from engine.runtime import syscalls  # noqa: PLC0415
        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
        syscalls.set_name("wharf-shim")
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("-999")
        except OSError:
            pass
        spec = spec_from_dict(json.loads(paths.spec.read_text()))
        shim = Shim(paths, spec)
        shim.listen()
        report = shim.create()
    except BaseException as exc:  # noqa: BLE001
        traceback.print_exc()
        report = {"ok": False, "kind": type(exc).__name__, "message": str(exc)}
    try:
        os.write(result_fd, proto.encode(report))
    except OSError:
        pass
    os.close(result_fd)
    if shim is None or shim.init is None:
        os._exit(1)
    try:
        shim.run()
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        os._exit(1)
    os._exit(0)
