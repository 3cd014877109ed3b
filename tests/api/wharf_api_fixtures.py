"""Shared helpers for the API and client tests.

Two kinds of servers:

- :func:`run_daemon_process` starts the real ``wharf daemon`` as a subprocess
  (functional tests: the real docker CLI, docker-py and Wharf's client).
- :class:`FramingBackend` + :func:`framing_server` serve the real HTTP layer
  (``engine.api``) in-process over a real unix socket with a small in-test
  backend. THIS IS A PROTOCOL-LAYER UNIT-TEST BACKEND ONLY: it exists to test
  HTTP framing (chunked flushes, multiplexed frames, 101 hijack, disconnect
  cancellation, error translation). Its stdio sessions run real host
  processes (``sh``, ``cat``); it is never a stand-in for the engine in
  functional tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.api.app import build_api
from engine.api.http import HTTPServer, Limits
from engine.api.listeners import bind_unix
from engine.model import (
    STDERR,
    STDOUT,
    Cancel,
    ContainerCreateSpec,
    ContainerInfo,
    ContainerState,
    ExecInfo,
    ExecSpec,
    LogOptions,
    LogRecord,
    PathStat,
    Progress,
    StatsSample,
    WaitResult,
)
from engine.api.system_backend import SystemOnlyBackend
from engine.errors import ContainerNotFound, ImageNotFound, InvalidStateTransition, NotFound

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------- real daemon


@dataclass
class DaemonProcess:
    """A ``wharf daemon`` subprocess on a temporary socket and root."""

    process: subprocess.Popen[bytes]
    socket: Path
    root: Path
    log: Path

    @property
    def host(self) -> str:
        """``unix://…`` for ``docker -H`` and the clients."""
        return f"unix://{self.socket}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Signal it by PID and wait, then remove the root's host networking; returns its exit status.

        The daemon leaves bridges and firewall chains up when it stops (containers
        outlive it); a test root is thrown away, so its networking goes too.
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        teardown_root_networking(self.root)
        remove_empty_cgroup_parents()
        return self.process.returncode

    def output(self) -> str:
        """What it logged so far."""
        return self.log.read_text(errors="replace")


def cli(daemon: DaemonProcess, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real docker CLI against ``daemon`` (with a docker config of its own)."""
    docker_cli = shutil.which("docker")
    assert docker_cli, "the docker CLI is not on PATH"
    return subprocess.run([docker_cli, "-H", daemon.host, *args], capture_output=True, text=True,
                          timeout=120, input=stdin,
                          env={**os.environ, "DOCKER_CONFIG": str(daemon.root.parent / "docker-config")})


def teardown_root_networking(root: Path) -> None:
    """Remove the bridges, endpoints and firewall chains an engine made for ``root``."""
    if not (root / "networks").exists():
        return
    try:
        from engine.network import NetworkDriver  # noqa: PLC0415 - only with the full engine
    except ImportError:
        return
    from engine.jobs import EventBus  # noqa: PLC0415

    NetworkDriver(root, EventBus()).teardown()


def remove_empty_cgroup_parents() -> None:
    """Remove the engine's ``wharf`` cgroup parents if no container cgroup is left in them.

    ``rmdir`` of a cgroup that still has children fails, so a parent another
    engine is using stays.
    """
    root = Path("/sys/fs/cgroup")
    for parent in [root / "wharf", *root.glob("*/wharf")]:
        if parent.is_dir() and not any(p.is_dir() for p in parent.iterdir()):
            with contextlib.suppress(OSError):
                parent.rmdir()


def start_daemon_process(workdir: Path, root: Path | None = None, wait: bool = True,
                         name: str = "wharf.sock") -> DaemonProcess:
    """Start ``python -m tui.cli daemon`` and (with ``wait``) wait until its socket answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    socket_path = workdir / name
    root = root or workdir / "root"
    log = workdir / f"{name}.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "daemon", "--socket", str(socket_path), "--root", str(root)],
            stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO)
    daemon = DaemonProcess(process, socket_path, root, log)
    if wait:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"wharf daemon exited early:\n{daemon.output()}")
            if socket_path.exists() and _answers(socket_path):
                return daemon
            time.sleep(0.05)
        daemon.stop(signal.SIGKILL)
        raise AssertionError(f"wharf daemon did not answer within 20 s:\n{daemon.output()}")
    return daemon


def _answers(path: Path) -> bool:
    import socket as socketlib  # noqa: PLC0415

    probe = socketlib.socket(socketlib.AF_UNIX)
    probe.settimeout(1)
    try:
        probe.connect(str(path))
        probe.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        return probe.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        probe.close()


# ------------------------------------------------- framing unit-test backend


