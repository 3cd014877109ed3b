"""The last steps of every container process (init or exec), up to ``execve``.

Order as runc's ``finalizeNamespace`` and ``standard_init``: user and groups
from the container's own files, pty from the container's devpts, env, rlimits,
cwd, ``PR_SET_NO_NEW_PRIVS``, seccomp (before the capability drop when NNP is
off), bounding drop + uid switch + capset, command lookup in the container's
``PATH``, wait for "start", signal reset, close every fd ≥ 3, execve.
Everything this module needs is imported before the pivot: after it, the
host's Python files are out of reach.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import resource
import signal
import socket
import stat
import struct
import sys
from typing import Any, NoReturn

from engine.errors import CommandNotFound, InvalidSpec, RuntimeFailure, WharfError
from engine.runtime import caps, syscalls
from engine.runtime.rootfs import is_devpts
from engine.runtime.safepath import fd_path
from engine.runtime.spec import DEFAULT_PATH, RLIMIT_NAMES, ProcessSpec
from engine.runtime.users import ExecUser, resolve_user

TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441
TIOCSWINSZ = 0x5414


def send(sync: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """One JSON line to the shim, optionally with descriptors (SCM_RIGHTS)."""
    data = (json.dumps(message) + "\n").encode()
    if fds:
        socket.send_fds(sync, [data], fds)
    else:
        sync.sendall(data)


def set_winsize(fd: int, rows: int, cols: int) -> None:
    """``TIOCSWINSZ`` on a pty master or peer."""
    fcntl.ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def lookup(command: str, path_env: str) -> str:
    """Find ``command`` the way ``exec`` would, in the container's ``PATH``.

    Raises:
        CommandNotFound: with Docker's message
            ``exec: "<cmd>": executable file not found in $PATH``.
    """
    if "/" in command:
        if os.path.isfile(command):
            return command
        raise CommandNotFound(f'exec: "{command}": stat {command}: no such file or directory')
    for directory in path_env.split(":"):
        candidate = os.path.join(directory or ".", command)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return candidate
    raise CommandNotFound(f'exec: "{command}": executable file not found in $PATH')


def build_env(proc: ProcessSpec, user: ExecUser, hostname: str) -> dict[str, str]:
    """The process environment: defaults first, then the spec's (last key wins)."""
    env: dict[str, str] = {"PATH": DEFAULT_PATH}
    if hostname:
        env["HOSTNAME"] = hostname
    if proc.tty:
        env["TERM"] = "xterm"
    for item in proc.env:
        if "\0" in item:
            raise InvalidSpec("environment variables cannot contain NUL bytes")
        key, _, value = item.partition("=")
        if key:
            env[key] = value
    env.setdefault("HOME", user.home or "/")
    return env


def allocate_pty(sync: socket.socket, proc: ProcessSpec, user: ExecUser,
                 console: bool) -> int:
    """Open a pty in the container's own devpts and hand the master to the shim.

    Returns:
        The peer descriptor (to become stdin/stdout/stderr).
    """
    master = os.open("/dev/pts/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if not is_devpts(master):
        raise RuntimeFailure("/dev/pts/ptmx in the container is not a devpts ptmx")
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    peer = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    if proc.console_size:
        set_winsize(master, *proc.console_size)
    send(sync, {"type": "pty"}, [master])
    os.close(master)
    if user.uid:
        os.fchown(peer, user.uid, user.gid)
    if console:
        target = os.open("/dev/console", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            syscalls.mount(fd_path(peer), fd_path(target), None, syscalls.MS_BIND)
        finally:
            os.close(target)
    return peer


def _reopen_dev_null() -> None:
    """stdio that is the *host's* /dev/null becomes the container's own (runc reOpenDevNull)."""
    try:
        ours = os.stat("/dev/null")
    except OSError:
        return
    for fd in (0, 1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3) \
                and (st.st_dev, st.st_ino) != (ours.st_dev, ours.st_ino):
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, fd)
            os.close(null)


def _fix_stdio(user: ExecUser) -> None:
    if not user.uid:
        return
    for fd in (0, 1, 2):
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3):
            continue
        try:
            os.fchown(fd, user.uid, user.gid)
        except OSError:
            pass


