"""Joining another container's namespaces: ``--pid``, ``--ipc`` and ``--uts container:<ref>``.

Runs in the container's setup process (single-threaded, already
non-dumpable), before it unshares the namespaces it gets new. Each target is
named by a host PID *and* its start time: ``/proc/<pid>`` is opened first
and pins that process, its start time is read through that descriptor, and
only then ``ns/<kind>`` is opened relative to it, so a PID recycled in
between is refused rather than joined. ``setns`` is called with the
namespace's own clone flag, so a file of another type is refused by the
kernel.

An IPC namespace holds System V objects and POSIX message queues; POSIX
shared memory lives in ``/dev/shm``, a tmpfs of the donor's mount namespace.
:func:`clone_shm` enters that mount namespace for a moment, takes a detached
copy of its ``/dev/shm`` mount (``open_tree``), and returns; the container
then attaches the copy at its own ``/dev/shm`` (``move_mount``), which is
what Docker achieves by bind-mounting the donor's host-side shm folder.
"""

from __future__ import annotations

import os

from engine.errors import RuntimeFailure
from engine.runtime import syscalls
from engine.runtime.spec import NamespaceSpec

JOIN_ORDER = ("ipc", "uts", "pid")
"""The namespaces a container may join, in the order it joins them."""


def _start_time(proc_fd: int) -> int | None:
    try:
        fd = os.open("stat", os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc_fd)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    fields = data[data.rfind(b")") + 2:].split()
    if not fields or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def open_namespace(pid: int, started: int, kind: str) -> int:
    """An ``O_RDONLY`` descriptor of ``/proc/<pid>/ns/<kind>``, if ``pid`` still is that process.

    Args:
        pid: the host PID of a process in the namespace (another container's init).
        started: its start time (``/proc/<pid>/stat`` field 22); another process under the same PID is refused.
        kind: ``pid``, ``ipc``, ``uts``, ``mnt``, …

    Raises:
        RuntimeFailure: the process is gone (or its PID names another process now).
    """
    gone = RuntimeFailure(f"cannot join the {kind} namespace of process {pid}: "
                          "the process has exited")
    try:
        proc_fd = os.open(f"/proc/{pid}", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        raise gone from None
    try:
        if _start_time(proc_fd) != started:
            raise gone
        try:
            return os.open(f"ns/{kind}", os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc_fd)
        except OSError:
            raise gone from None
    finally:
        os.close(proc_fd)


def clone_shm(pid: int, started: int) -> int:
    """A detached copy of the ``/dev/shm`` mount that process ``pid`` sees.

    The caller must be single-threaded and must not share its filesystem
    context (``setns`` into a mount namespace requires it); it is back in its
    own mount namespace when this returns.

    Raises:
        RuntimeFailure: the process is gone, or its ``/dev/shm`` is not a tmpfs
            (nothing to share: Docker's "non-shareable IPC").
    """
    own = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    try:
        donor = open_namespace(pid, started, "mnt")
        try:
            syscalls.setns(donor, syscalls.CLONE_NEWNS)
        finally:
            os.close(donor)
        try:
            root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                shm = syscalls.openat2(root, "dev/shm", os.O_PATH | os.O_DIRECTORY,
                                       resolve=syscalls.RESOLVE_IN_ROOT
                                       | syscalls.RESOLVE_NO_SYMLINKS
                                       | syscalls.RESOLVE_NO_MAGICLINKS)
            except OSError as exc:
                raise RuntimeFailure(f"non-shareable IPC: process {pid} has no /dev/shm "
                                     f"({exc.strerror})") from None
            finally:
                os.close(root)
            try:
                if syscalls.fs_magic(shm) != syscalls.TMPFS_MAGIC:
                    raise RuntimeFailure(f"non-shareable IPC: /dev/shm of process {pid} "
                                         "is not a tmpfs")
                return syscalls.open_tree(shm)
            except OSError as exc:
                raise RuntimeFailure(f"cannot copy /dev/shm of process {pid}: "
                                     f"{exc.strerror}") from None
            finally:
                os.close(shm)
        finally:
            syscalls.setns(own, syscalls.CLONE_NEWNS)
    finally:
        os.close(own)


def join_all(namespaces: NamespaceSpec) -> int | None:
    """Enter every namespace :attr:`NamespaceSpec.join` names.

    Returns:
        With ``shm == "join"``: a detached copy of the IPC donor's ``/dev/shm``
        for :func:`engine.runtime.rootfs.prepare` to attach; else ``None``.

    Raises:
        RuntimeFailure: a target is gone, or the kernel refused a ``setns``.
    """
    fds: dict[str, int] = {}
    shm_tree = None
    try:
        for kind in JOIN_ORDER:
            if kind in namespaces.join:
                pid, started = namespaces.join[kind]
                fds[kind] = open_namespace(int(pid), int(started), kind)
        if namespaces.shm == "join":
            pid, started = namespaces.join["ipc"]
            shm_tree = clone_shm(int(pid), int(started))
        for kind, fd in fds.items():
            try:
                syscalls.setns(fd, syscalls.NAMESPACE_FLAGS[kind])
            except OSError as exc:
                raise RuntimeFailure(f"cannot join the {kind} namespace of process "
                                     f"{namespaces.join[kind][0]}: {exc.strerror}") from None
    except BaseException:
        if shm_tree is not None:
            os.close(shm_tree)
        raise
    finally:
        for fd in fds.values():
            os.close(fd)
    return shm_tree
