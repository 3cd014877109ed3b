"""Images made by real tools (umoci, skopeo): stored, unpacked, mounted, compared with umoci's own unpack."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from harness.images import busybox_layout, busybox_zstd_layout, layered_layout, run
from images.layer_tars import snapshot

from engine.images.records import LayerDescriptor
from engine.storage.overlay import OverlayDriver, unmount


def load_layout(stores, layout: Path, tag: str = "latest"):
    """Copy an OCI layout's image into the stores as a pull would (blobs, layers, record)."""
    index = json.loads((layout / "index.json").read_text())
    [entry] = [m for m in index["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]

    def blob(digest: str) -> Path:
        return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")

    manifest_raw = blob(entry["digest"]).read_bytes()
    manifest = json.loads(manifest_raw)
    config_raw = blob(manifest["config"]["digest"]).read_bytes()
    config = json.loads(config_raw)
    diff_ids = config["rootfs"]["diff_ids"]
    parent, descriptors = None, []
    for layer, diff_id in zip(manifest["layers"], diff_ids):
        with stores.content.ingest(layer["digest"], layer["size"]) as ing, \
                open(blob(layer["digest"]), "rb") as f:
            while chunk := f.read(1 << 16):
                ing.write(chunk)
            ing.commit()
        stored = stores.layers.apply(parent, diff_id, lambda d=layer["digest"]:
                                     stores.content.open(d))
        parent = stored.chain_id
        descriptors.append(LayerDescriptor(layer["digest"], layer["mediaType"], layer["size"],
                                           diff_id))
    stores.content.put(manifest_raw, entry["digest"])
    config_digest = stores.content.put(config_raw, manifest["config"]["digest"])
    return stores.images.add(config_digest, manifest_digest=entry["digest"],
                             manifest_media_type=entry["mediaType"], layers=descriptors,
                             reference="127.0.0.1:5000/real:latest")


def umoci_rootfs(layout: Path, tmp_path: Path, tag: str = "latest") -> Path:
    bundle = tmp_path / "umoci-bundle"
    run("umoci", "unpack", "--image", f"{layout}:{tag}", bundle)
    return bundle / "rootfs"


def comparable(tree: dict[str, tuple]) -> dict[str, tuple]:
    """Drop folder mtimes (umoci and overlay both touch them) and overlay's own xattrs."""
    out = {}
    for path, fields in tree.items():
        kind, mode, uid, gid, rdev, size, content, target, mtime, xattrs = fields
        if kind == 0o040000:
            mtime = 0
        xattrs = tuple(x for x in xattrs if not x[0].startswith("trusted.overlay."))
        out[path] = (kind, mode, uid, gid, rdev, size, content, target, mtime, xattrs)
    return out


@pytest.mark.parametrize("layout_fn,reference_fn", [(layered_layout, layered_layout),
                                                    (busybox_zstd_layout, busybox_layout)],
                         ids=["layered-gzip", "busybox-zstd"])
def test_real_layout_mounts_like_umoci_unpacks(stores, tmp_path: Path, layout_fn,
                                               reference_fn) -> None:
    """The overlay view of our layers equals umoci's flattened rootfs, file for file.

    umoci cannot read zstd, so the zstd image (skopeo's recompression of busybox)
    is compared with umoci's unpack of the gzip original.
    """
    layout = layout_fn()
    record = load_layout(stores, layout)
    base = stores.root.containers / "real"
    upper, work, merged = (base / n for n in ("upper", "work", "merged"))
    for folder in (upper, work, merged):
        folder.mkdir(parents=True)
    OverlayDriver(stores.layers).mount("real", record.chain_ids, str(upper), str(work),
                                       str(merged))
    try:
        ours = comparable(snapshot(merged))
        theirs = comparable(snapshot(umoci_rootfs(reference_fn(), tmp_path)))
        assert ours.keys() == theirs.keys()
        for path in theirs:
            assert ours[path] == theirs[path], path
        if layout_fn is layered_layout:
            assert not (merged / "data/gone.txt").exists()
            assert sorted(os.listdir(merged / "opaque")) == ["new"]
            assert os.stat(merged / "etc/hard-a").st_ino == os.stat(merged / "etc/hard-b").st_ino
    finally:
        unmount(str(merged))
    info = stores.images.info("127.0.0.1:5000/real:latest")
    assert info.diff_ids == record.diff_ids
    assert len(stores.images.history(record.id)) >= len(record.diff_ids)
