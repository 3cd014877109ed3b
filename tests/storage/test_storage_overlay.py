"""The overlay graph driver on real mounts: whiteouts, opaque folders, 100 layers, diff."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
from images.layer_tars import Member

from engine.errors import InvalidArgument, StorageError
from engine.jobs import Component, EventBus, Job
from engine.storage import mountapi
from engine.storage.driver import Change, ChangeKind
from engine.storage.overlay import OverlayDriver, overlay_works, unmount
from engine.storage.select import select_driver
from engine.storage.vfs import VfsDriver

D = tarfile.DIRTYPE

BASE = [Member("etc/", D, mode=0o755), Member("etc/passwd", data=b"root:x:0:0\n"),
        Member("etc/group", data=b"root:x:0:\n"), Member("var/", D, mode=0o755),
        Member("var/a", data=b"a"), Member("var/b", data=b"b"),
        Member("var/sub/", D, mode=0o755), Member("var/sub/deep", data=b"deep"),
        Member("keep", data=b"base")]
TOP = [Member("etc/", D, mode=0o755), Member("etc/.wh.passwd"), Member("var/", D, mode=0o755),
       Member("var/.wh..wh..opq"), Member("var/c", data=b"c"), Member("keep", data=b"top")]


def test_whiteouts_and_opaque_dirs_hide_lower_files(graph, mounts) -> None:
    """Read through a real overlay mount: ``.wh.`` files and opaque folders hide the base."""
    chain = graph.stack([BASE, TOP])
    upper, work, merged = graph.container_dirs("c1")
    info = OverlayDriver(graph.layers).mount("c1", chain, upper, work, mounts(merged))
    assert mountapi.is_mountpoint(merged)
    root = Path(merged)
    assert sorted(os.listdir(root / "etc")) == ["group"]
    assert sorted(os.listdir(root / "var")) == ["c"]
    assert (root / "keep").read_bytes() == b"top"
    assert not (root / "etc/passwd").exists()
    top, base = (graph.layers.get(cid) for cid in reversed(chain))
    assert info.lowerdir == [f"l/{top.short_id}", f"l/{base.short_id}"]  # uppermost first
    assert info.upperdir == upper and info.workdir == work
    data = OverlayDriver(graph.layers).metadata(info)
    assert data["LowerDir"] == f"{top.diff}:{base.diff}" and data["MergedDir"] == merged
    (root / "written").write_text("by the container")
    assert (Path(upper) / "written").read_text() == "by the container"
    unmount(merged)
    assert not mountapi.is_mountpoint(merged)
    unmount(merged)  # a second unmount is fine


def test_mount_publishes_a_graph_driver_step(graph, mounts) -> None:
    chain = graph.stack([BASE])
    upper, work, merged = graph.container_dirs("c2")
    bus = EventBus()
    with bus.subscribe() as events, Job(bus, "start", "c2") as job:
        OverlayDriver(graph.layers).mount("c2", chain, upper, work, mounts(merged), job=job)
        steps = [e for e in iter(lambda: events.get(timeout=0.1), None) if e.kind == "step"]
    [step] = [s for s in steps if s.action == "overlay mount"]
    assert step.component is Component.GRAPH_DRIVER
    assert step.detail["lowerdir"].startswith("l/")
    assert step.detail["upperdir"] == upper and step.detail["workdir"] == work
    assert "index=off" in step.detail["options"] or not os.path.exists(
        "/sys/module/overlay/parameters/index")


@pytest.mark.parametrize("use_new_api", [True, False], ids=["fsconfig", "mount2-relative"])
def test_hundred_layers_mount(graph, mounts, use_new_api: bool) -> None:
    """100 layers: each adds a file and overrides ``top``; the uppermost wins."""
    layers = [[Member(f"f{i:03d}", data=str(i).encode()), Member("top", data=str(i).encode())]
              for i in range(100)]
    chain = graph.stack(layers)
    upper, work, merged = graph.container_dirs("deep")
    driver = OverlayDriver(graph.layers, use_new_api=use_new_api)
    info = driver.mount("deep", chain, upper, work, mounts(merged))
    root = Path(merged)
    assert len([n for n in os.listdir(root) if n.startswith("f")]) == 100
    assert (root / "top").read_text() == "99"
    assert (root / "f000").read_text() == "0"
    assert info.method == ("fsconfig" if use_new_api else "mount(2)")
    if not use_new_api:
        assert len(info.options) < os.sysconf("SC_PAGESIZE")
        assert info.options.startswith("lowerdir=l/")


def test_too_many_layers_is_refused(graph) -> None:
    driver = OverlayDriver(graph.layers)
    with pytest.raises(StorageError, match="128"):
        driver.mount("x", ["sha256:" + "0" * 64] * 129, "/u", "/w", "/m")


def test_diff_reports_added_modified_deleted(graph, mounts) -> None:
    chain = graph.stack([BASE, TOP])
    upper, work, merged = graph.container_dirs("c3")
    driver = OverlayDriver(graph.layers)
    driver.mount("c3", chain, upper, work, mounts(merged))
    root = Path(merged)
    (root / "etc/group").write_text("changed\n")
    (root / "new").mkdir()
    (root / "new/file").write_text("added")
    (root / "var/c").unlink()
    (root / "keep").unlink()
    changes = driver.diff(upper, chain)
    assert changes == [Change("/etc", ChangeKind.MODIFIED),
                       Change("/etc/group", ChangeKind.MODIFIED),
                       Change("/keep", ChangeKind.DELETED),
                       Change("/new", ChangeKind.ADDED),
                       Change("/new/file", ChangeKind.ADDED),
                       Change("/var", ChangeKind.MODIFIED),
                       Change("/var/c", ChangeKind.DELETED)]


def test_a_path_whited_out_below_counts_as_added(graph, mounts) -> None:
    """Recreating a file an image layer deleted is an addition, as in Docker."""
    chain = graph.stack([BASE, TOP])
    upper, work, merged = graph.container_dirs("c4")
    driver = OverlayDriver(graph.layers)
    driver.mount("c4", chain, upper, work, mounts(merged))
    (Path(merged) / "etc/passwd").write_text("again")
    (Path(merged) / "var/a").write_text("again")  # hidden by the opaque folder above
    changes = {c.path: c.kind for c in driver.diff(upper, chain)}
    assert changes["/etc/passwd"] is ChangeKind.ADDED
    assert changes["/var/a"] is ChangeKind.ADDED


def test_overlay_detection(graph, mounts, tmp_path: Path) -> None:
    """Overlay works on the ext4 state root, not on a root that is itself on overlay."""
    assert overlay_works(graph.root.path) == (True, "")
    chain = graph.stack([BASE])
    upper, work, merged = graph.container_dirs("c5")
    OverlayDriver(graph.layers).mount("c5", chain, upper, work, mounts(merged))
    works, reason = overlay_works(merged)
    assert not works and "overlay" in reason
    driver, why = select_driver(graph.layers)
    assert isinstance(driver, OverlayDriver), why
    assert not [p for p in os.listdir(graph.root.path) if p.startswith(".overlay-check")]


def test_vfs_copies_the_same_view(graph, mounts) -> None:
    """The vfs fallback gives the same files as overlay (whiteouts and opaque applied)."""
    chain = graph.stack([BASE, TOP])
    upper, work, merged = graph.container_dirs("ov")
    OverlayDriver(graph.layers).mount("ov", chain, upper, work, mounts(merged))
    vfs_upper, vfs_work, vfs_root = graph.container_dirs("vfs")
    vfs = VfsDriver(graph.layers)
    info = vfs.mount("vfs", chain, vfs_upper, vfs_work, vfs_root)
    assert info.driver == "vfs"

    def listing(root: str) -> dict[str, bytes]:
        found = {}
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(folder, name)
                found[os.path.relpath(path, root)] = (
                    open(path, "rb").read() if os.path.isfile(path) else b"<dir>")
        return found

    assert listing(vfs_root) == listing(merged)
    (Path(vfs_root) / "var/c").unlink()
    (Path(vfs_root) / "added").write_text("x")
    changes = {c.path: c.kind for c in vfs.diff(vfs_root, chain)}
    assert changes == {"/var/c": ChangeKind.DELETED, "/added": ChangeKind.ADDED}


def test_select_driver_by_name(graph) -> None:
    assert isinstance(select_driver(graph.layers, "vfs")[0], VfsDriver)
    assert isinstance(select_driver(graph.layers, "overlay2")[0], OverlayDriver)
    with pytest.raises(InvalidArgument, match="btrfs"):
        select_driver(graph.layers, "btrfs")
