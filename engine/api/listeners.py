"""Listening sockets for the daemon: a unix socket (mode 0660, owner root) and optional TCP.

The unix socket is bound inside a fresh private directory (mode 0700), its
mode set, and only then renamed into place: at no moment can anyone but
its owner reach it, and no process-wide umask is touched (the console
embeds the engine in a multithreaded process).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import tempfile

from engine.errors import EngineLocked, InvalidArgument

SOCKET_MODE = 0o660
"""The unix socket's mode: owner and group may connect, nobody else."""


def socket_in_use(path: str) -> bool:
    """Whether something accepts connections on the unix socket at ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1)
    try:
        probe.connect(path)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def bind_unix(path: str, mode: int = SOCKET_MODE, backlog: int = 512) -> socket.socket:
    """A listening unix socket at ``path``, never reachable with a wider mode than ``mode``.

    A stale socket file (nobody listening) is replaced.

    Raises:
        EngineLocked: another server listens on ``path``.
        InvalidArgument: ``path`` exists and is not a socket.
    """
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    if os.path.lexists(path):
        import stat  # noqa: PLC0415

        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise InvalidArgument(f"{path} exists and is not a socket")
        if socket_in_use(path):
            raise EngineLocked(f"another server is already listening on {path}")
    private = tempfile.mkdtemp(prefix=".wharf-sock-", dir=parent)  # mode 0700
    staging = os.path.join(private, "s")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(staging)
        os.chmod(staging, mode)
        if os.geteuid() == 0:
            os.chown(staging, 0, 0)
        sock.listen(backlog)
        os.replace(staging, path)
    except BaseException:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(private)
    sock.setblocking(False)
    return sock


def bind_tcp(host: str, port: int, tls: bool = False, backlog: int = 512) -> socket.socket:
    """A listening TCP socket; plain HTTP is refused on anything but loopback.

    Raises:
        InvalidArgument: a non-loopback address without TLS.
    """
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not tls:
        raise InvalidArgument(
            f"refusing to serve the API without TLS on {host}: anyone who can reach it "
            "could run containers as root; use a loopback address or give a certificate")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def remove_socket(path: str, inode: int) -> None:
    """Remove the socket file at ``path`` if it is still the one this server created.

    Args:
        path: where the socket was put.
        inode: ``os.stat(path).st_ino`` right after :func:`bind_unix` (another
            server may have replaced the file since; then it is left alone).
    """
    with contextlib.suppress(OSError):
        if os.lstat(path).st_ino == inode:
            os.unlink(path)
