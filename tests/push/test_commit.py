"""Commit: an overlay upper dir (made by hand, or by a real overlay mount) becomes an OCI layer."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest
from harness.images import TestImages
from pull.engine_parts import Engine
from push.conftest import overlay

from engine.images.commit import EMPTY_TAR_DIFF_ID, commit_image, commit_layer
from engine.jobs import Job


def _upper(root: Path) -> Path:
    """An upper dir as overlay leaves it: whiteouts, an opaque folder, links, owners, xattrs."""
    upper = root / "upper"
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "new.conf").write_text("added\n")
    os.chown(upper / "etc" / "new.conf", 1000, 50)
    os.chmod(upper / "etc" / "new.conf", 0o4750)  # after chown, which clears setuid
    os.setxattr(upper / "etc" / "new.conf", "user.note", b"\xffbinary")
    os.link(upper / "etc" / "new.conf", upper / "etc" / "same-inode")
    (upper / "etc" / "link").symlink_to("new.conf")
    os.mknod(upper / "etc" / "deleted", stat.S_IFCHR | 0o600, 0)
    (upper / "opaque" / "inner").mkdir(parents=True)
    os.setxattr(upper / "opaque", "trusted.overlay.opaque", b"y")
    os.setxattr(upper / "opaque", "trusted.overlay.origin", b"whatever")
    (upper / "opaque" / "inner" / "only.txt").write_text("fresh\n")
    os.mkfifo(upper / "fifo")
    os.utime(upper / "etc" / "new.conf", (1_700_000_000, 1_700_000_000))
    return upper


def test_commit_layer_writes_oci_whiteouts_links_owners_and_xattrs(tmp_path: Path) -> None:
    """Char device 0/0 → .wh.<name>; opaque → the dir plus .wh..wh..opq; overlay's xattrs dropped."""
    upper = _upper(tmp_path)
    first = commit_layer(upper).read()
    assert commit_layer(upper).read() == first  # reproducible
    members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(first))}
    assert list(members) == sorted(members, key=lambda n: n.split("/"))  # parents first, name order
    assert members["etc/.wh.deleted"].isfile() and members["etc/.wh.deleted"].size == 0
    assert "etc/deleted" not in members
    assert members["opaque"].isdir() and members["opaque/.wh..wh..opq"].isfile()
    assert not any(k.startswith("SCHILY.xattr.trusted.overlay") for m in members.values()
                   for k in m.pax_headers)
    conf = members["etc/new.conf"]
    assert (conf.mode, conf.uid, conf.gid, conf.mtime) == (0o4750, 1000, 50, 1_700_000_000)
    assert conf.pax_headers["SCHILY.xattr.user.note"].encode("utf-8", "surrogateescape") == b"\xffbinary"
    assert members["etc/same-inode"].islnk() and members["etc/same-inode"].linkname == "etc/new.conf"
    assert members["etc/link"].issym() and members["etc/link"].linkname == "new.conf"
    assert members["fifo"].isfifo()


def test_committed_layer_unpacks_back_to_the_same_overlay_form(tmp_path: Path, make_state) -> None:
    """The layer store turns the tar back into whiteouts and the opaque xattr; written again, same bytes."""
    engine: Engine = make_state()
    tar = commit_layer(_upper(tmp_path)).read()
    layer = engine.layers.create(None, io.BytesIO(tar))
    deleted = os.lstat(layer.diff / "etc" / "deleted")
    assert stat.S_ISCHR(deleted.st_mode) and deleted.st_rdev == 0
    assert os.getxattr(layer.diff / "opaque", "trusted.overlay.opaque") == b"y"
    assert os.stat(layer.diff / "etc" / "new.conf").st_ino == os.stat(layer.diff / "etc" / "same-inode").st_ino
    assert commit_layer(layer.diff).read() == tar  # the diff_id survives an unpack


