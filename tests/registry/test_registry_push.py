"""Push primitives against the real registry, checked back with skopeo (a tool we did not write)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile

import pytest

from engine.errors import DigestMismatch
from engine.registry import BytesSink, Digest
from engine.registry.manifest import DOCKER_MANIFEST, OCI_CONFIG, OCI_MANIFEST


def _layer() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b"pushed by wharf\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _image(layer: bytes) -> tuple[bytes, bytes]:
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/hello"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": str(Digest.of(config)), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": str(Digest.of(layer)), "size": len(layer)}],
    }, indent=3).encode()
    return config, manifest


def test_push_then_pull_back_and_skopeo_agrees(make_client, registry) -> None:
    """Blobs, then the manifest by tag; skopeo reads the exact bytes and the pull verifies."""
    client = make_client()
    repo = f"{registry.host}/pushed/hello"
    layer = _layer()
    config, manifest = _image(layer)
    assert client.blob_exists(repo, Digest.of(layer)) is None
    client.push_blob(repo, Digest.of(layer), layer)
    client.push_blob(repo, Digest.of(config), io.BytesIO(config), len(config))
    assert client.blob_exists(repo, Digest.of(layer)) == len(layer)
    digest = client.put_manifest(f"{repo}:v1", manifest)
    assert digest == Digest.of(manifest)
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{repo}:v1"],
                         capture_output=True, check=True).stdout
    assert raw == manifest  # stored byte for byte
    pulled = client.resolve(f"{repo}:v1")
    assert pulled.manifest.raw == manifest
    assert client.get_config(repo, pulled.manifest)["config"]["Cmd"] == ["/hello"]


def test_chunked_upload_of_a_file(make_client, registry) -> None:
    """A blob bigger than the chunk size goes up in PATCH chunks, then PUT ?digest=."""
    client = make_client()
    repo = f"{registry.host}/pushed/chunky"
    data = os.urandom(300_000)
    digest = Digest.of(data)
    client.push_blob(repo, digest, io.BytesIO(data), len(data), chunk_size=64 * 1024)
    sink = BytesSink()
    from engine.registry import Descriptor  # noqa: PLC0415

    client.fetch_blob(repo, Descriptor("application/octet-stream", digest, len(data)), sink)
    assert sink.getvalue() == data


def test_wrong_digest_is_refused_before_commit(make_client, registry) -> None:
    """Data that does not match the digest never gets a final PUT."""
    client = make_client()
    with pytest.raises(DigestMismatch):
        client.push_blob(f"{registry.host}/pushed/bad", Digest.of(b"other"), b"data")
    assert client.blob_exists(f"{registry.host}/pushed/bad", Digest.of(b"data")) is None


def test_cross_repository_mount(make_client, registry, test_images) -> None:
    """A layer already in busybox is mounted, not uploaded; a missing source falls back (False)."""
    client = make_client()
    layer = client.get_manifest(test_images.busybox_oci.reference).layers[0]
    target = f"{registry.host}/pushed/mounted"
    assert client.mount_blob(target, layer.digest, f"{registry.host}/{test_images.busybox_oci.repository}")
    assert client.blob_exists(target, layer.digest) == layer.size
    assert not client.mount_blob(target + "2", layer.digest, f"{registry.host}/no/such/repo")


def test_manifest_put_uses_exact_media_type(make_client, registry, test_images) -> None:
    """A Docker schema2 manifest goes up as its own type; the registry answers with it."""
    client = make_client()
    source = client.get_manifest(test_images.busybox_v2s2.reference)
    assert source.media_type == DOCKER_MANIFEST
    target = f"{registry.host}/{test_images.busybox_v2s2.repository}:retagged"
    assert client.put_manifest(target, source.raw) == source.digest
    assert client.head_manifest(target).media_type == DOCKER_MANIFEST


def test_nested_index_is_followed(make_client, registry, test_images) -> None:
    """An index whose entry is another index: resolve recurses to an image manifest."""
    client = make_client(platform="linux/arm64")
    inner = client.get_manifest(test_images.multiarch.reference)
    outer = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": inner.media_type, "digest": str(inner.digest),
                                       "size": inner.size, "platform": {"os": "linux", "architecture": "arm64"}}]
                        }).encode()
    target = f"{registry.host}/{test_images.multiarch.repository}:nested"
    client.put_manifest(target, outer)
    resolved = client.resolve(target)
    assert resolved.top.digest == Digest.of(outer)
    assert client.get_config(target, resolved.manifest)["architecture"] == "arm64"
