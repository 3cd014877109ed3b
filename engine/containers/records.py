"""What the engine knows about each container, and where it keeps it.

One folder per container, ``<root>/containers/<id>/``, holds ``record.json``
(the create spec, what was resolved from the image, the lifecycle state),
written atomically on every change, next to the runtime's own state folder,
the json-file log, the ``hostname``/``hosts``/``resolv.conf`` files and the
``upper``/``work``/``merged`` folders of the container's root filesystem.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.model import ContainerCreateSpec, PortBinding
from engine.codec import from_json, to_json
from engine.containers.restart import RestartTracker
from engine.containers.state import Status
from engine.errors import AlreadyExists, ContainerNotFound, InvalidArgument, StorageError
from engine.state import read_json

NAME_PATTERN = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
"""Docker's rule for container names."""

_ADJECTIVES = ("brave", "calm", "eager", "fond", "gentle", "happy", "jolly", "keen", "lucid",
               "merry", "nifty", "proud", "quiet", "sharp", "tender", "vivid", "wise", "zen")
_NOUNS = ("anchor", "barge", "buoy", "canal", "cargo", "crane", "dock", "ferry", "harbor", "hull",
          "jetty", "keel", "mast", "pier", "quay", "rudder", "sail", "tide")


@dataclass
class RootfsInfo:
    """How the container's root filesystem is assembled (for inspect and the anatomy view)."""

    driver: str = ""
    target: str = ""
    lowerdir: list[str] = field(default_factory=list)
    upperdir: str = ""
    workdir: str = ""
    options: str = ""
    mounted: bool = False