def test_commit_through_a_real_overlay_mount(tmp_path: Path, make_state, test_images: TestImages) -> None:
    """Pull, change files through a mounted overlay, unmount, commit: config, history and layer."""
    engine: Engine = make_state()
    with Job(engine.bus, "pull") as job:
        base = engine.puller.pull(test_images.busybox_oci.reference, job).image_id
    record = engine.images.get(base)
    lowers = [engine.layers.get(cid).diff for cid in reversed(record.chain_ids)]
    upper = tmp_path / "c" / "upper"
    with overlay(lowers, upper, tmp_path / "c" / "work", tmp_path / "c" / "merged") as merged:
        (merged / "hello.txt").write_text("committed\n")
        (merged / "bin" / "vi").unlink()
        with open(merged / "etc" / "passwd", "a") as passwd:
            passwd.write("extra:x:1234:1234::/:/bin/sh\n")
    with Job(engine.bus, "commit") as job:
        image_id = commit_image(engine.images, engine.content, engine.layers, base, upper,
                                reference="committed/one:v1", author="Ada <ada@example.org>",
                                comment="through overlay", created_by="/bin/sh -c edit",
                                changes={"Cmd": ["/bin/echo", "hi"], "Env": ["A=1"],
                                         "Labels": {"stage": "commit"}}, job=job)
    new = engine.images.get("committed/one:v1")
    assert new.id == image_id and new.diff_ids[:-1] == record.diff_ids
    config = engine.images.config(image_id)
    assert config["config"]["Cmd"] == ["/bin/echo", "hi"]
    assert "A=1" in config["config"]["Env"] and any(e.startswith("PATH=") for e in config["config"]["Env"])
    assert config["config"]["Labels"] == {"org.wharf.test": "busybox", "stage": "commit"}
    assert config["history"][-1]["comment"] == "through overlay"
    assert config["history"][-1]["author"] == "Ada <ada@example.org>"
    assert config["history"][-1]["created_by"] == "/bin/sh -c edit"
    top = engine.layers.get(new.chain_ids[-1]).diff
    assert (top / "hello.txt").read_text() == "committed\n"
    assert stat.S_ISCHR(os.lstat(top / "bin" / "vi").st_mode)  # the deletion is a whiteout again
    assert "extra:x:1234" in (top / "etc" / "passwd").read_text()
    manifest = json.loads(engine.content.read(new.manifest_digest))
    assert manifest["layers"][-1]["digest"] == new.layers[-1].digest
    assert engine.content.has(new.layers[-1].digest)


def test_empty_commit_adds_history_but_no_layer(tmp_path: Path, make_state, test_images: TestImages) -> None:
    """An unchanged container gives an ``empty_layer`` history entry, as Docker does."""
    engine: Engine = make_state()
    with Job(engine.bus, "pull") as job:
        base = engine.puller.pull(test_images.busybox_oci.reference, job).image_id
    (tmp_path / "empty").mkdir()
    image_id = commit_image(engine.images, engine.content, engine.layers, base, tmp_path / "empty",
                            comment="nothing")
    config = engine.images.config(image_id)
    assert config["history"][-1]["empty_layer"] is True
    assert config["rootfs"]["diff_ids"] == engine.images.config(base)["rootfs"]["diff_ids"]
    assert EMPTY_TAR_DIFF_ID not in config["rootfs"]["diff_ids"]


def test_unknown_change_is_refused(tmp_path: Path, make_state, test_images: TestImages) -> None:
    engine: Engine = make_state()
    with Job(engine.bus, "pull") as job:
        base = engine.puller.pull(test_images.busybox_oci.reference, job).image_id
    (tmp_path / "u").mkdir()
    from engine.errors import InvalidArgument  # noqa: PLC0415

    with pytest.raises(InvalidArgument, match="cannot change 'Memory'"):
        commit_image(engine.images, engine.content, engine.layers, base, tmp_path / "u",
                     changes={"Memory": 1})
