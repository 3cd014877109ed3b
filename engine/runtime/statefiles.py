"""The runtime's files in a container's state folder, written atomically.

``<container dir>/runtime/``: ``spec.json`` (the :class:`RuntimeSpec`),
``state.json`` (shim and init PIDs with their start times, status, times),
``exit.json`` (exit code, OOM, finish time: written once by the shim),
``shim.sock``, ``shim.log``. The json-file log is ``<container dir>/<id>-json.log``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from pathlib import Path
from typing import Any


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Temp file + rename: readers see the old content or the new, never a torn one.

    No fsync: these files describe live processes (a shim, an init) that a
    host crash ends anyway, and every one of them is on the path from
    ``create`` to the exit being recorded (four to five writes a container).
    The rename keeps each write atomic for every reader and across a crash
    of the engine, a shim or the launcher (the page cache outlives them). A
    host crash may lose the last write; :func:`read_json` then reads a
    missing or empty file as ``None``, which the runtime treats as a
    container whose shim died (exit 255), as it must after a reboot.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        data_bytes = json.dumps(data, separators=(",", ":")).encode()
        view = memoryview(data_bytes)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The file's object, or ``None`` when it does not exist (or is unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """Field 22 of ``/proc/<pid>/stat`` (start time in clock ticks), or ``None`` if gone.

    A PID plus its start time names one process for good: a recycled PID has
    another start time.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2:].split()
    if fields and fields[0] == b"Z":
        return None
    return int(fields[19])


def alive(pid: int | None, started: int | None) -> bool:
    """Whether ``pid`` still is the process that started at ``started``."""
    return bool(pid) and started is not None and start_time(pid) == started


class Paths:
    """Where one container's runtime files are.

    Args:
        container_dir: ``<state root>/<id>``.
        container_id: the ID (names the log file).
    """

    def __init__(self, container_dir: Path, container_id: str) -> None:
        self.container_dir = container_dir
        self.dir = container_dir / "runtime"
        self.spec = self.dir / "spec.json"
        self.state = self.dir / "state.json"
        self.exit = self.dir / "exit.json"
        self.socket = self.dir / "shim.sock"
        self.shim_log = self.dir / "shim.log"
        self.log = container_dir / f"{container_id}-json.log"

    def exec_record(self, exec_id: str) -> Path:
        """``runtime/exec-<exec id>.json``: an exec's PID, then its exit code."""
        safe = "".join(c for c in exec_id if c.isalnum() or c in "-_")[:80]
        return self.dir / f"exec-{safe}.json"


def wait_gone(pid: int | None, started: int | None, timeout: float) -> bool:
    """Wait until ``pid`` (the process that started at ``started``) has exited.

    Polls a pidfd, which becomes readable when the process exits, also when
    it is not our child: no sleep loop. Returns whether it is gone.
    """
    if not alive(pid, started):
        return True
    try:
        pidfd = os.pidfd_open(pid)  # type: ignore[arg-type]
    except ProcessLookupError:
        return True
    except OSError:  # no pidfd to be had (EMFILE, ENOSYS …): poll instead
        deadline = time.monotonic() + max(0.0, timeout)
        while alive(pid, started):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True
    try:
        if not alive(pid, started):  # the PID was recycled before the pidfd pinned it
            return True
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.poll(max(0.0, timeout) * 1000)
        return not alive(pid, started)
    finally:
        os.close(pidfd)


def signal_process(pid: int, started: int, sig: int) -> None:
    """Signal ``pid`` only if it still is the process that started at ``started``."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if alive(pid, started):
            signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        pass
    finally:
        os.close(pidfd)
