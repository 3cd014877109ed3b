"""A container's ``/etc/hosts`` and ``/etc/resolv.conf``, rendered as Docker renders them.

Names between containers on user-defined networks are resolved through
each container's hosts file (``<root>/containers/<id>/hosts``, which the
runtime bind-mounts on ``/etc/hosts``). The driver rewrites it whenever a
peer joins or leaves. A bind mount pins the file's inode, so the rewrite is
made **in place** (write from offset 0, then truncate), never by renaming a
new file over it; a reader sees the old or the new lines, never an empty file.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from engine.errors import NetworkError

DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::\tip6-localnet\n"
    "ff00::\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)
"""The lines every container's hosts file starts with (Docker's etchosts defaults)."""

FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")
"""Docker's nameservers when the host has none a container can reach."""

SYSTEMD_RESOLVED = Path("/run/systemd/resolve/resolv.conf")


def render_hosts(hostname: str, ips: Sequence[str] = (),
                 peers: Iterable[tuple[str, Sequence[str]]] = ()) -> str:
    """A hosts file: Docker's default lines, the container's own addresses, then its peers.

    Args:
        hostname: the container's hostname (mapped to each of ``ips``).
        ips: the container's own addresses, primary first.
        peers: ``(ip, names)`` of other containers it should resolve
            (name, aliases, short ID on shared user-defined networks).
    """
    lines = [DEFAULT_HOSTS]
    for ip in ips:
        lines.append(f"{ip}\t{hostname}\n")
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for ip, names in peers:
        key = (ip, tuple(dict.fromkeys(n for n in names if n)))
        if key[1] and key not in seen:
            seen.add(key)
            lines.append(f"{ip}\t{' '.join(key[1])}\n")
    return "".join(lines)


def render_resolv_conf(path: Path = Path("/etc/resolv.conf")) -> str:
    """The container's resolv.conf: the host's, minus loopback nameservers.

    A host that only names systemd-resolved's stub (``127.0.0.53``) is read
    through ``/run/systemd/resolve/resolv.conf`` instead. With no nameserver
    left, Docker's fallbacks 8.8.8.8 and 8.8.4.4 are used. ``search`` and
    ``options`` lines are kept.
    """
    try:
        text = path.read_text()
    except OSError:
        text = ""
    servers = _nameservers(text)
    if servers and all(s == "127.0.0.53" for s in servers) and SYSTEMD_RESOLVED.is_file():
        text = SYSTEMD_RESOLVED.read_text()
    kept: list[str] = []
    count = 0
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "nameserver":
            if len(fields) < 2 or _is_loopback(fields[1]):
                continue
            count += 1
        kept.append(line)
    if count == 0:
        kept += [f"nameserver {server}" for server in FALLBACK_NAMESERVERS]
    return "\n".join(kept) + "\n"


def _nameservers(text: str) -> list[str]:
    return [f[1] for f in (line.split() for line in text.splitlines())
            if len(f) >= 2 and f[0] == "nameserver"]


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def rewrite_in_place(path: Path, text: str) -> None:
    """Replace the contents of ``path`` keeping its inode (bind mounts stay valid).

    Raises:
        NetworkError: the file cannot be written.
    """
    data = text.encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)
    except OSError as error:
        raise NetworkError(f"cannot rewrite {path}: {error}") from error