@dataclass
class ContainerRecord:
    """One container.

    Attributes:
        id: 64 hex digits.
        name: without the leading ``/``.
        created: seconds since the epoch.
        spec: what create asked for.
        image_id: the image's ID (config digest) at create.
        args: the resolved argv (Entrypoint + Cmd).
        env: the resolved environment.
        workdir: the resolved working directory.
        user: the user as the image or create asked (resolved inside the container at start).
        hostname: the container's hostname.
        exposed_ports: (port, protocol) from the image and the spec.
        stop_signal: the image's or the spec's, e.g. ``SIGTERM``.
        status: where the container is in its life.
        pid: init's host PID while alive.
        exit_code: the last exit code.
        oom_killed: the last exit was the OOM killer's.
        error: why the last start failed, if it did.
        started_at: last start, seconds since the epoch (0: never).
        finished_at: last exit (0: never).
        restart: the restart policy's state.
        rootfs: the graph driver's mount.
        ports: the published ports, host ports resolved.
        volumes: volume names this container uses (anonymous ones included).
        anonymous_volumes: the anonymous ones, removed with ``rm -v``.
        exec_ids: execs started in it.
        warnings: warnings given at create.
    """

    id: str
    name: str
    created: float
    spec: ContainerCreateSpec
    image_id: str
    args: list[str]
    env: list[str]
    workdir: str
    user: str
    hostname: str
    exposed_ports: list[tuple[int, str]] = field(default_factory=list)
    stop_signal: str = "SIGTERM"
    status: Status = Status.CREATED
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    restart: RestartTracker = field(default_factory=RestartTracker)
    rootfs: RootfsInfo = field(default_factory=RootfsInfo)
    ports: list[PortBinding] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    anonymous_volumes: list[str] = field(default_factory=list)
    exec_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        """The first 12 hex digits."""
        return self.id[:12]

    @property
    def subject(self) -> str:
        """How messages name it: ``container "web"``."""
        return f'container "{self.name}"'

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        data = to_json(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerRecord:
        """A record as :meth:`to_json` wrote it."""
        record = from_json(cls, {**data, "status": Status.CREATED})
        record.status = Status(data.get("status", "created"))
        return record


def _replace_json(path: Path, value: Any) -> None:
    """Write ``value`` to ``path`` by temp file + rename, without fsync.

    A record changes several times per ``docker run``; the rename keeps it whole
    when the engine is killed (the page cache survives the process), and the
    fsyncs of :func:`engine.state.atomic_write_json` cost milliseconds each on
    the start path. Only a host crash can lose the last transition, which
    adoption then repairs from the runtime's own state.

    Raises:
        StorageError: the disk refused the write.
    """
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        tmp.write_bytes(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())
        os.rename(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


class ContainerStore:
    """Container records under ``<root>/containers``, indexed by ID and name.

    Args:
        root: the ``containers`` folder of a state root.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        """Held while records are read-modify-written."""
        self._records: dict[str, ContainerRecord] = {}
        self.version = 0
        """Grows with every save and forget (under :attr:`lock`): a listing made at the same
        version shows the same records."""
        for entry in os.scandir(self.root):
            data = read_json(Path(entry.path) / "record.json") if entry.is_dir() else None
            if isinstance(data, dict):
                record = ContainerRecord.from_json(data)
                self._records[record.id] = record

    def folder(self, container_id: str) -> Path:
        """``<root>/containers/<id>``."""
        return self.root / container_id

    def save(self, record: ContainerRecord) -> None:
        """Write the record atomically and index it."""
        with self.lock:
            self.folder(record.id).mkdir(parents=True, exist_ok=True)
            _replace_json(self.folder(record.id) / "record.json", record.to_json())
            self._records[record.id] = record
            self.version += 1

    def forget(self, container_id: str) -> None:
        """Drop the record from the index (its folder is removed by the caller)."""
        with self.lock:
            self._records.pop(container_id, None)
            self.version += 1

    def all(self) -> list[ContainerRecord]:
        """Every container, newest first."""
        with self.lock:
            return sorted(self._records.values(), key=lambda r: r.created, reverse=True)

    def lookup(self, container_id: str) -> ContainerRecord | None:
        """The record with exactly this ID, or ``None``."""
        with self.lock:
            return self._records.get(container_id)

    def get(self, ref: str) -> ContainerRecord:
        """The container named ``ref``: its name (with or without ``/``), full ID, or unique ID prefix.

        Raises:
            ContainerNotFound: ``No such container: <ref>``.
        """
        with self.lock:
            if ref in self._records:
                return self._records[ref]
            name = ref[1:] if ref.startswith("/") else ref
            for record in self._records.values():
                if record.name == name:
                    return record
            if ref and all(c in "0123456789abcdef" for c in ref):
                matches = [r for r in self._records.values() if r.id.startswith(ref)]
                if len(matches) == 1:
                    return matches[0]
                if len(matches) > 1:
                    raise InvalidArgument(f"multiple containers match the ID prefix {ref}: "
                                          "use more of the ID")
        raise ContainerNotFound(f"No such container: {ref}")

    def new_id(self) -> str:
        """A fresh 64-hex-digit ID (never all digits, so it cannot be read as a number)."""
        while True:
            candidate = secrets.token_hex(32)
            if not candidate.isdigit() and candidate not in self._records:
                return candidate

    def claim_name(self, name: str | None, container_id: str) -> str:
        """Check or invent a unique name.

        Raises:
            InvalidArgument: a name Docker would refuse.
            AlreadyExists: the name is taken (Docker's 409 "Conflict. The container name … is already in use").
        """
        with self.lock:
            taken = {r.name: r.id for r in self._records.values()}
            if name:
                if not NAME_PATTERN.match(name):
                    raise InvalidArgument(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] '
                                          "are allowed")
                name = name.lstrip("/")
                if name in taken and taken[name] != container_id:
                    raise AlreadyExists(f'Conflict. The container name "/{name}" is already in use by container '
                                        f'"{taken[name]}". You have to remove (or rename) that container to be '
                                        "able to reuse that name.")
                return name
            rng = random.Random(time.time_ns())
            while True:
                candidate = f"{rng.choice(_ADJECTIVES)}_{rng.choice(_NOUNS)}"
                if candidate not in taken:
                    return candidate
                candidate = f"{candidate}{rng.randint(2, 99)}"
                if candidate not in taken:
                    return candidate
