"""Exec instances."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExecSpec:
    """``docker exec``: a process to run in a running container."""

    cmd: list[str]
    env: list[str] = field(default_factory=list)
    user: str = ""
    workdir: str = ""
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    privileged: bool = False
    detach_keys: str = ""
    console_size: tuple[int, int] | None = None


@dataclass
class ExecInfo:
    """An exec instance: its spec, and its process once started."""

    id: str
    container_id: str
    spec: ExecSpec
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    can_remove: bool = False
