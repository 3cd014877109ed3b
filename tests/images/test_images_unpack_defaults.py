"""The unpacker skips chown/chmod only where the kernel's defaults already give the tar's values.

Each case is one where skipping them blindly would be wrong: a setgid folder
(new files get its group), a folder made setgid halfway through the layer, a
strict umask, and a default ACL (which, not the umask, decides new modes).
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
from pathlib import Path

from images.layer_tars import Member, make_tar

from engine.images.unpack import apply_layer

_ACL_VERSION = 2
_USER_OBJ, _GROUP_OBJ, _OTHER = 0x01, 0x04, 0x20
_UNDEFINED_ID = 0xFFFFFFFF


def _owner_mode(path: Path) -> tuple[int, int, int]:
    st = os.lstat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def test_files_in_a_setgid_folder_keep_the_tar_group(tmp_path: Path) -> None:
    """The kernel gives children of a setgid folder its group; the tar's group wins."""
    data = make_tar([
        Member("shared/", tarfile.DIRTYPE, mode=0o2775, uid=0, gid=5678),
        Member("shared/root-file", data=b"r", mode=0o644),
        Member("shared/group-file", data=b"g", mode=0o640, gid=5678),
        Member("shared/link", tarfile.SYMTYPE, linkname="root-file"),
        Member("shared/sub/", tarfile.DIRTYPE, mode=0o755),
        Member("shared/sub/deep", data=b"d", mode=0o600),
    ])
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(data), dest)
    assert _owner_mode(dest / "shared") == (0, 5678, 0o2775)
    assert _owner_mode(dest / "shared/root-file") == (0, 0, 0o644)
    assert _owner_mode(dest / "shared/group-file") == (0, 5678, 0o640)
    assert os.lstat(dest / "shared/link").st_gid == 0
    assert _owner_mode(dest / "shared/sub") == (0, 0, 0o755)  # no setgid inherited
    assert _owner_mode(dest / "shared/sub/deep") == (0, 0, 0o600)


def test_folder_made_setgid_after_its_first_files(tmp_path: Path) -> None:
    """A folder entry that comes after some of its files changes what later files get."""
    data = make_tar([
        Member("late/early", data=b"1"),  # creates late/ implicitly, root:root 0755
        Member("late/", tarfile.DIRTYPE, mode=0o2755, gid=50),
        Member("late/after", data=b"2"),
    ])
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(data), dest)
    assert _owner_mode(dest / "late") == (0, 50, 0o2755)
    assert _owner_mode(dest / "late/early") == (0, 0, 0o644)
    assert _owner_mode(dest / "late/after") == (0, 0, 0o644)


def test_modes_are_exact_under_a_strict_umask(tmp_path: Path) -> None:
    """With umask 077 a file created 0644 would be 0600: the unpacker must chmod it."""
    data = make_tar([Member("a", data=b"a", mode=0o644), Member("b", data=b"b", mode=0o600),
                     Member("x", data=b"x", mode=0o4755, uid=1000)])
    dest = tmp_path / "dest"
    dest.mkdir()
    old = os.umask(0o077)
    try:
        apply_layer(io.BytesIO(data), dest)
    finally:
        os.umask(old)
    assert _owner_mode(dest / "a") == (0, 0, 0o644)
    assert _owner_mode(dest / "b") == (0, 0, 0o600)
    assert _owner_mode(dest / "x") == (1000, 0, 0o4755)


def test_modes_are_exact_below_a_default_acl(tmp_path: Path) -> None:
    """A default ACL of ``u::rwx,g::---,o::---`` would make a new 0644 file 0600."""
    dest = tmp_path / "dest"
    dest.mkdir()
    acl = struct.pack("<I", _ACL_VERSION) + b"".join(
        struct.pack("<HHI", tag, perm, _UNDEFINED_ID)
        for tag, perm in ((_USER_OBJ, 7), (_GROUP_OBJ, 0), (_OTHER, 0)))
    os.setxattr(dest, "system.posix_acl_default", acl)
    probe = dest / "probe"
    probe.touch(0o644)
    assert stat.S_IMODE(probe.stat().st_mode) == 0o600  # the trap is real on this filesystem
    probe.unlink()
    data = make_tar([Member("f", data=b"f", mode=0o644),
                     Member("d/g", data=b"g", mode=0o755)])  # d/ made implicitly, inherits the ACL
    apply_layer(io.BytesIO(data), dest)
    assert _owner_mode(dest / "f") == (0, 0, 0o644)
    assert _owner_mode(dest / "d/g") == (0, 0, 0o755)
