"""save / load / export: Wharf's archives read by skopeo, skopeo's archives read by Wharf."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from harness.images import TestImages, busybox_layout
from pull.engine_parts import Engine, make_engine

from engine.errors import DigestMismatch, InvalidArgument, UnsafeLayer
from engine.images.archive import export_container, load, save
from engine.jobs import Job


@pytest.fixture
def make_state(tmp_path: Path):
    made: list[Engine] = []

    def make(name: str = "root") -> Engine:
        engine = make_engine(tmp_path / name, retries=1, backoff=0.05)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.registry.close()


def _pull(engine: Engine, reference: str) -> str:
    with Job(engine.bus, "pull", reference) as job:
        return engine.puller.pull(reference, job).image_id


def _save(engine: Engine, names: list[str], path: Path) -> Path:
    with save(engine.images, engine.content, engine.layers, names) as stream, open(path, "wb") as out:
        shutil.copyfileobj(stream, out)
    return path


def _load(engine: Engine, path: Path) -> list[str]:
    with open(path, "rb") as source:
        return load(engine.images, engine.content, engine.layers, source)


def _skopeo(*args: str) -> None:
    subprocess.run(["skopeo", *args], capture_output=True, check=True)


def test_save_then_load_into_a_fresh_root_round_trips(tmp_path: Path, make_state, test_images: TestImages) -> None:
    engine: Engine = make_state("a")
    busybox = _pull(engine, test_images.busybox_oci.reference)
    layered = _pull(engine, test_images.layered.reference)
    archive = _save(engine, [test_images.busybox_oci.reference, test_images.layered.reference], tmp_path / "s.tar")
    names = set(tarfile.open(archive).getnames())
    assert {"manifest.json", "index.json", "oci-layout", "repositories"} <= names
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    assert [m["RepoTags"] for m in manifest] == [[test_images.busybox_oci.reference],
                                                [test_images.layered.reference]]
    assert any(n.endswith("/layer.tar") for n in names)

    fresh: Engine = make_state("b")
    loaded = _load(fresh, archive)
    assert loaded == [test_images.busybox_oci.reference, test_images.layered.reference]
    assert fresh.images.get(test_images.busybox_oci.reference).id == busybox
    record = fresh.images.get(test_images.layered.reference)
    assert record.id == layered and record.diff_ids == engine.images.get(layered).diff_ids
    top = fresh.layers.get(record.chain_ids[-1]).diff
    assert (top / "opaque" / "new").read_text() == "only this is visible\n"
    # What a load brought in can be saved again, byte for byte.
    again = _save(fresh, [test_images.busybox_oci.reference, test_images.layered.reference], tmp_path / "t.tar")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(archive.read_bytes()).digest()


def test_skopeo_reads_what_wharf_saved(tmp_path: Path, make_state, test_images: TestImages) -> None:
    engine: Engine = make_state()
    image_id = _pull(engine, test_images.layered.reference)
    archive = _save(engine, [test_images.layered.reference], tmp_path / "s.tar")
    _skopeo("copy", "--quiet", f"docker-archive:{archive}", f"oci:{tmp_path / 'oci'}:x")
    index = json.loads((tmp_path / "oci" / "index.json").read_text())
    manifest = json.loads((tmp_path / "oci" / "blobs" / "sha256" /
                           index["manifests"][0]["digest"][7:]).read_text())
    config = json.loads((tmp_path / "oci" / "blobs" / "sha256" / manifest["config"]["digest"][7:]).read_text())
    assert config["rootfs"]["diff_ids"] == engine.images.get(image_id).diff_ids  # skopeo checked each layer
    assert len(manifest["layers"]) == 3
    extracted = tmp_path / "layout"
    with tarfile.open(archive) as tar:
        tar.extractall(extracted, filter="tar")
    _skopeo("copy", "--quiet", f"oci:{extracted}", f"oci:{tmp_path / 'oci2'}:y")  # the OCI half too


def test_load_reads_a_docker_archive_written_by_skopeo(tmp_path: Path, make_state) -> None:
    archive = tmp_path / "sk.tar"
    _skopeo("copy", "--quiet", f"oci:{busybox_layout()}:latest", f"docker-archive:{archive}:wharf/skopeo:v1")
    engine: Engine = make_state()
    assert _load(engine, archive) == ["wharf/skopeo:v1"]
    index = json.loads((busybox_layout() / "index.json").read_text())
    manifest_digest = next(m["digest"] for m in index["manifests"]
                           if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest")
    manifest = json.loads((busybox_layout() / "blobs" / "sha256" / manifest_digest[7:]).read_text())
    record = engine.images.get("wharf/skopeo:v1")
    assert record.id == manifest["config"]["digest"]
    assert (engine.layers.get(record.chain_ids[0]).diff / "bin" / "busybox").exists()


def test_load_reads_a_gzip_oci_layout(tmp_path: Path, make_state) -> None:
    """An OCI layout tar (gzip layers, the whole archive gzip too): untagged, so the ID is reported."""
    archive = tmp_path / "layout.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(busybox_layout(), arcname=".")
    engine: Engine = make_state()
    loaded = _load(engine, archive)
    assert len(loaded) == 2 and all(n.startswith("sha256:") for n in loaded)  # latest and its arm64 twin
    record = engine.images.get(loaded[0])
    assert record.layers[0].media_type == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert engine.content.has(record.manifest_digest)


def _docker_archive(path: Path, layer: bytes, diff_id: str) -> Path:
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in (("layer/layer.tar", layer), ("config.json", config),
                           ("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["bad:one"],
                                                          "Layers": ["layer/layer.tar"]}]).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _tar_of(name: str, data: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def test_load_refuses_a_layer_that_does_not_match_its_diff_id(tmp_path: Path, make_state) -> None:
    layer = gzip.compress(_tar_of("hello", b"hi\n"))
    archive = _docker_archive(tmp_path / "bad.tar", layer, "sha256:" + "0" * 64)
    engine: Engine = make_state()
    with pytest.raises(DigestMismatch):
        _load(engine, archive)
    assert not engine.images.list() and not engine.layers.list()


def test_load_refuses_a_hostile_layer(tmp_path: Path, make_state) -> None:
    layer = _tar_of("../../escaped", b"owned\n")
    archive = _docker_archive(tmp_path / "evil.tar", layer, "sha256:" + hashlib.sha256(layer).hexdigest())
    engine: Engine = make_state()
    with pytest.raises(UnsafeLayer):
        _load(engine, archive)
    assert not list(tmp_path.rglob("escaped"))


def test_load_refuses_something_else(tmp_path: Path, make_state) -> None:
    (tmp_path / "x.tar").write_bytes(_tar_of("hello", b"hi"))
    with pytest.raises(InvalidArgument, match="neither manifest.json"):
        _load(make_state(), tmp_path / "x.tar")


def test_export_container_writes_the_tree_without_overlay_metadata(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("box\n")
    (root / "bin").mkdir()
    (root / "bin" / "sh").symlink_to("busybox")
    os.setxattr(root / "etc", "trusted.overlay.origin", b"x")
    with export_container(root) as stream:
        members = {m.name: m for m in tarfile.open(fileobj=io.BytesIO(stream.read()))}
    assert set(members) == {"bin", "bin/sh", "etc", "etc/hostname"}
    assert members["bin/sh"].linkname == "busybox"
    assert not members["etc"].pax_headers
