"""Write a folder as a layer tar: overlay's whiteouts back to OCI's, reproducibly.

A container's upper dir (or an unpacked layer, which has the same form) keeps
deletions as char devices 0/0 and replaced folders as ``trusted.overlay.opaque=y``.
An OCI layer says the same with ``.wh.<name>`` files and a ``.wh..wh..opq`` entry
(``opencontainers/image-spec layer.md``). :func:`tar_chunks` walks the folder in
name order, parents before children, and writes PAX headers with numeric
owners, modes (setuid, setgid, sticky), whole-second mtimes, xattrs (never
overlay's own ``trusted.overlay.*``), symlinks, hardlinks (the first name
carries the data), devices and fifos; sockets are skipped, as Docker does.
The same folder always gives the same bytes, so a layer written from an
unpacked layer has the diff_id of the one written at commit time.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

from engine.errors import StorageError

BLOCK = 512
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
OVERLAY_XATTRS = "trusted.overlay."
_UNSUPPORTED = ("trusted.overlay.redirect", "trusted.overlay.metacopy")
_DATA_CHUNK = 1 << 20


def _xattrs(path: str, follow: bool = False) -> dict[str, str]:
    """The folder entry's xattrs as PAX records (``SCHILY.xattr.*``), overlay's left out."""
    try:
        names = sorted(os.listxattr(path, follow_symlinks=follow))
    except OSError:
        return {}
    records = {}
    for name in names:
        if name.startswith(_UNSUPPORTED):
            raise StorageError(f"{path} carries {name}: overlay redirect_dir/metacopy upper dirs "
                               "cannot be committed from the upper dir alone")
        if name.startswith(OVERLAY_XATTRS):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=follow)
        except OSError:
            continue
        records[f"SCHILY.xattr.{name}"] = value.decode("utf-8", "surrogateescape")
    return records


def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _info(name: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime)
    return info


def _marker(name: str, uid: int, gid: int, mode: int, mtime: int) -> bytes:
    """An empty regular file entry: a whiteout or the opaque marker."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.REGTYPE
    info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, mtime
    info.uname = info.gname = ""
    return _header(info)


def _file_data(path: str, size: int) -> Iterator[bytes]:
    """Exactly ``size`` bytes of the file, then the padding to a block (zeros if it shrank)."""
    sent = 0
    try:
        with open(path, "rb", buffering=0) as source:
            while sent < size:
                piece = source.read(min(_DATA_CHUNK, size - sent))
                if not piece:
                    break
                sent += len(piece)
                yield piece
    except FileNotFoundError:
        pass
    if sent < size:
        yield bytes(size - sent)
    remainder = size % BLOCK
    if remainder:
        yield bytes(BLOCK - remainder)


def tar_chunks(folder: str | os.PathLike[str], *, overlay: bool = True,
               one_filesystem: bool = False) -> Iterator[bytes]:
    """The folder as a tar stream, in chunks.

    Args:
        folder: an overlay upper dir, an unpacked layer, or (``overlay=False``) any tree.
        overlay: convert overlay whiteouts and opaque folders to OCI whiteout entries.
        one_filesystem: do not descend into other mounts (``docker export`` of a
            mounted root: ``/proc``, volumes); their mount points stay as folders.

    Raises:
        StorageError: the folder cannot be read, or uses overlay features
            (redirect_dir, metacopy) the upper dir alone does not describe.
    """
    root = os.fspath(folder)
    try:
        root_dev = os.lstat(root).st_dev
    except OSError as exc:
        raise StorageError(f"cannot read {root}: {exc.strerror}") from exc
    links: dict[tuple[int, int], str] = {}

    def walk(path: str, rel: str) -> Iterator[bytes]:
        try:
            with os.scandir(path) as found:
                entries = sorted(found, key=lambda e: e.name)
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
        for entry in entries:
            name = f"{rel}{entry.name}"
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            mode = st.st_mode
            if overlay and stat.S_ISCHR(mode) and st.st_rdev == 0:
                yield _marker(f"{rel}{WHITEOUT}{entry.name}", st.st_uid, st.st_gid, 0o600, 0)
                continue
            if stat.S_ISSOCK(mode):
                continue
            if stat.S_ISDIR(mode):
                info = _info(name, st, tarfile.DIRTYPE)
                info.pax_headers = _xattrs(entry.path)
                yield _header(info)
                if one_filesystem and st.st_dev != root_dev:
                    continue
                if overlay and _opaque(entry.path):
                    yield _marker(f"{name}/{OPAQUE}", st.st_uid, st.st_gid,
                                  stat.S_IMODE(mode) & 0o777, int(st.st_mtime))
                yield from walk(entry.path, f"{name}/")
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in links:
                info = _info(name, st, tarfile.LNKTYPE)
                info.linkname = links[key]
                yield _header(info)
                continue
            if st.st_nlink > 1:
                links[key] = name
            if stat.S_ISREG(mode):
                info = _info(name, st, tarfile.REGTYPE)
                info.size = st.st_size
                info.pax_headers = _xattrs(entry.path)
                yield _header(info)
                yield from _file_data(entry.path, st.st_size)
            elif stat.S_ISLNK(mode):
                info = _info(name, st, tarfile.SYMTYPE)
                try:
                    info.linkname = os.readlink(entry.path)
                except FileNotFoundError:
                    continue
                info.pax_headers = _xattrs(entry.path)
                yield _header(info)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                info = _info(name, st, tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE)
                info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                info.pax_headers = _xattrs(entry.path)
                yield _header(info)
            elif stat.S_ISFIFO(mode):
                info = _info(name, st, tarfile.FIFOTYPE)
                info.pax_headers = _xattrs(entry.path)
                yield _header(info)

    yield from walk(root, "")
    yield bytes(2 * BLOCK)


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False


def count_entries(folder: str | os.PathLike[str]) -> int:
    """How many entries the folder holds (0: an empty diff)."""
    with os.scandir(Path(folder)) as found:
        return sum(1 for _ in found)
