"""Every tar entry type round-trips exactly: compared with the source tree and with GNU tar."""

from __future__ import annotations

import io
import os
import stat
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest
from images.layer_tars import Member, make_tar, sha256, snapshot

from engine.errors import LayerError
from engine.images.unpack import OPAQUE_XATTR, apply_layer

CAP_NET_RAW = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)
"""``security.capability`` v2 granting cap_net_raw (permitted + effective)."""


def build_tree(src: Path) -> None:
    """A tree with every kind of entry and attribute a layer must keep."""
    (src / "usr/bin").mkdir(parents=True)
    (src / "tmp").mkdir()
    os.chmod(src / "tmp", 0o1777)
    (src / "srv/data").mkdir(parents=True)
    os.chown(src / "srv/data", 1234, 5678)
    os.chmod(src / "srv/data", 0o2750)
    ping = src / "usr/bin/ping"
    ping.write_bytes(b"\x7fELF fake ping" * 100)
    os.setxattr(ping, "security.capability", CAP_NET_RAW)
    os.chmod(ping, 0o755)
    su = src / "usr/bin/su"
    su.write_bytes(b"su binary")
    os.chown(su, 0, 42)
    os.chmod(su, 0o4755)
    sg = src / "usr/bin/sg"
    sg.write_bytes(b"sg")
    os.chmod(sg, 0o2711)
    (src / "etc").mkdir()
    (src / "etc/config").write_bytes(b"key=value\n")
    os.setxattr(src / "etc/config", "user.origin", b"test\x00\xffbinary")
    os.chown(src / "etc/config", 1000, 1000)
    os.link(src / "etc/config", src / "etc/config.hardlink")
    os.symlink("/usr/lib", src / "lib")
    os.symlink("../etc/config", src / "usr/config-link")
    os.lchown(src / "usr/config-link", 7, 8)
    (src / "dev").mkdir()
    os.mknod(src / "dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.mknod(src / "dev/loop9", stat.S_IFBLK | 0o660, os.makedev(7, 9))
    os.chown(src / "dev/loop9", 0, 6)
    os.mkfifo(src / "srv/fifo", 0o620)
    (src / "big.bin").write_bytes(os.urandom(3 << 20))
    (src / "empty").write_bytes(b"")
    for index, path in enumerate(sorted(src.rglob("*"), reverse=True)):
        ns = 1_500_000_000_123_456_789 + index * 1_000_000_007
        os.utime(path, ns=(ns, ns), follow_symlinks=False)


def gnu_tar(src: Path, out: Path) -> bytes:
    """``tar --format=posix --xattrs`` of ``src`` (the real tool, sub-second mtimes)."""
    archive = out / "layer.tar"
    subprocess.run(["tar", "--format=posix", "--xattrs", "--xattrs-include=*",
                    "--numeric-owner", "-C", str(src), "-cf", str(archive), "."], check=True)
    return archive.read_bytes()


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, bytes]:
    src = tmp_path / "src"
    src.mkdir()
    build_tree(src)
    return src, gnu_tar(src, tmp_path)


def test_all_entry_types_match_the_source_tree(tree, tmp_path: Path) -> None:
    """Modes (setuid/setgid/sticky), owners, devices, links, xattrs and ns mtimes survive."""
    src, data = tree
    dest = tmp_path / "dest"
    dest.mkdir()
    result = apply_layer(io.BytesIO(data), dest, expected_diff_id=sha256(data))
    assert result.diff_id == sha256(data)
    ours, theirs = snapshot(dest), snapshot(src)
    assert ours.keys() == theirs.keys()
    for path in theirs:
        assert ours[path] == theirs[path], path
    assert os.getxattr(dest / "usr/bin/ping", "security.capability") == CAP_NET_RAW
    assert stat.S_IMODE(os.stat(dest / "usr/bin/su").st_mode) == 0o4755
    a, b = os.stat(dest / "etc/config"), os.stat(dest / "etc/config.hardlink")
    assert (a.st_ino, a.st_nlink) == (b.st_ino, 2)
    assert os.readlink(dest / "lib") == "/usr/lib"


def test_matches_gnu_tar_extraction(tree, tmp_path: Path) -> None:
    """Our unpack and ``tar -xp --xattrs`` of the same archive give identical trees."""
    _src, data = tree
    ours, gnu = tmp_path / "ours", tmp_path / "gnu"
    ours.mkdir()
    gnu.mkdir()
    apply_layer(io.BytesIO(data), ours)
    subprocess.run(["tar", "--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf",
                    str(tmp_path / "layer.tar"), "-C", str(gnu)], check=True)
    assert snapshot(ours) == snapshot(gnu)