def _rlimits(proc: ProcessSpec) -> None:
    for limit in proc.rlimits:
        key = RLIMIT_NAMES[limit.name.lower().removeprefix("rlimit_")]
        try:
            resource.setrlimit(key, (limit.soft, limit.hard))
        except (ValueError, OSError) as exc:
            raise InvalidSpec(f"cannot set rlimit {limit.name}={limit.soft}:{limit.hard}: "
                              f"{exc}") from exc


def _switch_user(user: ExecUser, keep: int) -> None:
    caps.drop_bounding(keep)
    syscalls.prctl(syscalls.PR_SET_KEEPCAPS, 1)
    os.setgroups(user.groups)
    os.setgid(user.gid)
    os.setuid(user.uid)
    syscalls.prctl(syscalls.PR_SET_KEEPCAPS, 0)
    caps.apply(keep)


def reset_signals() -> None:
    """Default dispositions (Python ignores SIGPIPE, SIGXFSZ) and an empty mask.

    Only signals whose disposition is not already the default are set (one
    ``sigaction`` each instead of one per signal: this runs between ``start``
    and ``execve``). Python knows every disposition: it reads them all at
    start-up (inherited ``SIG_IGN`` included) and tracks its own changes;
    a handler it did not install reads as ``None`` and is reset too.
    """
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if signal.getsignal(sig) is signal.SIG_DFL:
                continue
        except (OSError, ValueError):
            pass
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def exit_code_for(error: BaseException) -> int:
    """moby's codes for a process that could not start: 127, 126, else 128."""
    if isinstance(error, CommandNotFound):
        return 127
    if isinstance(error, PermissionError) or "permission denied" in str(error).lower():
        return 126
    return 128


def fail(sync: socket.socket | None, error: BaseException) -> NoReturn:
    """Report ``error`` to the shim and on stderr, then exit with its code."""
    code = exit_code_for(error)
    message = error.message if isinstance(error, WharfError) else f"{type(error).__name__}: {error}"
    try:
        os.write(2, (message + "\n").encode())
    except OSError:
        pass
    if sync is not None:
        try:
            send(sync, {"type": "error", "kind": type(error).__name__, "message": message,
                        "exit_code": code})
        except OSError:
            pass
    os._exit(code)


def finish(sync: socket.socket, proc: ProcessSpec, hostname: str, seccomp_filter: Any,
           wait_start: bool, console: bool = False) -> NoReturn:
    """From user resolution to ``execve``; never returns (exits on any failure)."""
    try:
        root = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            user = resolve_user(proc.user, root, proc.additional_groups)
        finally:
            os.close(root)
        if proc.tty:
            peer = allocate_pty(sync, proc, user, console)
            os.login_tty(peer)
        else:
            os.setsid()
            _reopen_dev_null()
            _fix_stdio(user)
        os.umask(0o022)
        env = build_env(proc, user, hostname)
        _rlimits(proc)
        cwd = proc.cwd or "/"
        try:
            os.makedirs(cwd, 0o755, exist_ok=True)
        except OSError:
            pass
        chdir_later = False
        try:
            os.chdir(cwd)
        except PermissionError:
            chdir_later = True
        except OSError as exc:
            raise InvalidSpec(f"cannot change to working directory {cwd}: {exc.strerror}") from exc
        keep = caps.mask(proc.capabilities)
        if proc.no_new_privileges:
            syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)
        if seccomp_filter is not None and not proc.no_new_privileges:
            seccomp_filter.load()
        _switch_user(user, keep)
        if chdir_later:
            os.chdir(cwd)
        os.getcwd()  # an unreachable cwd (CVE-2024-21626) raises here
        path = lookup(proc.args[0], env.get("PATH", DEFAULT_PATH))
        if seccomp_filter is not None and proc.no_new_privileges:
            seccomp_filter.load()
    except BaseException as exc:  # noqa: BLE001 — everything ends the process
        fail(sync, exc)
    try:
        send(sync, {"type": "ready"})
        if wait_start:
            word = sync.recv(16)
            if not word.startswith(b"start"):
                os._exit(128)
    except OSError:
        os._exit(128)
    reset_signals()
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0] or 65536)
    try:
        os.execve(path, proc.args, env)
    except OSError as exc:
        code = 126 if exc.errno in (errno.EACCES, errno.EPERM, errno.ENOEXEC) else 127
        os.write(2, f'exec: "{proc.args[0]}": {exc.strerror}\n'.encode())
        sys.stderr.flush()
        os._exit(code)
