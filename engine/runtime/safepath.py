"""Paths inside a container's rootfs, resolved without ever leaving it.

Mount, mknod and symlink targets are never built with ``os.path.join``: a
symlink planted in the image (or swapped in later) would steer them onto the
host. :func:`clean_path` walks the path once in user space to refuse, with a
clear error, a destination that climbs out of the root through ``..``
symlinks; :func:`open_in_root` then opens it with ``openat2(RESOLVE_IN_ROOT)``
so the kernel keeps every later lookup inside the root, and callers mount on
``/proc/self/fd/N`` of the descriptor it returns.
"""

from __future__ import annotations

import errno
import os
import stat

from engine.errors import InvalidSpec
from engine.runtime import syscalls

_MAX_LINKS = 40


def clean_path(root_fd: int, path: str) -> str:
    """The in-root path ``path`` designates, with every existing symlink followed.

    Absolute link targets restart at the container's root (as they would
    inside the container). A ``..`` that would climb above the root is an
    escape attempt and refused.

    Raises:
        InvalidSpec: the path escapes the root through a symlink, or loops.
    """
    pending = [p for p in path.split("/") if p and p != "."]
    done: list[str] = []
    links = 0
    exists = True
    while pending:
        part = pending.pop(0)
        if part == "..":
            if not done:
                raise InvalidSpec(f"mount destination {path} escapes the container's root "
                                  "through a symlink")
            done.pop()
            continue
        if exists:
            try:
                parent = syscalls.openat2(root_fd, "/".join(done) or ".",
                                          os.O_PATH | os.O_DIRECTORY)
            except OSError:
                exists = False
            else:
                try:
                    target = os.readlink(part, dir_fd=parent)
                except OSError as exc:
                    target = None
                    if exc.errno == errno.ENOENT:
                        exists = False
                finally:
                    os.close(parent)
                if target is not None:
                    links += 1
                    if links > _MAX_LINKS:
                        raise InvalidSpec(f"too many levels of symlinks in {path}")
                    if target.startswith("/"):
                        done = []
                    pending = [p for p in target.split("/") if p and p != "."] + pending
                    continue
        done.append(part)
    return "/" + "/".join(done)


def open_in_root(root_fd: int, path: str, create: str | None = None, mode: int = 0o755,
                 flags: int = os.O_PATH) -> int:
    """Open ``path`` confined to the root, creating it (and its parents) if asked.

    Args:
        root_fd: an open descriptor of the rootfs directory.
        path: absolute path as the container sees it.
        create: ``"dir"`` or ``"file"`` to create a missing final component;
            parents are always created as directories then.
        mode: permissions for created entries.
        flags: open flags for the final descriptor (``O_PATH`` by default).

    Returns:
        A descriptor the caller closes; mount on ``/proc/self/fd/<fd>``.
    """
    clean = clean_path(root_fd, path)
    try:
        return syscalls.openat2(root_fd, clean, flags)
    except FileNotFoundError:
        if create is None:
            raise
    parts = [p for p in clean.split("/") if p]
    parent = syscalls.openat2(root_fd, ".", os.O_PATH | os.O_DIRECTORY)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                child = syscalls.openat2(parent, part, os.O_PATH)
            except FileNotFoundError:
                if last and create == "file":
                    os.close(os.open(part, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW,
                                     mode & 0o666, dir_fd=parent))
                else:
                    os.mkdir(part, mode, dir_fd=parent)
                child = syscalls.openat2(parent, part, os.O_PATH)
            if not last and not stat.S_ISDIR(os.fstat(child).st_mode):
                os.close(child)
                raise InvalidSpec(f"{'/'.join(parts[:index + 1])} is not a directory in the "
                                  f"container (needed for {path})")
            os.close(parent)
            parent = child
        if flags != os.O_PATH:
            try:
                return syscalls.openat2(root_fd, clean, flags)
            finally:
                os.close(parent)
        return parent
    except BaseException:
        try:
            os.close(parent)
        except OSError:
            pass
        raise


def fd_path(fd: int) -> str:
    """``/proc/self/fd/<fd>``: the magic link to mount on or from."""
    return f"/proc/self/fd/{fd}"
