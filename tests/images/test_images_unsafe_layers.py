"""Hostile layer tars are refused with UnsafeLayer, write nothing outside, leave nothing behind."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from images.layer_tars import Member, make_tar, sha256, tree_listing

from engine.errors import UnsafeLayer
from engine.images.unpack import apply_layer

D, F, S, H = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


def hostile_cases(outside: Path) -> dict[str, list[Member]]:
    """Name → members of tars that try to write outside their layer."""
    out = str(outside)
    return {
        "dotdot": [Member("../escaped", data=b"x")],
        "dotdot-deep": [Member("a/", D, mode=0o755), Member("a/../../escaped", data=b"x")],
        "absolute": [Member(f"{out}/escaped", data=b"x")],
        "absolute-root": [Member("/etc-escaped", data=b"x")],
        "symlink-abs-then-file": [Member("link", S, linkname=out),
                                  Member("link/escaped", data=b"x")],
        "symlink-rel-then-file": [Member("link", S, linkname="../../../../../../../" + out),
                                  Member("link/escaped", data=b"x")],
        "symlink-dir-nested": [Member("d/", D, mode=0o755), Member("d/s", S, linkname=out),
                               Member("d/s/sub/escaped", data=b"x")],
        "symlink-chain": [Member("a", S, linkname="b"), Member("b", S, linkname=out),
                          Member("a/escaped", data=b"x")],
        "symlink-then-dir": [Member("link", S, linkname=out),
                             Member("link/newdir/", D, mode=0o755)],
        "symlink-then-symlink": [Member("link", S, linkname=out),
                                 Member("link/evil", S, linkname="/etc/passwd")],
        "symlink-then-hardlink": [Member("f", data=b"x"), Member("link", S, linkname=out),
                                  Member("link/escaped", H, linkname="f")],
        "hardlink-outside": [Member("hl", H, linkname=f"{out}/target")],
        "hardlink-dotdot": [Member("hl", H, linkname="../outside/target")],
        "hardlink-host-file": [Member("hl", H, linkname="/etc/passwd")],
        "hardlink-later-entry": [Member("hl", H, linkname="later"), Member("later", data=b"x")],
        "hardlink-through-symlink": [Member("link", S, linkname=out),
                                     Member("hl", H, linkname="link/target")],
        "whiteout-dot": [Member("a/.wh..", data=b"")],
        "whiteout-dotdot": [Member("a/.wh...", data=b"")],
        "whiteout-empty": [Member(".wh.", data=b"")],
        "whiteout-through-symlink": [Member("link", S, linkname=out),
                                     Member("link/.wh.target", data=b"")],
        "opaque-through-symlink": [Member("link", S, linkname=out),
                                   Member("link/.wh..wh..opq", data=b"")],
        "pax-path-dotdot": [Member("harmless", data=b"x", pax={"path": "../escaped"})],
        "device-through-symlink": [Member("link", S, linkname=out),
                                   Member("link/null", tarfile.CHRTYPE, devmajor=1,
                                          devminor=3)],
    }


CASES = sorted(hostile_cases(Path("/x")))


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the layer store, with one file, that no layer may touch."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "target").write_bytes(b"original")
    return folder


@pytest.mark.parametrize("case", CASES)
def test_hostile_tar_is_refused_and_writes_nothing_outside(case: str, stores, outside: Path,
                                                           tmp_path: Path) -> None:
    """Each hostile tar raises UnsafeLayer naming the entry; outside and the store stay clean."""
    members = hostile_cases(outside)[case]
    data = make_tar(members, fmt=tarfile.GNU_FORMAT if case.startswith("gnu") else
                    tarfile.PAX_FORMAT)
    before_outside = tree_listing(outside)
    before_root = tree_listing(tmp_path)
    with pytest.raises(UnsafeLayer) as caught:
        stores.layers.apply(None, sha256(data), io.BytesIO(data))
    assert "layer entry" in str(caught.value)
    assert tree_listing(outside) == before_outside
    assert (outside / "target").read_bytes() == b"original"
    assert os.stat(outside / "target").st_nlink == 1
    assert tree_listing(tmp_path) == before_root, "something was left behind in the store"
    assert stores.layers.list() == []
    assert not Path("/etc-escaped").exists()


def test_gnu_longname_with_dotdot_is_refused(stores, outside: Path) -> None:
    """A GNU long-name (``L``) record carrying ``..`` is checked like any name."""
    data = make_tar([Member("a/" * 60 + "../" * 70 + "escaped", data=b"x")],
                    fmt=tarfile.GNU_FORMAT)
    with pytest.raises(UnsafeLayer):
        stores.layers.apply(None, sha256(data), io.BytesIO(data))
    assert stores.layers.list() == []


def test_unsafe_error_names_the_entry(tmp_path: Path, outside: Path) -> None:
    """The message names the offending member so the user knows which layer entry it was."""
    data = make_tar([Member("link", S, linkname=str(outside)),
                     Member("link/escaped", data=b"x")])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafeLayer, match="link/escaped"):
        apply_layer(io.BytesIO(data), dest)
    assert not (outside / "escaped").exists()


def test_symlink_to_absolute_path_is_kept_verbatim(tmp_path: Path) -> None:
    """Absolute symlinks are legitimate (``/usr/lib``); only writing through them is refused."""
    data = make_tar([Member("lib", S, linkname="/usr/lib"), Member("rel", S, linkname="../x")])
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(data), dest)
    assert os.readlink(dest / "lib") == "/usr/lib"
    assert os.readlink(dest / "rel") == "../x"


def test_symlink_replaced_by_directory_is_safe(tmp_path: Path, outside: Path) -> None:
    """A later folder entry over a symlink replaces the link; files go into the new folder."""
    data = make_tar([Member("d", S, linkname=str(outside)), Member("d/", D, mode=0o755),
                     Member("d/f", data=b"inside")])
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_layer(io.BytesIO(data), dest)
    assert (dest / "d").is_dir() and not (dest / "d").is_symlink()
    assert (dest / "d" / "f").read_bytes() == b"inside"
    assert tree_listing(outside) == {"target"}
