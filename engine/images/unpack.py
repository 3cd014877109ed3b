"""Apply one layer (a tar stream, compressed or not) into an empty folder, safely.

The folder becomes an overlay lower layer: OCI whiteouts ``.wh.X`` turn into
char devices 0/0 named ``X``, ``.wh..wh..opq`` into ``trusted.overlay.opaque=y``
on its folder. Every member is applied through :class:`ConfinedRoot` fds, so
nothing is ever written outside the folder whatever the tar says; names that
try (absolute, ``..``, through a symlink, hardlinks to outside or to a later
member) raise :class:`UnsafeLayer` naming the member. The caller (the layer
store) unpacks into a temporary folder and removes it on any failure.

Owners (lchown), modes with setuid/setgid/sticky (chmod after chown), PAX
xattrs (set after chown, which clears ``security.capability``) and times
(nanoseconds, symlinks not followed, folders last) are kept exactly.

Most files of a layer need fewer calls than that, and the calls are what an
unpack costs: a file is created with its final mode when that mode has no
special bits and survives the umask (and no default ACL decides it), and its
owner is not set when the kernel already gives it that owner (see
:meth:`ConfinedRoot.creates`). A plain ``root:root 0644`` file is then
``openat``, ``write``, ``futimens``, ``close``.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from engine.errors import DigestMismatch, LayerError, UnsafeLayer, WharfError
from engine.images.confined import ConfinedRoot, Creation, Parts, split_name
from engine.images.decompress import DecompressedStream
from engine.images.tarstream import (BLOCKDEV, CHARDEV, CONTIGUOUS, DIRECTORY, FIFO, HARDLINK,
                                     REGULAR, SYMLINK, TarEntry, TarReader)

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"

_T = TypeVar("_T")
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class UnpackResult:
    """What applying a layer found.

    Attributes:
        diff_id: sha256 of the whole decompressed stream.
        size: bytes of file content in the layer (regular files and link targets).
        entries: tar members applied.
        tar_size: bytes of decompressed tar, trailing data included.
        compression: ``"gzip"``, ``"zstd"``, ``"tar"``, …
        seconds: wall time spent.
    """

    diff_id: str
    size: int
    entries: int
    tar_size: int
    compression: str
    seconds: float


def apply_layer(source: BinaryIO, dest: str | os.PathLike[str], *,
                expected_diff_id: str | None = None,
                compressed_digest: str | None = None,
                on_progress: Callable[[int], None] | None = None) -> UnpackResult:
    """Unpack the layer stream ``source`` into the empty folder ``dest``.

    Args:
        source: the layer blob (any ``read(n)`` object); read to its end.
        dest: an existing, empty folder; on failure it holds a partial tree
            that the caller must remove.
        expected_diff_id: ``config.rootfs.diff_ids[i]``; checked after the whole
            stream (including data after the tar end) is hashed.
        compressed_digest: if given, the raw blob must hash to it too.
        on_progress: called (in a worker thread) with raw bytes read so far.

    Returns:
        The layer's diff_id, size and counts.

    Raises:
        UnsafeLayer: a member tries to write outside ``dest``.
        DigestMismatch: the decompressed stream does not hash to ``expected_diff_id``.
        LayerError: corrupt or truncated archive or compression, or a failed write.
    """
    started = time.monotonic()
    algorithm = (expected_diff_id or "sha256:").partition(":")[0]
    stream = DecompressedStream(source, compressed_digest=compressed_digest,
                                on_progress=on_progress,
                                diff_algorithm="sha512" if algorithm == "sha512" else "sha256")
    try:
        with ConfinedRoot(dest) as root:
            applier = _Applier(root)
            reader = TarReader(stream.chunks())
            for entry in reader.entries():
                applier.apply(entry, reader)
            stream.drain()
            applier.finish()
    except OSError as exc:
        raise LayerError(f"cannot unpack layer: {exc.strerror or exc}") from exc
    finally:
        stream.close()
    assert stream.diff_id is not None
    if expected_diff_id is not None and stream.diff_id != expected_diff_id:
        raise DigestMismatch(f"layer content hashes to {stream.diff_id}, "
                             f"not the diff_id {expected_diff_id}")
    return UnpackResult(stream.diff_id, applier.size, applier.count, stream.size,
                        stream.compression.value if stream.compression else "tar",
                        time.monotonic() - started)


def _plain_mode(mode: int, creation: Creation) -> int | None:
    """``mode`` if ``open(..., mode)`` alone gives a new file exactly that mode, else ``None``."""
    if mode & 0o7000 or creation.umask is None or mode & creation.umask:
        return None
    return mode


def _link_target(entry: TarEntry) -> Parts:
    """A hardlink's source inside the layer (a leading ``/`` means the layer's root)."""
    return split_name(entry.linkname.lstrip("/"), entry.name)


class _Applier:
    """Applies members one by one and remembers what folder times to set last."""

    def __init__(self, root: ConfinedRoot) -> None:
        self.root = root
        self.size = 0
        self.count = 0
        self._written: set[Parts] = set()
        self._dir_times: list[tuple[Parts, int, int]] = []

    def apply(self, entry: TarEntry, reader: TarReader) -> None:
        parts = split_name(entry.name)
        self.count += 1
        self.root.trim()
        try:
            if parts and parts[-1].startswith(WHITEOUT):
                self._whiteout(entry, parts)
                return
            if not parts:
                if entry.type != DIRECTORY:
                    raise LayerError(f"layer entry {entry.name!r} names the root but is "
                                     "not a folder")
                self._attributes(self.root.fd, None, entry)
                self.root.changed(())
                self._dir_times.append(((), *self._times(entry)))
                return
            parent = self.root.dir(parts[:-1], entry.name)
            self._apply_in(parent, parts, entry, reader)
        except WharfError:
            raise
        except OSError as exc:
            raise LayerError(f"layer entry {entry.name!r}: {exc.strerror or exc}") from exc

    def _create(self, parent: int, parts: Parts, make: Callable[[], _T]) -> _T:
        """Run ``make``; if the name exists (an earlier entry or folder), replace it."""
        try:
            return make()
        except FileExistsError:
            self.root.remove(parent, parts[-1], parts)
            self._written.discard(parts)
            return make()

    def _apply_in(self, parent: int, parts: Parts, entry: TarEntry, reader: TarReader) -> None:
        name = parts[-1]
        kind = entry.type
        if kind in (REGULAR, CONTIGUOUS):
            creation = self.root.creates(parts[:-1], parent)
            mode = stat.S_IMODE(entry.mode)
            final_mode = _plain_mode(mode, creation)
            fd = self._create(parent, parts, lambda: os.open(
                name, _FILE_FLAGS, 0o600 if final_mode is None else final_mode, dir_fd=parent))
            try:
                reader.write_data(fd, entry)
                if entry.uid != creation.uid or entry.gid != creation.gid:
                    os.fchown(fd, entry.uid, entry.gid)
                if final_mode is None:  # after chown, which clears setuid/setgid
                    os.fchmod(fd, mode)
                if entry.xattrs:
                    self._xattrs(fd, None, entry)
                os.utime(fd, ns=self._times(entry))
            finally:
                os.close(fd)
            self.size += entry.size
            self._written.add(parts)
        elif kind == DIRECTORY:
            try:
                os.mkdir(name, 0o700, dir_fd=parent)
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(name, dir_fd=parent).st_mode):
                    self._create(parent, parts, lambda: os.mkdir(name, 0o700, dir_fd=parent))
            fd = self.root.dir(parts, entry.name, create=False)
            self._attributes(fd, None, entry)
            self.root.changed(parts)
            self._dir_times.append((parts, *self._times(entry)))
        elif kind == SYMLINK:
            self._create(parent, parts, lambda: os.symlink(entry.linkname, name, dir_fd=parent))
            creation = self.root.creates(parts[:-1], parent)
            if entry.uid != creation.uid or entry.gid != creation.gid:
                os.chown(name, entry.uid, entry.gid, dir_fd=parent, follow_symlinks=False)
            if entry.xattrs:
                self._xattrs(parent, name, entry)
            os.utime(name, ns=self._times(entry), dir_fd=parent, follow_symlinks=False)
            self.size += len(os.fsencode(entry.linkname))
            self._written.add(parts)
        elif kind == HARDLINK:
            self._hardlink(parent, parts, entry)
        elif kind in (CHARDEV, BLOCKDEV, FIFO):
            if kind == FIFO:
                self._create(parent, parts, lambda: os.mkfifo(name, 0o600, dir_fd=parent))
            else:
                fmt = stat.S_IFCHR if kind == CHARDEV else stat.S_IFBLK
                device = os.makedev(entry.devmajor, entry.devminor)
                self._create(parent, parts,
                             lambda: os.mknod(name, fmt | 0o600, device, dir_fd=parent))
            self._attributes(parent, name, entry)
            os.utime(name, ns=self._times(entry), dir_fd=parent, follow_symlinks=False)
            self._written.add(parts)
        else:
            raise LayerError(f"layer entry {entry.name!r} has unsupported tar type "
                             f"{kind!r}")

    def _hardlink(self, parent: int, parts: Parts, entry: TarEntry) -> None:
        target = _link_target(entry)
        if target == parts:
            return  # a link to itself: nothing to do
        if target not in self._written:
            raise UnsafeLayer(f"layer entry {entry.name!r} hardlinks to {entry.linkname!r}, "
                              "which is not an earlier file of this layer")
        target_parent = self.root.dir(target[:-1], entry.name, create=False)
        self._create(parent, parts, lambda: os.link(
            target[-1], parts[-1], src_dir_fd=target_parent, dst_dir_fd=parent,
            follow_symlinks=False))
        self._written.add(parts)

    def _whiteout(self, entry: TarEntry, parts: Parts) -> None:
        base = parts[-1]
        parent = self.root.dir(parts[:-1], entry.name)
        if base == OPAQUE:
            os.setxattr(parent, OPAQUE_XATTR, b"y")
            return
        if base.startswith(WHITEOUT + WHITEOUT):
            return  # aufs metadata (.wh..wh.plnk, .wh..wh.aufs): meaningless here
        hidden = base[len(WHITEOUT):]
        if hidden in ("", ".", ".."):
            raise UnsafeLayer(f"layer entry {entry.name!r} is an invalid whiteout")
        target = parts[:-1] + (hidden,)
        try:
            os.lstat(hidden, dir_fd=parent)
            self.root.remove(parent, hidden, target)
        except FileNotFoundError:
            pass
        os.mknod(hidden, stat.S_IFCHR | 0o600, 0, dir_fd=parent)
        if entry.uid or entry.gid:
            os.chown(hidden, entry.uid, entry.gid, dir_fd=parent, follow_symlinks=False)
        self._written.discard(target)

    def _attributes(self, fd: int, name: str | None, entry: TarEntry) -> None:
        """Owner, then mode (so setuid survives), then xattrs (chown clears caps).

        For folders and special files; regular files and symlinks skip the calls
        the kernel's defaults make unneeded (see :func:`_plain_mode`).
        """
        if name is None:
            os.fchown(fd, entry.uid, entry.gid)
            os.fchmod(fd, stat.S_IMODE(entry.mode))
        else:
            os.chown(name, entry.uid, entry.gid, dir_fd=fd, follow_symlinks=False)
            os.chmod(name, stat.S_IMODE(entry.mode), dir_fd=fd)
        self._xattrs(fd, name, entry)

    def _xattrs(self, fd: int, name: str | None, entry: TarEntry) -> None:
        """The entry's PAX xattrs (after any chown), minus overlay's own namespace."""
        for key, value in entry.xattrs.items():
            if key.startswith("trusted.overlay."):
                continue  # never let a layer forge overlay's own metadata
            try:
                if name is None:
                    os.setxattr(fd, key, value)
                else:
                    os.setxattr(self.root.proc_path(fd, name), key, value,
                                follow_symlinks=False)
            except OSError as exc:
                # as moby: a namespace this filesystem or kernel refuses is skipped
                if exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
                    raise

    @staticmethod
    def _times(entry: TarEntry) -> tuple[int, int]:
        atime = entry.atime_ns if entry.atime_ns is not None else entry.mtime_ns
        return atime, entry.mtime_ns

    def finish(self) -> None:
        """Set folder times last (creating members changed them)."""
        for parts, atime, mtime in self._dir_times:
            try:
                fd = self.root.dir(parts, "/".join(parts), create=False)
            except (LayerError, UnsafeLayer):
                continue  # replaced by a non-folder later in the archive
            os.utime(fd, ns=(atime, mtime))
            self.root.trim()