class ProcessSession:
    """A stdio session over a real host process (pipes, or a pty with ``tty``)."""

    def __init__(self, argv: list[str], tty: bool = False) -> None:
        self.tty = tty
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue()
        self.exit_code: int | None = None
        self.stdin_closed = threading.Event()
        self.closed = threading.Event()
        if tty:
            master, slave = os.openpty()
            self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                            start_new_session=True)
            os.close(slave)
            self._stdin_fd = master
            readers = [(master, STDOUT)]
        else:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE)
            assert self.process.stdin and self.process.stdout and self.process.stderr
            self._stdin_fd = self.process.stdin.fileno()
            readers = [(self.process.stdout.fileno(), STDOUT), (self.process.stderr.fileno(), STDERR)]
        self._open = len(readers)
        self._lock = threading.Lock()
        for fd, stream in readers:
            threading.Thread(target=self._pump, args=(fd, stream), daemon=True).start()

    def _pump(self, fd: int, stream: int) -> None:
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            self._queue.put((stream, data))
        with self._lock:
            self._open -= 1
            last = self._open == 0
        if last:
            self.exit_code = self.process.wait()
            self._queue.put(None)

    def read(self) -> tuple[int, bytes] | None:
        item = self._queue.get()
        if item is None:
            self._queue.put(None)
        return item

    def write(self, data: bytes) -> None:
        if not self.stdin_closed.is_set():
            os.write(self._stdin_fd, data)

    def close_stdin(self) -> None:
        if self.stdin_closed.is_set():
            return
        self.stdin_closed.set()
        if self.tty:
            os.write(self._stdin_fd, b"\x04")
        elif self.process.stdin:
            self.process.stdin.close()

    def close(self) -> None:
        self.closed.set()
        if self.process.poll() is None:
            self.process.kill()
        self._queue.put(None)


def _container(cid: str, name: str, tty: bool) -> ContainerInfo:
    return ContainerInfo(id=cid, name=name, created=time.time() - 60, image="busybox:latest",
                         image_id="sha256:" + "b" * 64, path="sh", args=["-c", "true"],
                         state=ContainerState("running", pid=1, started_at=time.time() - 30),
                         spec=ContainerCreateSpec(image="busybox:latest", tty=tty, labels={"a": "b"}))