def test_pax_xattrs_and_times_from_python_tarfile(tmp_path: Path) -> None:
    """PAX records written by another tool: xattrs (raw bytes), fractional mtimes, owners."""
    members = [
        Member("d/", tarfile.DIRTYPE, mode=0o750, uid=3, gid=4, mtime=1_234_567_890.5),
        Member("d/f", data=b"hello", mode=0o640, uid=1001, gid=1002,
               pax={"SCHILY.xattr.user.k": "v", "mtime": "1700000000.987654321"}),
        Member("d/ov", data=b"", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc"}),
    ]
    data = make_tar(members)
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(data), dest)
    st = os.stat(dest / "d/f")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1001, 1002, 0o640)
    assert st.st_mtime_ns == 1_700_000_000_987_654_321
    assert os.getxattr(dest / "d/f", "user.k") == b"v"
    assert os.stat(dest / "d").st_mtime_ns == 1_234_567_890_500_000_000  # set last
    assert "trusted.overlay.redirect" not in os.listxattr(dest / "d/ov")


def test_whiteouts_become_overlay_markers(tmp_path: Path) -> None:
    """``.wh.X`` becomes a char device 0/0 ``X``; ``.wh..wh..opq`` marks its folder opaque."""
    data = make_tar([Member("etc/", tarfile.DIRTYPE, mode=0o755),
                     Member("etc/.wh.passwd"), Member("var/", tarfile.DIRTYPE, mode=0o755),
                     Member("var/.wh..wh..opq"), Member("var/new", data=b"n"),
                     Member(".wh..wh.plnk")])
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(data), dest)
    st = os.lstat(dest / "etc/passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(dest / "var", OPAQUE_XATTR) == b"y"
    assert sorted(os.listdir(dest)) == ["etc", "var"]
    assert not any(name.startswith(".wh.") for _f, d, fs in os.walk(dest) for name in d + fs)


def test_later_entry_replaces_earlier(tmp_path: Path) -> None:
    """A file over a folder, a folder over a file and a file over a file all take the last one."""
    data = make_tar([Member("a/", tarfile.DIRTYPE), Member("a/x", data=b"1"),
                     Member("a", data=b"file now"), Member("b", data=b"file"),
                     Member("b/", tarfile.DIRTYPE, mode=0o700), Member("c", data=b"old"),
                     Member("c", data=b"new", mode=0o600)])
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(data), dest)
    assert (dest / "a").read_bytes() == b"file now"
    assert (dest / "b").is_dir() and stat.S_IMODE(os.stat(dest / "b").st_mode) == 0o700
    assert (dest / "c").read_bytes() == b"new"


def test_truncated_tar_is_a_layer_error(tmp_path: Path) -> None:
    """An archive cut inside a file's data is refused, not half-applied silently."""
    data = make_tar([Member("f", data=os.urandom(10000))])[:5000]
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError, match="truncated"):
        apply_layer(io.BytesIO(data), dest)


def test_header_encodings_from_other_writers(tmp_path: Path) -> None:
    """ustar prefix (long names), GNU base-256 numbers, GNU long names and links."""
    long_dir = "/".join(["segment%02d" % i for i in range(12)])  # ~130 characters
    ustar = make_tar([Member(f"{long_dir}/file", data=b"ustar")], fmt=tarfile.USTAR_FORMAT)
    gnu = make_tar([Member("big-ids", data=b"gnu", uid=5_000_000, gid=4_000_000),
                    Member("x" * 150, data=b"long"),
                    Member("link", tarfile.SYMTYPE, linkname="t" * 200)],
                   fmt=tarfile.GNU_FORMAT)
    for label, data in (("ustar", ustar), ("gnu", gnu)):
        dest = tmp_path / label
        dest.mkdir()
        apply_layer(io.BytesIO(data), dest, expected_diff_id=sha256(data))
    assert (tmp_path / "ustar" / long_dir / "file").read_bytes() == b"ustar"
    st = os.stat(tmp_path / "gnu/big-ids")
    assert (st.st_uid, st.st_gid) == (5_000_000, 4_000_000)
    assert (tmp_path / "gnu" / ("x" * 150)).read_bytes() == b"long"
    assert os.readlink(tmp_path / "gnu/link") == "t" * 200


def test_corrupt_header_checksum_is_refused(tmp_path: Path) -> None:
    data = bytearray(make_tar([Member("f", data=b"x")]))
    data[0] ^= 0x01  # the name changes, the checksum no longer matches
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError, match="checksum"):
        apply_layer(io.BytesIO(bytes(data)), dest)
