"""What the runtime hands back: the created init, a container's state, its processes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CREATED, RUNNING, PAUSED, STOPPED = "created", "running", "paused", "stopped"
"""The four states of a container, as runc names them."""


@dataclass
class ContainerProcess:
    """What :meth:`Runtime.create` returns: the waiting init.

    Attributes:
        id: the container ID.
        pid: the init's host PID; its netns is ``/proc/<pid>/ns/net``.
        shim_pid: the shim's PID.
        namespaces: namespace name → inode number.
        log_path: the json-file log.
        warnings: e.g. clamped rlimits.
    """

    id: str
    pid: int
    shim_pid: int
    namespaces: dict[str, int]
    log_path: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def netns_path(self) -> str:
        """Where the network driver configures the container's network."""
        return f"/proc/{self.pid}/ns/net"


@dataclass
class ContainerState:
    """A container as the runtime sees it now.

    Attributes:
        status: ``created``, ``running``, ``paused`` or ``stopped``.
        pid: init's host PID (0 once stopped).
        exit_code: set when stopped (128+N for a death by signal N).
        oom_killed: the kernel's OOM killer fired in the container's cgroup.
        created_at, started_at, finished_at: seconds since the epoch (0 if not yet).
        exit_recorded_at: when the shim wrote the exit status (for benchmarks).
        error: why the state is incomplete, e.g. the shim died.
    """

    id: str
    status: str
    pid: int = 0
    shim_pid: int = 0
    exit_code: int | None = None
    oom_killed: bool = False
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_recorded_at: float = 0.0
    error: str = ""


@dataclass
class ProcessInfo:
    """One process of a container, for ``top``."""

    host_pid: int
    container_pid: int
    ppid: int
    uid: int
    state: str
    command: str


def process_info(pid: int) -> ProcessInfo | None:
    """``/proc`` facts about one host PID, or ``None`` if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    nspid = fields.get("NSpid", str(pid)).split()
    command = " ".join(part.decode(errors="replace") for part in cmdline.split(b"\0") if part)
    return ProcessInfo(pid, int(nspid[-1]), int(fields.get("PPid", 0)),
                       int(fields.get("Uid", "0").split()[0]),
                       fields.get("State", "?").split()[0], command or f"[{fields.get('Name')}]")
