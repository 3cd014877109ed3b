"""The launcher: one small single-threaded process that forks the shims.

The engine is multithreaded (asyncio, worker threads) and must never fork a
container itself. It starts this process once (:class:`LauncherClient`) and
sends it one JSON line per container over a socketpair, with the write end
of a result pipe attached (SCM_RIGHTS). The launcher double-forks a detached
shim (:func:`engine.runtime.shim.main`) that reports on that pipe, so a start
costs a fork, not an interpreter boot; it even forks the next shim ahead of
its request, while it is idle (:class:`_Spare`), so a request costs one
message. The launcher runs from a sealed memfd copy of the Python binary: see
:func:`sealed_python` (CVE-2019-5736).

Run as ``python -m engine.runtime.launcher <socket fd> [<exe fd>]`` (the
client uses ``-c`` with :func:`main`, which avoids importing the module twice).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from engine.errors import RuntimeFailure

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_BOOT = "import sys; from engine.runtime.launcher import main; main(sys.argv[1:])"


def sealed_python() -> int:
    """A sealed, read-only memfd copy of this Python binary.

    CVE-2019-5736: a container whose command is ``#!/proc/self/exe`` runs the
    binary that did the execve (here Python) and can then write to it through
    ``/proc/<pid>/exe``. Started from this memfd, every launcher, shim and
    container init has ``/proc/self/exe`` = the memfd, whose seals refuse any
    write, so no host file is ever exposed. (The memfd is ~20 kB: Python's
    binary links ``libpython`` as a shared library, which ``/proc/self/exe``
    does not reach.) ``argv[0]`` stays ``sys.executable`` so a virtual
    environment's ``pyvenv.cfg`` is still found.
    """
    source = os.path.realpath(sys.executable)
    fd = os.memfd_create("wharf-python", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    with open(source, "rb") as f:
        data = f.read()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
                | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL)
    return fd


class LauncherClient:
    """The engine's handle on its launcher process; thread-safe, restarts it if it died.

    Args:
        log_path: where the launcher's own stderr goes (never the console's terminal).
    """

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None

    @property
    def pid(self) -> int | None:
        """The launcher's PID, if it runs."""
        return self._proc.pid if self._proc else None

    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        exe = sealed_python()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                          env.get("PYTHONPATH")]))
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child.fileno()), str(exe)],
                executable=f"/proc/self/fd/{exe}", pass_fds=(child.fileno(), exe),
                close_fds=True, start_new_session=True, env=env, cwd="/",
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=log if log is not None else subprocess.DEVNULL)
        finally:
            child.close()
            os.close(exe)
            if log is not None:
                log.close()
        self._sock = parent

    def spawn(self, container_dir: Path, container_id: str, result_fd: int) -> None:
        """Ask for a shim for ``container_id``; it reports on ``result_fd``."""
        message = (json.dumps({"op": "spawn", "dir": str(container_dir),
                               "id": container_id}) + "\n").encode()
        with self._lock:
            for attempt in range(2):
                if self._sock is None or (self._proc and self._proc.poll() is not None):
                    self._reset()
                    self._start()
                try:
                    socket.send_fds(self._sock, [message], [result_fd])
                    reply = self._sock.recv(4096)
                    if reply:
                        answer = json.loads(reply)
                        if not answer.get("ok"):
                            raise RuntimeFailure(f"launcher: {answer.get('message')}")
                        return
                except (OSError, ValueError):
                    pass
                self._reset()
        raise RuntimeFailure("the runtime's launcher process is not answering")

    def _reset(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            self._proc = None

    def close(self) -> None:
        """Stop the launcher (containers and shims keep running)."""
        with self._lock:
            self._reset()


def _spawn_shim(sock: socket.socket, request: dict[str, Any], result_fd: int) -> None:
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                sock.close()
                from engine.runtime import shim  # noqa: PLC0415 — already imported
                shim.main(Path(request["dir"]), request["id"], result_fd)
            os._exit(0)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    os.close(result_fd)
    os.waitpid(pid, 0)


class _Spare:
    """The next shim, forked ahead of its request and waiting for it.

    Double-forked and detached (``setsid``) like every shim, while the
    launcher is idle; a spawn request then costs one message instead of two
    forks. It is forked from the launcher's state between requests (single
    thread, nothing open but the launcher's own descriptors, of which it
    closes the engine's socket), exactly what a shim forked at request time
    would inherit. It blocks on its own socket and exits when the launcher
    hangs up (the launcher ended), so it never outlives it.
    """

    def __init__(self, control: socket.socket) -> None:
        self.control = control

    @classmethod
    def fork(cls, engine_sock: socket.socket) -> _Spare | None:
        """A new spare, or ``None`` if it could not be made (requests then fork directly)."""
        try:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            ours.close()
            theirs.close()
            return None
        if pid == 0:
            try:
                ours.close()
                engine_sock.close()
                os.setsid()
                if os.fork() == 0:
                    _wait_as_spare(theirs)
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        theirs.close()
        os.waitpid(pid, 0)
        return cls(ours)

    def hand_off(self, request: dict[str, Any], result_fd: int) -> bool:
        """Give the spare its container; ``False`` if it is gone (then it is closed)."""
        message = json.dumps({"dir": request["dir"], "id": request["id"]}).encode()
        try:
            socket.send_fds(self.control, [message], [result_fd])
            return True
        except OSError:
            return False
        finally:
            self.control.close()


def _wait_as_spare(control: socket.socket) -> None:
    """A spare's life before its request: wait, then become that container's shim."""
    from engine.runtime import shim, syscalls  # noqa: PLC0415 — already imported

    syscalls.set_name("wharf-spare")
    try:
        data, fds, _flags, _addr = socket.recv_fds(control, 65536, 1)
    except OSError:
        os._exit(0)
    control.close()
    if not data or len(fds) != 1:
        os._exit(0)  # the launcher ended (or sent nonsense): nothing to do
    try:
        request = json.loads(data)
        container_dir, container_id = Path(request["dir"]), request["id"]
    except (ValueError, KeyError, TypeError):
        os._exit(1)
    shim.main(container_dir, container_id, fds[0])


def serve(fd: int) -> None:
    """The launcher's loop: one request at a time, until the engine hangs up."""
    sock = socket.socket(fileno=fd)
    spare = _Spare.fork(sock)
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, 65536, 2)
        except OSError:
            return
        if not data:
            return
        try:
            request = json.loads(data)
            if request.get("op") != "spawn" or len(fds) != 1:
                raise ValueError("bad request")
        except Exception as exc:  # noqa: BLE001
            for extra in fds:
                try:
                    os.close(extra)
                except OSError:
                    pass
            sock.sendall(json.dumps({"ok": False, "message": str(exc)}).encode())
            continue
        handed, spare = spare is not None and spare.hand_off(request, fds[0]), None
        if handed:
            os.close(fds[0])
        else:
            try:
                _spawn_shim(sock, request, fds[0])  # closes fds[0]
            except OSError as exc:
                sock.sendall(json.dumps({"ok": False, "message": f"fork: {exc}"}).encode())
                continue
        sock.sendall(b'{"ok": true}')
        spare = _Spare.fork(sock)  # the next one, after the engine has its answer


def main(argv: list[str]) -> None:
    """Entry point: ``launcher <socket fd> [<exe fd>]``."""
    if len(argv) > 1:
        os.close(int(argv[1]))
    from engine.runtime import syscalls  # noqa: PLC0415
    syscalls.set_name("wharf-launcher")
    # import everything a shim and an init need, once, before any fork
    from engine.runtime import init, process, rootfs, seccomp_profile, shim  # noqa: F401,PLC0415
    from engine.runtime.spec import DEFAULT_CAPABILITIES  # noqa: PLC0415
    seccomp_profile.compile_profile(list(DEFAULT_CAPABILITIES), no_new_privileges=False)
    serve(int(argv[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
