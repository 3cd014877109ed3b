"""Resolve a container user (``name``, ``uid``, ``uid:gid``, ``name:group``) in its own rootfs.

Only the container's ``/etc/passwd`` and ``/etc/group`` count, never the
host's. They are opened with ``openat2(RESOLVE_IN_ROOT)`` relative to the
rootfs, so a symlinked ``/etc/passwd`` cannot point at a host file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from engine.errors import InvalidSpec
from engine.runtime import syscalls


@dataclass
class ExecUser:
    """A resolved user: ids, supplementary groups and home directory."""

    uid: int
    gid: int
    groups: list[int] = field(default_factory=list)
    home: str = "/"
    name: str = ""


def _read_db(root_fd: int, path: str) -> list[list[str]]:
    try:
        fd = syscalls.openat2(root_fd, path, os.O_RDONLY)
    except OSError:
        return []
    with os.fdopen(fd, "r", errors="replace") as f:
        rows = []
        for line in f.read(4 * 1024 * 1024).splitlines():
            if line and not line.startswith("#"):
                rows.append(line.split(":"))
        return rows


def _find_group(groups: list[list[str]], ref: str) -> int | None:
    for row in groups:
        if len(row) >= 3 and row[0] == ref:
            return int(row[2])
    if ref.isdigit():
        return int(ref)
    return None


def resolve_user(spec: str, root_fd: int, additional: list[str] | None = None) -> ExecUser:
    """Resolve ``spec`` against the passwd/group files under ``root_fd``.

    Args:
        spec: ``""`` (root), ``name``, ``uid``, ``name:group``, ``uid:gid``.
        root_fd: an open directory descriptor of the container's root.
        additional: Docker's ``--group-add`` names or gids.

    Raises:
        InvalidSpec: an unknown user or group name (unknown numeric ids are allowed).
    """
    user_ref, _, group_ref = (spec or "0").partition(":")
    user_ref = user_ref or "0"
    passwd = _read_db(root_fd, "/etc/passwd")
    groups = _read_db(root_fd, "/etc/group")
    entry = None
    for row in passwd:
        if len(row) >= 4 and (row[0] == user_ref or (user_ref.isdigit() and row[2] == user_ref)):
            entry = row
            break
    if entry is not None:
        result = ExecUser(int(entry[2]), int(entry[3]),
                          home=entry[5] if len(entry) > 5 and entry[5] else "/", name=entry[0])
    elif user_ref.isdigit():
        result = ExecUser(int(user_ref), 0)
    else:
        raise InvalidSpec(f"unable to find user {user_ref}: no matching entries in passwd file")
    if group_ref:
        gid = _find_group(groups, group_ref)
        if gid is None:
            raise InvalidSpec(f"unable to find group {group_ref}: "
                              "no matching entries in group file")
        result.gid = gid
        sgids: list[int] = []
    else:
        sgids = [int(row[2]) for row in groups
                 if len(row) >= 4 and result.name and result.name in row[3].split(",")]
    extra = []
    for ref in additional or []:
        gid = _find_group(groups, ref)
        if gid is None:
            raise InvalidSpec(f"unable to find group {ref}: no matching entries in group file")
        extra.append(gid)
    seen: list[int] = []
    for gid in [result.gid, *sgids, *extra]:
        if gid not in seen:
            seen.append(gid)
    result.groups = seen
    return result
