"""Pulls end to end: real registry → content store → layer store → image record.

Every fixture format pulls and unpacks; the bad inputs and faults of a pull
(a dead registry mid-layer, an engine killed mid-pull, a hostile layer, a
layer whose bytes do not match) each give one precise error and leave the
store consistent, and the next pull resumes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import textwrap
import threading
from pathlib import Path

import httpx
import pytest
from harness.images import OCI_CONFIG, OCI_MANIFEST, ImageRef, TestImages
from harness.registry import Registry
from pull.engine_parts import Engine, make_engine

from engine.errors import DigestMismatch, RegistryUnavailable, UnsafeLayer
from engine.jobs import Event, Job


def _pull(engine: Engine, reference: str, platform: str | None = None) -> tuple[str, list[Event]]:
    events: list[Event] = []
    remove = engine.bus.listen(events.append)
    try:
        with Job(engine.bus, "pull", reference) as job:
            result = engine.puller.pull(reference, job, platform=platform)
    finally:
        remove()
    return result.image_id, events


def _statuses(events: list[Event]) -> set[str]:
    return {e.action for e in events if e.kind == "progress"}


def _layer_dirs(engine: Engine) -> list[Path]:
    return [p for p in engine.root.layers.iterdir() if not p.name.startswith(".")]


@pytest.mark.parametrize("name", ["busybox_oci", "busybox_v2s2", "busybox_zstd", "multiarch", "layered"])
def test_every_fixture_format_pulls_and_unpacks(engine: Engine, test_images: TestImages, name: str) -> None:
    image: ImageRef = getattr(test_images, name)
    image_id, events = _pull(engine, image.reference)
    record = engine.images.get(image.reference)
    assert record.id == image_id
    assert f"{image.registry}/{image.repository}:{image.tag}" in record.tags
    assert f"{image.registry}/{image.repository}@{image.digest}" in record.repo_digests
    assert {"Waiting", "Pulling fs layer", "Downloading", "Download complete", "Extracting",
            "Pull complete"} <= _statuses(events)
    top = engine.layers.get(record.chain_ids[0]).diff
    assert os.path.realpath(top / "bin" / "sh").endswith("busybox")
    assert os.access(top / "bin" / "busybox", os.X_OK)
    config = engine.images.config(image.reference)
    assert config["architecture"] == "amd64"
    assert engine.content.has(image.digest)  # the manifest (or index) the tag pointed at


def test_second_pull_finds_every_layer_already_there(engine: Engine, test_images: TestImages) -> None:
    _pull(engine, test_images.layered.reference)
    _, events = _pull(engine, test_images.layered.reference)
    assert _statuses(events) == {"Waiting", "Already exists"}
    assert not [e for e in events if e.action == "blob fetched"]


def test_an_index_resolves_to_the_asked_platform_and_skips_the_attestation(
        engine: Engine, test_images: TestImages) -> None:
    amd64, events = _pull(engine, test_images.multiarch.reference)
    arm64, _ = _pull(engine, test_images.multiarch.reference, platform="linux/arm64")
    assert amd64 != arm64
    assert engine.images.config(arm64)["architecture"] == "arm64"
    chosen = [e for e in events if e.action == "platform selected"]
    assert chosen and chosen[0].detail["platform"] == "linux/amd64"


def test_layered_image_becomes_overlay_whiteouts_and_keeps_special_files(
        engine: Engine, test_images: TestImages) -> None:
    _pull(engine, test_images.layered.reference)
    record = engine.images.get(test_images.layered.reference)
    special, masking = (engine.layers.get(cid).diff for cid in record.chain_ids[1:])
    assert os.stat(special / "etc" / "hard-a").st_ino == os.stat(special / "etc" / "hard-b").st_ino
    assert os.readlink(special / "etc" / "abs-link") == "/etc/passwd"
    assert stat.S_IMODE(os.stat(special / "usr" / "bin" / "suid-tool").st_mode) == 0o4755
    owned = os.stat(special / "home" / "app" / "owned.txt")
    assert (owned.st_uid, owned.st_gid) == (1000, 50)
    assert stat.S_ISFIFO(os.stat(special / "data" / "fifo").st_mode)
    assert os.stat(special / "devices" / "null").st_rdev == os.makedev(1, 3)
    whiteout = os.lstat(masking / "data" / "gone.txt")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    assert os.getxattr(masking / "opaque", "trusted.overlay.opaque") == b"y"
    assert not (masking / "opaque" / ".wh..wh..opq").exists()
    base = engine.layers.get(record.chain_ids[0]).diff
    assert stat.S_IMODE(os.stat(base / "tmp").st_mode) == 0o1777


def test_concurrent_pulls_of_one_image_share_the_work(engine: Engine, test_images: TestImages) -> None:
    extracts: list[Event] = []
    remove = engine.bus.listen(lambda e: extracts.append(e) if e.action == "extract layer" else None)
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            with Job(engine.bus, "pull", test_images.layered.reference) as job:
                engine.puller.pull(test_images.layered.reference, job)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    remove()
    assert not errors
    assert len(extracts) == 3  # one extraction per layer, not per pull
    assert len(_layer_dirs(engine)) == 3


def test_registry_dying_mid_layer_is_one_clear_error_and_the_next_pull_resumes(
        engine: Engine, registry: Registry, big_image: ImageRef) -> None:
    killed = threading.Event()

    def kill_registry_at_16_mb(event: Event) -> None:
        if (event.kind == "progress" and event.action == "Downloading" and not killed.is_set()
                and event.detail["current"] > 16 << 20):
            killed.set()
            registry.kill()

    remove = engine.bus.listen(kill_registry_at_16_mb)
    try:
        with pytest.raises(RegistryUnavailable) as caught:
            _pull(engine, big_image.reference)
    finally:
        remove()
        registry.start()
    assert killed.is_set()
    assert registry.host in str(caught.value)
    assert not engine.images.exists(big_image.reference)
    partial = engine.content.ingests()
    assert partial and partial[0].offset > 16 << 20
    image_id, events = _pull(engine, big_image.reference)
    resumed = [e.detail["resumed_from"] for e in events if e.action == "blob fetched"]
    assert any(offset and offset > 16 << 20 for offset in resumed)
    assert engine.images.get(big_image.reference).id == image_id
    assert engine.content.ingests() == []


_KILLED_PULL = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{tests!r}, {repo!r}]
    from pathlib import Path
    from pull.engine_parts import make_engine
    from engine.jobs import Job
    engine = make_engine(Path({root!r}))
    def die(event):
        if event.kind == "progress" and event.action == "Downloading" and event.detail["current"] > 20 << 20:
            os.kill(os.getpid(), signal.SIGKILL)
    engine.bus.listen(die)
    with Job(engine.bus, "pull", {reference!r}) as job:
        engine.puller.pull({reference!r}, job)
""")


