"""Container init and exec processes: namespaces, rootfs, then :mod:`process`.

The shim calls :func:`spawn_init` (or :func:`spawn_exec`). Both fork a
*setup* process that joins or creates the namespaces (``unshare``/``setns``
through ctypes), turns non-dumpable (no ptrace or /proc/<pid>/mem from the
container while host state is still in memory), and forks again: a new PID
namespace applies only to children, so that child is the container's PID 1
(or the exec'd process inside the container's PID namespace). The setup
process reports the child's host PID and exits; the shim, a child subreaper,
adopts the child. An exec's setup process waits until the shim has put it in
the container's cgroups; a new container's init is put there by the shim
while it mounts its root filesystem, and waits for that before its cgroup
namespace and the user's command (see :func:`spawn_init`).
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
from typing import Any

from engine.runtime import nsjoin, process, rootfs, syscalls
from engine.runtime.seccomp_profile import compile_profile
from engine.runtime.spec import INIT_PATH, ProcessSpec, RuntimeSpec

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
NS_ORDER = ("ipc", "uts", "net", "pid", "cgroup", "mnt")
"""Order in which an exec joins the init's namespaces (mnt last: it changes the root)."""


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        ifreq = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, ifreq))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | 1))


def _stdio(fds: tuple[int, int, int]) -> None:
    for target, fd in enumerate(fds):
        if fd != target:
            os.dup2(fd, target)
    for fd in set(fds):
        if fd > 2:
            os.close(fd)


def _namespace_flags(spec: RuntimeSpec) -> int:
    ns = spec.namespaces
    flags = 0
    for name in ("pid", "mnt", "uts", "ipc", "cgroup"):
        if getattr(ns, name) and name not in ns.join:
            flags |= syscalls.NAMESPACE_FLAGS[name]
    if ns.net == "new":
        flags |= syscalls.CLONE_NEWNET
    return flags | syscalls.CLONE_NEWNS  # a mount namespace is not optional


def _seccomp_for(proc: ProcessSpec, privileged: bool) -> Any:
    if privileged or not proc.seccomp:
        return None
    return compile_profile(proc.capabilities, proc.no_new_privileges)


def _container_init(spec: RuntimeSpec, sync: socket.socket, cgroup_dirs: dict[str, str],
                    seccomp_filter: Any, shm_tree: int | None = None) -> None:
    """PID 1 of the new namespaces (or a process in joined ones): rootfs, pivot, finalize,
    then the user's command. ``shm_tree``: the IPC donor's ``/dev/shm`` to attach."""
    try:
        if spec.namespaces.uts and spec.hostname:
            socket.sethostname(spec.hostname)
        if spec.namespaces.net == "new":
            _loopback_up()
        rootfs.prepare(spec, cgroup_dirs, console=spec.process.tty, shm_tree=shm_tree)
        rootfs.pivot(spec.rootfs)
        rootfs.finalize(spec)
        _enter_cgroups(sync, spec)
    except BaseException as exc:  # noqa: BLE001
        process.fail(sync, exc)
    proc = spec.process
    if spec.init:
        proc.args = [INIT_PATH, "--", *proc.args]
    process.finish(sync, proc, spec.hostname, seccomp_filter, wait_start=True,
                   console=proc.tty)


def _enter_cgroups(sync: socket.socket, spec: RuntimeSpec) -> None:
    """Wait until the shim has moved this process into the container's cgroups, then
    unshare the cgroup namespace (its root is the cgroup the caller is in at that moment)."""
    if sync.recv(16) != b"joined":
        os._exit(1)
    if spec.namespaces.cgroup:
        syscalls.unshare(syscalls.CLONE_NEWCGROUP)


def spawn_init(spec: RuntimeSpec, stdio: tuple[int, int, int], sync: socket.socket,
               cgroup_dirs: dict[str, str]) -> int:
    """Fork the setup process for a new container; returns its PID.

    The setup process unshares every namespace but the cgroup one, forks the
    container's init and answers with a ``{"type": "pid", "pid": …}`` line.
    The shim moves the setup process into the container's cgroups as soon as
    it exists (without waiting for that), then writes the *init's* PID there
    too while the init builds its root filesystem (on cgroup v1 the first
    ``cgroup.procs`` write waits for an RCU grace period, several
    milliseconds: it overlaps with the unshare, the fork and the mounts
    instead of preceding them) and sends ``b"joined"``; the init waits
    for it before it unshares its cgroup namespace and resolves the user, then
    reports ``ready`` (or ``error``) and waits for ``start``. Nothing of the
    user's runs before it is in the cgroups.
    """
    pid = os.fork()
    if pid:
        return pid
    try:
        _stdio(stdio)
        syscalls.prctl(syscalls.PR_SET_PDEATHSIG, 9)
        syscalls.set_name("wharf-init")
        seccomp_filter = _seccomp_for(spec.process, spec.privileged)
        with open("/proc/self/oom_score_adj", "w") as f:  # not the shim's -999
            f.write(str(spec.oom_score_adj))
        net = spec.namespaces.net
        if net not in ("new", "host"):
            fd = os.open(net, os.O_RDONLY | os.O_CLOEXEC)
            syscalls.setns(fd, syscalls.CLONE_NEWNET)
            os.close(fd)
        syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)
        shm_tree = nsjoin.join_all(spec.namespaces)  # --pid/--ipc/--uts container:<ref>
        syscalls.unshare(_namespace_flags(spec) & ~syscalls.CLONE_NEWCGROUP)  # after the join
        child = os.fork()
        if child == 0:
            syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)
            _container_init(spec, sync, cgroup_dirs, seccomp_filter, shm_tree)
            os._exit(128)
        process.send(sync, {"type": "pid", "pid": child})
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001
        process.fail(sync, exc)


def spawn_exec(init_pid: int, proc: ProcessSpec, privileged: bool, hostname: str,
               stdio: tuple[int, int, int], sync: socket.socket) -> int:
    """Fork the setup process for an exec into the container whose init is ``init_pid``.

    Same handshake as :func:`spawn_init`, except that the exec'd process
    does not wait for ``start``.
    """
    pid = os.fork()
    if pid:
        return pid
    try:
        _stdio(stdio)
        syscalls.prctl(syscalls.PR_SET_PDEATHSIG, 9)
        syscalls.set_name("wharf-exec")
        if sync.recv(16) != b"joined":
            os._exit(1)
        seccomp_filter = _seccomp_for(proc, privileged)
        with open(f"/proc/{init_pid}/oom_score_adj") as src, \
                open("/proc/self/oom_score_adj", "w") as dst:
            dst.write(src.read().strip())
        fds = []
        for name in NS_ORDER:
            path = f"/proc/{init_pid}/ns/{name}"
            if os.stat(path).st_ino != os.stat(f"/proc/self/ns/{name}").st_ino:
                fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
        syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)
        for fd in fds:
            syscalls.setns(fd, 0)
            os.close(fd)
        child = os.fork()
        if child == 0:
            syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)
            process.finish(sync, proc, hostname, seccomp_filter, wait_start=False)
        process.send(sync, {"type": "pid", "pid": child})
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001
        process.fail(sync, exc)
