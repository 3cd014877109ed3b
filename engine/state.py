"""The engine's state root on disk, its one-engine-per-root lock, and atomic writes.

Layout (default ``/var/lib/wharf``)::

    content/blobs/sha256/<hex>   verified blobs (manifests, configs, layers)
    content/ingest/              partial downloads, kept for resume
    layers/<chainid-hex>/        unpacked layers (``diff/``, ``link``, ``meta.json``)
    l/<short-id>                 short symlinks to ``../layers/<hex>/diff`` for overlay
    images/                      image records and references
    containers/<id>/             one folder per container
    networks/  volumes/
    engine.lock                  held (flock) by the engine serving this root

Every metadata write goes through :func:`atomic_write_bytes` (temp file in the
same folder, fsync, rename, fsync of the folder), so a crash leaves either the
old file or the new one, never a torn one.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import EngineLocked, StorageError

DEFAULT_ROOT = "/var/lib/wharf"
"""Where the engine keeps its state unless told otherwise."""


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (after a rename or create inside it) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically (temp + fsync + rename + fsync dir).

    Raises:
        StorageError: the disk refused the write.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, target)
        fsync_dir(target.parent)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StorageError(f"cannot write {target}: {exc.strerror or exc}") from exc


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, json.dumps(value, indent=1, sort_keys=True).encode() + b"\n")


def read_json(path: str | os.PathLike[str], default: Any = None) -> Any:
    """The JSON value in ``path``, or ``default`` when the file does not exist.

    Raises:
        StorageError: the file exists but cannot be read or parsed.
    """
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read {path}: {exc}") from exc


@dataclass(frozen=True)
class StateRoot:
    """The paths of one state root; :meth:`create` makes the folders.

    Attributes:
        path: the root folder itself.
    """

    path: Path

    @classmethod
    def at(cls, path: str | os.PathLike[str] = DEFAULT_ROOT) -> StateRoot:
        """A state root at ``path`` (made absolute), with its layout created."""
        root = cls(Path(os.path.abspath(path)))
        root.create()
        return root

    @property
    def content(self) -> Path:
        """``content/``: the content store (blobs and ingests)."""
        return self.path / "content"

    @property
    def blobs(self) -> Path:
        """``content/blobs/sha256``: verified blobs by hex digest."""
        return self.path / "content" / "blobs" / "sha256"

    @property
    def ingest(self) -> Path:
        """``content/ingest``: partial downloads."""
        return self.path / "content" / "ingest"

    @property
    def layers(self) -> Path:
        """``layers``: unpacked layers by chain ID hex."""
        return self.path / "layers"

    @property
    def links(self) -> Path:
        """``l``: short symlinks to layer diff folders, for short overlay options."""
        return self.path / "l"

    @property
    def images(self) -> Path:
        """``images``: image records and references."""
        return self.path / "images"

    @property
    def containers(self) -> Path:
        """``containers``: one folder per container."""
        return self.path / "containers"

    @property
    def networks(self) -> Path:
        """``networks``: network records."""
        return self.path / "networks"

    @property
    def volumes(self) -> Path:
        """``volumes``: named volumes."""
        return self.path / "volumes"

    @property
    def lock_path(self) -> Path:
        """``engine.lock``: held by the engine serving this root."""
        return self.path / "engine.lock"

    def create(self) -> None:
        """Make every folder of the layout (mode 0711 for the root, 0755 below).

        Raises:
            StorageError: a folder cannot be made.
        """
        try:
            self.path.mkdir(mode=0o711, parents=True, exist_ok=True)
            for folder in (self.blobs, self.ingest, self.layers, self.links, self.images,
                           self.containers, self.networks, self.volumes):
                folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the state root {self.path}: {exc}") from exc


class EngineLock:
    """The lock that makes one engine serve a state root: ``flock`` on ``engine.lock``.

    The file holds ``{"pid": …, "socket": …}`` of the owner. The lock is tied to
    the open file, so it goes away when the owner exits, even by SIGKILL.

    Args:
        root: the state root to lock.
        socket_path: the API socket the owner serves, written for others to find.
    """

    def __init__(self, root: StateRoot, socket_path: str = "") -> None:
        self.root = root
        self.socket_path = socket_path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or fail naming the engine that holds it.

        Raises:
            EngineLocked: another engine (pid and socket in the message) holds it.
            StorageError: the lock file cannot be opened.
        """
        if self._fd is not None:
            return
        try:
            fd = os.open(self.root.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open {self.root.lock_path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = self._read_owner(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise StorageError(f"cannot lock {self.root.lock_path}: {exc.strerror}") from exc
            pid = owner.get("pid", "unknown")
            where = f" on {owner['socket']}" if owner.get("socket") else ""
            raise EngineLocked(f"another engine (pid {pid}) already serves "
                               f"{self.root.path}{where}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "socket": self.socket_path}).encode(), 0)
        os.fsync(fd)
        self._fd = fd

    @staticmethod
    def _read_owner(fd: int) -> dict[str, Any]:
        try:
            value = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return value if isinstance(value, dict) else {}
        except (OSError, ValueError):
            return {}

    def owner(self) -> dict[str, Any]:
        """What the lock file says about its owner (``pid``, ``socket``); may be stale."""
        return read_json(self.root.lock_path, {}) or {}

    def release(self) -> None:
        """Give the lock up (the file stays, its content is cleared)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
