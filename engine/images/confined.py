"""Directory file descriptors confined to one root: no symlink is ever followed.

Every path a layer names is split into components and walked one ``openat``
at a time with ``O_NOFOLLOW | O_DIRECTORY`` from the root's fd. A component
that is a symlink ends the walk with :class:`UnsafeLayer`: a tar entry cannot
reach outside its layer through a link it (or anyone) planted. Missing parent
folders are made (0755, root) as tar extractors do. Open folder fds are cached
by path, since archives list a folder's members together, and so is what a
file created in each folder gets without further calls (:meth:`ConfinedRoot.creates`).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass

from engine.errors import LayerError, UnsafeLayer

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CACHE_MAX = 128

Parts = tuple[str, ...]
"""A cleaned relative path as its components, e.g. ``("usr", "bin")``; ``()`` is the root."""


ACL_DEFAULT = "system.posix_acl_default"
"""The xattr holding a folder's default ACL, which decides new files' modes instead of the umask."""


@dataclass(frozen=True)
class Creation:
    """What a file created in a folder gets from the kernel, before any chown or chmod.

    Attributes:
        uid: its owner (the process's effective uid).
        gid: its group: the process's effective gid, or the folder's (setgid
            folder, ``grpid`` mount); ``None`` when it is not known for sure.
        umask: bits the kernel clears from the mode given to ``open``/``mkdir``;
            ``None`` when a default ACL on the folder decides the mode instead.
    """

    uid: int
    gid: int | None
    umask: int | None


def process_umask() -> int | None:
    """This process's umask, read without changing it (``/proc/self/status``)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def split_name(name: str, entry: str | None = None) -> Parts:
    """Clean a tar member name into components, refusing anything that could escape.

    ``./a//b/`` becomes ``("a", "b")``. Absolute names and any ``..`` component
    are refused.

    Args:
        name: the name as the archive gives it.
        entry: the member to name in the error (defaults to ``name``).

    Raises:
        UnsafeLayer: absolute, or contains ``..``.
    """
    if name.startswith("/"):
        raise UnsafeLayer(f"layer entry {entry or name!r} has an absolute path")
    parts = tuple(p for p in name.split("/") if p and p != ".")
    if ".." in parts:
        raise UnsafeLayer(f"layer entry {entry or name!r} climbs out with '..'")
    if "\x00" in name:
        raise UnsafeLayer(f"layer entry {entry or name!r} contains a NUL byte")
    return parts


class ConfinedRoot:
    """Folder fds below one root, opened without following any symlink.

    Args:
        root: an existing folder (the layer being written).
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)
        self.fd = os.open(self.root, _DIR_FLAGS)
        """The root folder's fd."""
        self._cache: dict[Parts, int] = {(): self.fd}
        self._creation: dict[Parts, Creation] = {}
        self._uid = os.geteuid()
        self._gid = os.getegid()
        self._umask = process_umask()

    def dir(self, parts: Parts, entry: str, create: bool = True) -> int:
        """The fd of folder ``parts``, made (with its parents) when missing and ``create``.

        Args:
            parts: the folder's components.
            entry: the tar member being applied, for error messages.
            create: make missing folders (else a missing one is an error).

        Raises:
            UnsafeLayer: a component is a symlink.
            LayerError: a component is another kind of file, or missing.
        """
        fd = self._cache.get(parts)
        if fd is not None:
            return fd
        parent = self.dir(parts[:-1], entry, create)
        name = parts[-1]
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise LayerError(f"layer entry {entry!r}: {'/'.join(parts)} does not exist"
                                 ) from None
            os.mkdir(name, 0o755, dir_fd=parent)
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise LayerError(f"layer entry {entry!r}: {exc.strerror}") from None
            if stat.S_ISLNK(os.lstat(name, dir_fd=parent).st_mode):
                raise UnsafeLayer(f"layer entry {entry!r} would be written through the "
                                  f"symlink {'/'.join(parts)}") from None
            raise LayerError(f"layer entry {entry!r}: {'/'.join(parts)} is not a folder"
                             ) from None
        self._cache[parts] = fd
        return fd

    def creates(self, parts: Parts, fd: int) -> Creation:
        """What a file created in folder ``parts`` (open as ``fd``) gets; cached with the fd.

        The group is only taken as the process's own when the folder's group is
        that too (then neither a setgid folder nor a ``grpid`` mount changes it).
        Call :meth:`changed` after changing the folder's owner or mode.
        """
        found = self._creation.get(parts)
        if found is None:
            st = os.fstat(fd)
            umask = self._umask
            if umask is not None:
                try:
                    os.getxattr(fd, ACL_DEFAULT)
                    umask = None  # a default ACL, not the umask, sets new modes here
                except OSError as exc:
                    if exc.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                        umask = None
            found = Creation(self._uid, self._gid if st.st_gid == self._gid else None, umask)
            self._creation[parts] = found
        return found

    def changed(self, parts: Parts) -> None:
        """Folder ``parts`` got a new owner, mode or ACL: forget what :meth:`creates` knew."""
        self._creation.pop(parts, None)

    def trim(self) -> None:
        """Close cached fds beyond the cache's bound (call between entries, never while
        an fd from :meth:`dir` is still in use)."""
        if len(self._cache) > _CACHE_MAX:
            self._drop(lambda key: bool(key))

    def _drop(self, predicate: object) -> None:
        for key in [k for k in self._cache if predicate(k)]:  # type: ignore[operator]
            os.close(self._cache.pop(key))
            self._creation.pop(key, None)

    def forget(self, parts: Parts) -> None:
        """Close cached fds of ``parts`` and everything below it (it was removed)."""
        n = len(parts)
        self._drop(lambda key: len(key) >= n and key[:n] == parts and key != ())

    def remove(self, parent_fd: int, name: str, parts: Parts) -> None:
        """Remove ``name`` in ``parent_fd``, any type (folders recursively, no link followed)."""
        st = os.lstat(name, dir_fd=parent_fd)
        if stat.S_ISDIR(st.st_mode):
            self.forget(parts)
            shutil.rmtree(name, dir_fd=parent_fd)
        else:
            os.unlink(name, dir_fd=parent_fd)

    def proc_path(self, parent_fd: int, name: str) -> str:
        """A path naming ``name`` in ``parent_fd`` for calls without ``dir_fd`` (l*xattr)."""
        return f"/proc/self/fd/{parent_fd}/{name}"

    def close(self) -> None:
        """Close every fd, the root's too."""
        for fd in self._cache.values():
            os.close(fd)
        self._cache.clear()
        self._creation.clear()

    def __enter__(self) -> ConfinedRoot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