def test_engine_killed_mid_pull_leaves_a_consistent_store_and_the_next_pull_resumes(
        tmp_path: Path, big_image: ImageRef) -> None:
    root = tmp_path / "root"
    here = Path(__file__).resolve().parent
    script = _KILLED_PULL.format(tests=str(here.parent), repo=str(here.parent.parent),
                                 root=str(root), reference=big_image.reference)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    engine = make_engine(root)
    try:
        assert not engine.images.exists(big_image.reference)
        assert not [p for p in engine.root.layers.iterdir() if p.name.startswith(".tmp-")]
        image_id, events = _pull(engine, big_image.reference)
        resumed = [e.detail["resumed_from"] for e in events if e.action == "blob fetched"]
        assert any(offset and offset > 20 << 20 for offset in resumed)
        assert engine.images.get(big_image.reference).id == image_id
        blob = engine.content.read(engine.images.get(image_id).layers[-1].digest)
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == engine.images.get(image_id).layers[-1].digest
    finally:
        engine.registry.close()


def _push_raw_image(registry: Registry, repository: str, layer: bytes,
                    diff_id: str | None = None) -> str:
    """Push a one-layer image made of ``layer`` (an uncompressed tar) by raw HTTP."""
    def put_blob(client: httpx.Client, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = client.post(f"/v2/{repository}/blobs/uploads/")
        location = httpx.URL(start.headers["Location"]).copy_merge_params({"digest": digest})
        client.put(location, content=data).raise_for_status()
        return digest

    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/x"]},
                         "rootfs": {"type": "layers",
                                    "diff_ids": [diff_id or "sha256:" + hashlib.sha256(layer).hexdigest()]}}).encode()
    with registry.client() as client:
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": put_blob(client, config), "size": len(config)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                "digest": put_blob(client, layer), "size": len(layer)}]}
        client.put(f"/v2/{repository}/manifests/latest", content=json.dumps(manifest),
                   headers={"Content-Type": OCI_MANIFEST}).raise_for_status()
    return f"{registry.host}/{repository}:latest"


def _hostile_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/tmp"
        archive.addfile(link)
        payload = tarfile.TarInfo("escape/wharf-pwned-by-layer")
        data = b"written through a symlink\n"
        payload.size = len(data)
        archive.addfile(payload, io.BytesIO(data))
    return buffer.getvalue()


def test_a_hostile_layer_is_refused_and_nothing_is_recorded(engine: Engine, registry: Registry) -> None:
    reference = _push_raw_image(registry, "hostile", _hostile_tar())
    with pytest.raises(UnsafeLayer) as caught:
        _pull(engine, reference)
    assert "escape" in str(caught.value)
    assert not Path("/tmp/wharf-pwned-by-layer").exists()
    assert not engine.images.exists(reference)
    assert _layer_dirs(engine) == []
    assert not [p for p in engine.root.layers.iterdir() if p.name.startswith(".tmp-")]


def test_a_layer_that_does_not_match_its_diff_id_is_refused(engine: Engine, registry: Registry) -> None:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as archive:
        info = tarfile.TarInfo("hello")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    reference = _push_raw_image(registry, "lying-diff-id", layer.getvalue(), diff_id="sha256:" + "0" * 64)
    with pytest.raises(DigestMismatch, match="diff_id"):
        _pull(engine, reference)
    assert not engine.images.exists(reference)
    assert _layer_dirs(engine) == []
