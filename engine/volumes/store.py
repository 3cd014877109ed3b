"""The volume store: ``<root>/volumes/<name>/_data`` plus an atomic ``meta.json``.

A volume is created on first use (``-v name:/path``) or explicitly, is
filled from the image's content at its mount point the first time it is
mounted empty (Docker's copy-up), and can be removed only while no
container uses it (the caller says which are in use).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import AlreadyExists, InUse, InvalidArgument, StorageError, VolumeNotFound
from engine.state import atomic_write_json, fsync_dir, read_json

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
"""Docker's rule for volume names."""


@dataclass(frozen=True)
class Volume:
    """One volume.

    Attributes:
        name: its name (64 hex digits for an anonymous one).
        mountpoint: the host folder bound into containers.
        created: seconds since the epoch.
        labels: user labels.
        options: driver options (only ``local`` with none is supported).
        anonymous: made for a container's ``VOLUME`` without a name.
        populated: whether it was already filled from an image (copy-up happens once).
    """

    name: str
    mountpoint: Path
    created: float
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    populated: bool = False


class VolumeStore:
    """Volumes under one folder.

    Args:
        root: ``<state root>/volumes``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def _dir(self, name: str) -> Path:
        if not NAME_PATTERN.match(name) or len(name) > 255:
            raise InvalidArgument(f"invalid volume name {name!r}: use letters, digits, '_', '.' or '-', "
                                  "starting with a letter or digit")
        return self.root / name

    def _load(self, folder: Path) -> Volume | None:
        meta = read_json(folder / "meta.json")
        if not isinstance(meta, dict):
            return None
        return Volume(name=meta["name"], mountpoint=folder / "_data", created=meta["created"],
                      labels=dict(meta.get("labels") or {}), options=dict(meta.get("options") or {}),
                      anonymous=bool(meta.get("anonymous")), populated=bool(meta.get("populated")))

    def _save(self, volume: Volume) -> None:
        atomic_write_json(self.root / volume.name / "meta.json", {
            "name": volume.name, "created": volume.created, "labels": volume.labels,
            "options": volume.options, "anonymous": volume.anonymous, "populated": volume.populated})

    def create(self, name: str = "", *, labels: dict[str, str] | None = None,
               driver: str = "local", options: dict[str, str] | None = None,
               exist_ok: bool = True) -> Volume:
        """Create a volume (a random anonymous name when ``name`` is empty).

        Raises:
            InvalidArgument: a bad name, another driver, or driver options.
            AlreadyExists: the name is taken and ``exist_ok`` is false.
        """
        if driver not in ("", "local"):
            raise InvalidArgument(f"volume driver {driver!r} is not supported: Wharf has only the local driver")
        if options:
            raise InvalidArgument(f"local volume options are not supported yet: {sorted(options)}")
        anonymous = not name
        name = name or secrets.token_hex(32)
        folder = self._dir(name)
        with self._lock:
            existing = self._load(folder)
            if existing is not None:
                if not exist_ok:
                    raise AlreadyExists(f"volume {name} already exists")
                return existing
            try:
                (folder / "_data").mkdir(parents=True, exist_ok=True)
                os.chmod(folder / "_data", 0o755)
                volume = Volume(name, folder / "_data", time.time(), dict(labels or {}), {}, anonymous)
                self._save(volume)
                fsync_dir(self.root)
            except OSError as exc:
                raise StorageError(f"cannot create volume {name}: {exc.strerror}") from exc
            return volume

    def get(self, name: str) -> Volume:
        """The volume ``name``.

        Raises:
            VolumeNotFound: there is none.
        """
        volume = self._load(self._dir(name)) if NAME_PATTERN.match(name or "-") else None
        if volume is None:
            raise VolumeNotFound(f"no such volume: {name}")
        return volume

    def list(self) -> list[Volume]:
        """Every volume, by name."""
        found = []
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.is_dir() and not entry.name.startswith("."):
                volume = self._load(Path(entry.path))
                if volume is not None:
                    found.append(volume)
        return found

    def populate(self, name: str, source: Path) -> bool:
        """Copy ``source`` (the image's folder at the mount point) into an empty, never-filled volume.

        Returns whether anything was copied. The copy keeps owners, modes,
        links and times, and never follows a symlink out of ``source``.
        """
        with self._lock:
            volume = self.get(name)
            if volume.populated:
                return False
            copied = False
            if source.is_dir() and not source.is_symlink() and not any(volume.mountpoint.iterdir()):
                # cp -a keeps owners, modes, times, links, hardlinks and xattrs, never dereferences.
                done = subprocess.run(["cp", "-a", "--no-dereference", "--", f"{source}/.",
                                       f"{volume.mountpoint}/"], capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise StorageError(f"cannot fill volume {name} from the image: {done.stderr.strip()}")
                copied = True
            self._save(Volume(volume.name, volume.mountpoint, volume.created, volume.labels,
                              volume.options, volume.anonymous, True))
            return copied

    def remove(self, name: str, in_use: Callable[[str], Iterable[str]] = lambda _: (), *,
               force: bool = False) -> None:
        """Remove a volume and its content.

        Args:
            in_use: gives the containers using a volume.
            force: remove a missing volume without error (``docker volume rm -f``).

        Raises:
            VolumeNotFound: there is none (unless ``force``).
            InUse: a container uses it; the message names them.
        """
        try:
            volume = self.get(name)
        except VolumeNotFound:
            if force:
                return
            raise
        users = sorted(in_use(name))
        if users:
            raise InUse(f"remove {name}: volume is in use - [{', '.join(users)}]")
        doomed = self.root / f".rm-{secrets.token_hex(6)}"
        try:
            os.rename(self.root / volume.name, doomed)
            fsync_dir(self.root)
        except OSError as exc:
            raise StorageError(f"cannot remove volume {name}: {exc.strerror}") from exc
        shutil.rmtree(doomed, ignore_errors=True)

    def prune(self, in_use: Callable[[str], Iterable[str]], *, all_volumes: bool = False) -> list[str]:
        """Remove unused volumes (only anonymous ones unless ``all_volumes``, as Docker ≥ 23)."""
        removed = []
        for volume in self.list():
            if (volume.anonymous or all_volumes) and not list(in_use(volume.name)):
                self.remove(volume.name, in_use)
                removed.append(volume.name)
        return removed

    def size(self, name: str) -> int:
        """Bytes used by a volume's files."""
        total = 0
        for folder, _dirs, files in os.walk(self.get(name).mountpoint):
            for file in files:
                try:
                    total += os.lstat(os.path.join(folder, file)).st_size
                except OSError:
                    continue
        return total
