"""``docker cp``: stat, read and write paths inside a container's root filesystem, confined.

A path is resolved as the container would resolve it (absolute symlinks
restart at the container's root, ``..`` never climbs out), then opened with
``openat2(RESOLVE_IN_ROOT)``; GNU tar reads through ``/proc/self/fd/N`` of
that descriptor and never follows a symlink inside the tree, and writes go
through the layer extractor, which never follows one either.
"""

from __future__ import annotations

import os
import stat as stats
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.model import PathStat
from engine.errors import InvalidArgument, NotFound, WharfError
from engine.images.blobio import ChunkReader
from engine.images.unpack import apply_layer
from engine.runtime.safepath import clean_path, fd_path
from engine.runtime.syscalls import openat2

_GO_MODE_DIR = 1 << 31
_GO_MODE_SYMLINK = 1 << 27
_GO_MODE_DEVICE = 1 << 26
_GO_MODE_PIPE = 1 << 25
_GO_MODE_SOCKET = 1 << 24
_GO_MODE_SETUID = 1 << 23
_GO_MODE_SETGID = 1 << 22
_GO_MODE_CHARDEV = 1 << 21
_GO_MODE_STICKY = 1 << 20


def go_mode(mode: int) -> int:
    """A ``st_mode`` in Go's ``os.FileMode`` bits (what the docker CLI decodes)."""
    result = mode & 0o777
    kind = stats.S_IFMT(mode)
    result |= {stats.S_IFDIR: _GO_MODE_DIR, stats.S_IFLNK: _GO_MODE_SYMLINK, stats.S_IFIFO: _GO_MODE_PIPE,
               stats.S_IFSOCK: _GO_MODE_SOCKET, stats.S_IFBLK: _GO_MODE_DEVICE,
               stats.S_IFCHR: _GO_MODE_DEVICE | _GO_MODE_CHARDEV}.get(kind, 0)
    if mode & stats.S_ISUID:
        result |= _GO_MODE_SETUID
    if mode & stats.S_ISGID:
        result |= _GO_MODE_SETGID
    if mode & stats.S_ISVTX:
        result |= _GO_MODE_STICKY
    return result


@contextmanager
def _root(rootfs: str) -> Iterator[int]:
    fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _split(path: str) -> tuple[str, str]:
    if not path.startswith("/"):
        path = "/" + path
    follow = path.endswith("/") or path.endswith("/.")
    parent, _, name = path.rstrip("/").rpartition("/")
    if follow or not name:
        return path.rstrip("/").removesuffix("/.") or "/", ""
    return parent or "/", name


def stat_path(rootfs: str, path: str) -> PathStat:
    """What ``path`` is in the container (the final symlink is not followed, as Docker).

    Raises:
        NotFound: ``Could not find the file <path> in container``.
    """
    parent, name = _split(path)
    with _root(rootfs) as root:
        try:
            where = clean_path(root, parent)
            fd = openat2(root, where.lstrip("/") or ".", os.O_PATH | os.O_DIRECTORY)
        except (OSError, WharfError):
            raise NotFound(f"Could not find the file {path} in container") from None
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False) if name else os.fstat(fd)
            target = os.readlink(name, dir_fd=fd) if name and stats.S_ISLNK(info.st_mode) else ""
        except OSError:
            raise NotFound(f"Could not find the file {path} in container") from None
        finally:
            os.close(fd)
    shown = name or os.path.basename(parent.rstrip("/")) or "/"
    return PathStat(shown, info.st_size, go_mode(info.st_mode), info.st_mtime, target)


def read_archive(rootfs: str, path: str, chunk_size: int = 1 << 16) -> Iterator[bytes]:
    """A tar stream of ``path`` (named by its base name, as ``docker cp`` expects)."""
    parent, name = _split(path)
    with _root(rootfs) as root:
        where = clean_path(root, parent)
        fd = openat2(root, where.lstrip("/") or ".", os.O_PATH | os.O_DIRECTORY)
    try:
        if name:
            args = ["tar", "--numeric-owner", "-C", fd_path(fd), "-cf", "-", "--", name]
        else:
            base = os.path.basename(where.rstrip("/")) or "."
            args = ["tar", "--numeric-owner", "-C", fd_path(fd), "-cf", "-", f"--transform=s,^\\.,{base},",
                    "--", "."]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(fd,))
    finally:
        os.close(fd)
    assert process.stdout is not None
    try:
        while chunk := process.stdout.read(chunk_size):
            yield chunk
    finally:
        process.stdout.close()
        error = process.stderr.read().decode(errors="replace").strip() if process.stderr else ""
        if process.wait() != 0 and error:
            raise NotFound(f"Could not read {path} in container: {error}")


def write_archive(rootfs: str, path: str, chunks: Iterator[bytes]) -> None:
    """Extract a tar stream into the folder ``path`` of the container.

    Raises:
        NotFound: the folder does not exist; InvalidArgument: it is not a folder;
        UnsafeLayer: the tar tries to leave it.
    """
    with _root(rootfs) as root:
        try:
            where = clean_path(root, path)
            fd = openat2(root, where.lstrip("/") or ".", os.O_RDONLY | os.O_DIRECTORY)
        except NotADirectoryError:
            raise InvalidArgument(f"extraction point is not a directory: {path}") from None
        except (OSError, WharfError):
            raise NotFound(f"Could not find the file {path} in container") from None
    try:
        # The confined extractor opens its root with O_NOFOLLOW, so it takes the folder's
        # real path; from there on it never follows a symlink.
        apply_layer(ChunkReader(chunks), Path(os.readlink(fd_path(fd))))  # type: ignore[arg-type]
    finally:
        os.close(fd)