@dataclass
class FramingBackend(SystemOnlyBackend):
    """The protocol-layer unit-test backend (see the module docstring)."""

    root: str = "/tmp"
    calls: list[tuple[str, object]] = field(default_factory=list)
    cancelled: dict[str, threading.Event] = field(default_factory=dict)
    sessions: list[ProcessSession] = field(default_factory=list)
    execs: dict[str, tuple[ExecInfo, ProcessSession | None]] = field(default_factory=dict)
    archive: bytes = b""

    def __post_init__(self) -> None:
        SystemOnlyBackend.__init__(self, self.root)
        self.containers = {"c" * 64: _container("c" * 64, "plain", False),
                           "d" * 64: _container("d" * 64, "tty", True)}

    def _find(self, ref: str) -> ContainerInfo:
        for info in self.containers.values():
            if info.id.startswith(ref) or info.name == ref:
                return info
        raise ContainerNotFound(f"No such container: {ref}")

    def cancel_event(self, name: str) -> threading.Event:
        """Set when the request behind operation ``name`` was cancelled."""
        return self.cancelled.setdefault(name, threading.Event())

    def _watch(self, name: str, cancel: Cancel) -> None:
        cancel.on_cancel(self.cancel_event(name).set)

    def list_containers(self, all: bool, size: bool) -> list[ContainerInfo]:
        return list(self.containers.values())

    def inspect_container(self, ref: str, size: bool = False) -> ContainerInfo:
        return self._find(ref)

    def create_container(self, spec: ContainerCreateSpec) -> tuple[str, list[str]]:
        self.calls.append(("create", spec))
        if spec.image != "busybox:latest":
            raise ImageNotFound(f"No such image: {spec.image}")
        info = _container("e" * 64, spec.name or "created", spec.tty)
        info.spec = spec
        self.containers[info.id] = info
        return info.id, []

    def start_container(self, ref: str) -> bool:
        return self._find(ref).state.status != "running"

    def kill_container(self, ref: str, signal: str) -> None:
        raise InvalidStateTransition("exited", "kill", f'container "{ref}"')

    def remove_container(self, ref: str, force: bool, volumes: bool, link: bool) -> None:
        self.calls.append(("remove", (ref, force, volumes, link)))

    def container_top(self, ref: str, ps_args: str) -> object:
        raise RuntimeError("an unexpected bug")

    def wait_container(self, ref: str, condition: str, cancel: Cancel) -> WaitResult:
        self._find(ref)
        self._watch("wait", cancel)
        if condition == "next-exit":
            cancel.wait(30)
            return WaitResult(-1, "cancelled")
        time.sleep(0.3)
        return WaitResult(3)

    def container_logs(self, ref: str, options: LogOptions, cancel: Cancel) -> Iterator[LogRecord]:
        self.calls.append(("logs", options))
        self._watch("logs", cancel)
        for i in range(3):
            yield LogRecord(STDOUT if i != 1 else STDERR, f"line {i}\n".encode(), 1_700_000_000.5 + i)
            if options.follow:
                if cancel.wait(0.4):
                    return
        if options.follow:
            cancel.wait(30)

    def container_stats(self, ref: str, interval: float, cancel: Cancel) -> Iterator[StatsSample]:
        self._watch("stats", cancel)
        n = 0
        while not cancel.is_set():
            n += 1
            yield StatsSample(time=time.time(), cpu_total=n * 1_000_000, system_cpu=n * 10_000_000,
                              online_cpus=2, memory_usage=40 << 20, memory_limit=2 << 30,
                              memory_stat={"inactive_file": 0})
            cancel.wait(interval)

    def inspect_image(self, ref: str) -> object:
        self.calls.append(("inspect_image", ref))
        raise ImageNotFound(f"No such image: {ref}")

    def remove_image(self, ref: str, force: bool, prune: bool) -> list[object]:
        self.calls.append(("remove_image", ref))
        return []

    def pull_image(self, ref: str, platform: str, auth: object, cancel: Cancel) -> Iterator[Progress]:
        self.calls.append(("pull", (ref, auth)))
        if "unknown" in ref:
            raise NotFound(f"repository {ref} not found: manifest unknown")
        yield Progress("Pulling from library/busybox", id="latest")
        yield Progress("Downloading", id="abc", current=50, total=100)
        if "missing" in ref:
            raise NotFound(f"manifest for {ref} not found")
        yield Progress("Status: Downloaded newer image for busybox:latest")

    def attach_container(self, ref: str, options: object, cancel: Cancel) -> ProcessSession:
        info = self._find(ref)
        session = ProcessSession(["cat"], tty=info.spec.tty)
        self.sessions.append(session)
        return session

    def exec_create(self, ref: str, spec: ExecSpec) -> str:
        info = self._find(ref)
        exec_id = f"{len(self.execs):064x}"
        self.execs[exec_id] = (ExecInfo(exec_id, info.id, spec), None)
        return exec_id

    def exec_inspect(self, exec_id: str) -> ExecInfo:
        if exec_id not in self.execs:
            raise NotFound(f"No such exec instance: {exec_id}")
        info, session = self.execs[exec_id]
        if session is not None:
            info.running = session.exit_code is None
            info.exit_code = session.exit_code
            info.pid = session.process.pid
        return info

    def exec_start(self, exec_id: str, detach: bool, tty: bool, console_size: object,
                   cancel: Cancel) -> ProcessSession | None:
        info = self.exec_inspect(exec_id)
        session = ProcessSession(info.spec.cmd, tty=tty)
        self.sessions.append(session)
        self.execs[exec_id] = (info, session)
        if detach:
            return None
        return session

    def archive_stat(self, ref: str, path: str) -> PathStat:
        self._find(ref)
        return PathStat(name=os.path.basename(path), size=len(self.archive), mode=0o644, mtime=1_700_000_000)

    def get_archive(self, ref: str, path: str, cancel: Cancel) -> tuple[PathStat, Iterator[bytes]]:
        stat = self.archive_stat(ref, path)
        data = self.archive
        return stat, iter([data[i:i + 1000] for i in range(0, len(data), 1000)])

    def put_archive(self, ref: str, path: str, tar: Iterator[bytes], no_overwrite_dir_non_dir: bool,
                    copy_uid_gid: bool) -> None:
        self._find(ref)
        chunks = list(tar)  # read as it arrives, on a worker thread
        self.archive = b"".join(chunks)
        self.calls.append(("put_archive", (path, len(chunks), no_overwrite_dir_non_dir)))

    def cleanup(self) -> None:
        for session in self.sessions:
            session.close()
            with contextlib.suppress(Exception):
                session.process.wait(5)


@contextlib.contextmanager
def framing_server(tmp: Path, limits: Limits | None = None) -> Iterator[tuple[str, FramingBackend, list[str]]]:
    """Serve the real HTTP layer over :class:`FramingBackend` on ``tmp/api.sock``.

    Yields:
        (socket path, backend, list of request paths seen).
    """
    backend = FramingBackend(root=str(tmp / "root"))
    api = build_api(backend)
    seen: list[str] = []
    original = api.handle

    async def recording(request):  # type: ignore[no-untyped-def]
        seen.append(f"{request.method} {request.path}")
        return await original(request)

    api.handle = recording  # type: ignore[method-assign]
    path = str(tmp / "api.sock")
    ready = threading.Event()
    state: dict[str, object] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        state["loop"] = loop
        server = HTTPServer(api, limits)
        stop = asyncio.Event()
        state["stop"] = stop

        async def main() -> None:
            await server.serve_socket(bind_unix(path))
            ready.set()
            await stop.wait()
            await server.close()

        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield path, backend, seen
    finally:
        loop = state["loop"]
        loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[union-attr,attr-defined]
        thread.join(10)
        backend.cleanup()
        api.workers.shutdown()
