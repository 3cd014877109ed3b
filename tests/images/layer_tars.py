"""Helpers for the image tests: build layer tars in memory with Python's tarfile."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Member:
    """One member to put in a test tar.

    Attributes:
        name: the member's name, written verbatim.
        type: a tarfile type constant (``tarfile.REGTYPE``, ``tarfile.SYMTYPE``, …).
        data: file content for regular files.
        linkname: symlink target or hardlink source.
        mode: permission bits.
        uid: owner.
        gid: group.
        mtime: modification time (float seconds; PAX keeps the fraction).
        pax: extra PAX records (e.g. ``SCHILY.xattr.user.x``).
        devmajor: device major.
        devminor: device minor.
    """

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: float = 1_600_000_000
    pax: dict[str, str] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0


def make_tar(members: list[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar archive of ``members``, in order, with no checks on their names."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.mode = m.mode
            info.uid, info.gid = m.uid, m.gid
            info.mtime = m.mtime
            info.linkname = m.linkname
            info.devmajor, info.devminor = m.devmajor, m.devminor
            info.pax_headers = dict(m.pax)
            if m.type == tarfile.REGTYPE:
                info.size = len(m.data)
                tar.addfile(info, io.BytesIO(m.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path below ``root`` with what a layer must preserve about it.

    Records type, permission bits, owner, device numbers, size, content hash,
    symlink target, mtime (ns, except for folders whose times the unpacker
    sets last) and all xattrs.
    """
    found: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            content = b""
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = hashlib.sha256(f.read()).digest()
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else ""
            xattrs = {}
            try:
                for key in os.listxattr(path, follow_symlinks=False):
                    xattrs[key] = os.getxattr(path, key, follow_symlinks=False)
            except OSError:
                pass
            found[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
                          st.st_gid, st.st_rdev, st.st_size if not stat.S_ISDIR(st.st_mode)
                          else 0, content, target, st.st_mtime_ns, tuple(sorted(xattrs.items())))
    return found


def tree_listing(root: Path) -> set[str]:
    """Relative paths of everything below ``root``."""
    return {os.path.relpath(os.path.join(folder, name), root)
            for folder, dirs, files in os.walk(root) for name in dirs + files}
