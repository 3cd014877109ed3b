"""Named volumes on a real filesystem: create, fill from an image folder once, in-use refusal, prune."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import AlreadyExists, InUse, InvalidArgument, VolumeNotFound
from engine.volumes.store import VolumeStore


def test_create_get_list_remove(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path / "volumes")
    made = store.create("data", labels={"team": "a"})
    assert made.mountpoint.is_dir() and not made.anonymous
    assert store.create("data") == made
    with pytest.raises(AlreadyExists):
        store.create("data", exist_ok=False)
    anonymous = store.create()
    assert anonymous.anonymous and len(anonymous.name) == 64
    assert [v.name for v in store.list()] == sorted(["data", anonymous.name])
    (made.mountpoint / "file").write_text("x")
    store.remove("data")
    with pytest.raises(VolumeNotFound, match="no such volume: data"):
        store.get("data")
    assert not (tmp_path / "volumes" / "data").exists()
    store.remove("data", force=True)


def test_bad_names_and_drivers(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path / "volumes")
    for name in ("../escape", "a/b", "-lead", "a b"):
        with pytest.raises(InvalidArgument, match="invalid volume name"):
            store.create(name)
    with pytest.raises(InvalidArgument, match="only the local driver"):
        store.create("x", driver="nfs")


def test_populate_copies_once_keeping_owner_and_mode(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path / "volumes")
    image_dir = tmp_path / "image" / "var" / "lib" / "app"
    (image_dir / "sub").mkdir(parents=True)
    (image_dir / "seed.txt").write_text("from the image")
    (image_dir / "link").symlink_to("/etc/passwd")
    os.chown(image_dir / "seed.txt", 1000, 50)
    os.chmod(image_dir, 0o750)
    store.create("app")
    assert store.populate("app", image_dir)
    volume = store.get("app")
    assert (volume.mountpoint / "seed.txt").read_text() == "from the image"
    assert os.stat(volume.mountpoint / "seed.txt").st_uid == 1000
    assert os.readlink(volume.mountpoint / "link") == "/etc/passwd"
    assert os.stat(volume.mountpoint).st_mode & 0o7777 == 0o750
    (volume.mountpoint / "seed.txt").write_text("changed by a container")
    assert not store.populate("app", image_dir)
    assert (volume.mountpoint / "seed.txt").read_text() == "changed by a container"


def test_in_use_volume_is_refused_and_prune_keeps_it(tmp_path: Path) -> None:
    store = VolumeStore(tmp_path / "volumes")
    store.create("named")
    busy = store.create()
    idle = store.create()
    users = {busy.name: ["web"]}
    with pytest.raises(InUse, match=r"volume is in use - \[web\]"):
        store.remove(busy.name, lambda name: users.get(name, []))
    assert store.prune(lambda name: users.get(name, [])) == [idle.name]
    assert {v.name for v in store.list()} == {"named", busy.name}
    assert store.prune(lambda name: users.get(name, []), all_volumes=True) == ["named"]
