"""The harness itself: the registries answer, and each fixture image is what it claims.

These read the registry with plain HTTP (httpx), not with Wharf's code, so a
fault here is the harness's, not the engine's.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import httpx
import pytest
import zstandard
from harness.images import ACCEPT_ALL, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, ImageRef, TestImages
from harness.registry import Registry


def _manifest(registry: Registry, image: ImageRef, reference: str | None = None) -> tuple[httpx.Response, dict]:
    with registry.client() as client:
        answer = client.get(f"/v2/{image.repository}/manifests/{reference or image.tag}",
                            headers={"Accept": ACCEPT_ALL})
    answer.raise_for_status()
    return answer, json.loads(answer.content)


def _blob(registry: Registry, repository: str, digest: str) -> bytes:
    with registry.client() as client:
        answer = client.get(f"/v2/{repository}/blobs/{digest}", follow_redirects=True)
    answer.raise_for_status()
    assert "sha256:" + hashlib.sha256(answer.content).hexdigest() == digest
    return answer.content


def _layer_names(registry: Registry, image: ImageRef, index: int) -> list[str]:
    _, manifest = _manifest(registry, image)
    raw = _blob(registry, image.repository, manifest["layers"][index]["digest"])
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        return [member.name.lstrip("./") for member in archive.getmembers()]


def test_registry_answers_v2_and_lists_tags(registry: Registry, test_images: TestImages) -> None:
    with registry.client() as client:
        assert client.get("/v2/").status_code == 200
        tags = client.get("/v2/busybox/tags/list").json()
        catalog = client.get("/v2/_catalog").json()["repositories"]
    assert tags == {"name": "busybox", "tags": ["latest"]}
    assert {"busybox", "busybox-v2s2", "busybox-zstd", "multiarch", "layered"} <= set(catalog)


@pytest.mark.parametrize(("name", "media_type", "layer_type"), [
    ("busybox_oci", OCI_MANIFEST, "application/vnd.oci.image.layer.v1.tar+gzip"),
    ("busybox_v2s2", DOCKER_MANIFEST, "application/vnd.docker.image.rootfs.diff.tar.gzip"),
    ("busybox_zstd", OCI_MANIFEST, "application/vnd.oci.image.layer.v1.tar+zstd"),
])
def test_single_platform_images_have_their_format(registry: Registry, test_images: TestImages,
                                                  name: str, media_type: str, layer_type: str) -> None:
    image: ImageRef = getattr(test_images, name)
    answer, manifest = _manifest(registry, image)
    assert answer.headers["Content-Type"] == media_type == image.media_type
    assert answer.headers["Docker-Content-Digest"] == image.digest
    assert [layer["mediaType"] for layer in manifest["layers"]] == [layer_type]
    config = json.loads(_blob(registry, image.repository, manifest["config"]["digest"]))
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["config"]["Cmd"] == ["/bin/sh"]
    raw = _blob(registry, image.repository, manifest["layers"][0]["digest"])
    magic = b"\x28\xb5\x2f\xfd" if layer_type.endswith("zstd") else b"\x1f\x8b"
    assert raw.startswith(magic)
    if magic == b"\x28\xb5\x2f\xfd":
        tar = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True).read()
    else:
        tar = gzip.decompress(raw)
    assert "sha256:" + hashlib.sha256(tar).hexdigest() == config["rootfs"]["diff_ids"][0]


def test_multiarch_index_has_two_platforms_and_an_attestation(registry: Registry,
                                                             test_images: TestImages) -> None:
    answer, index = _manifest(registry, test_images.multiarch)
    assert answer.headers["Content-Type"] == OCI_INDEX
    platforms = [(m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"]]
    assert platforms == [("linux", "amd64"), ("linux", "arm64"), ("unknown", "unknown")]
    attestation = index["manifests"][2]
    assert attestation["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
    _, child = _manifest(registry, test_images.multiarch, attestation["digest"])
    assert child["layers"][0]["mediaType"] == "application/vnd.in-toto+json"
    for entry in index["manifests"][:2]:
        _, manifest = _manifest(registry, test_images.multiarch, entry["digest"])
        config = json.loads(_blob(registry, "multiarch", manifest["config"]["digest"]))
        assert config["architecture"] == entry["platform"]["architecture"]


def test_layered_image_carries_whiteouts_and_special_files(registry: Registry,
                                                           test_images: TestImages) -> None:
    _, manifest = _manifest(registry, test_images.layered)
    assert len(manifest["layers"]) == 3
    first = set(_layer_names(registry, test_images.layered, 1))
    assert {"etc/hard-a", "etc/hard-b", "etc/abs-link", "usr/bin/suid-tool",
            "data/fifo", "devices/null", "home/app/owned.txt"} <= first
    second = set(_layer_names(registry, test_images.layered, 2))
    assert {"data/.wh.gone.txt", "opaque/.wh..wh..opq", "opaque/new"} <= second


def test_auth_registry_refuses_anonymous_and_accepts_its_user(auth_registry: Registry,
                                                             auth_image: ImageRef) -> None:
    anonymous = httpx.get(f"{auth_registry.url}/v2/", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic ")
    wrong = httpx.get(f"{auth_registry.url}/v2/", auth=("wharf", "wrong"), timeout=10)
    assert wrong.status_code == 401
    answer, manifest = _manifest(auth_registry, auth_image)
    assert answer.headers["Docker-Content-Digest"] == auth_image.digest
    assert manifest["layers"]


def test_registry_survives_a_restart_with_its_content(registry: Registry, test_images: TestImages) -> None:
    registry.kill()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{registry.url}/v2/", timeout=2)
    registry.start()
    answer, _ = _manifest(registry, test_images.busybox_oci)
    assert answer.headers["Docker-Content-Digest"] == test_images.busybox_oci.digest


@pytest.mark.debian
def test_debian_image_is_a_real_debian_root(registry: Registry, debian_image: ImageRef) -> None:
    _, manifest = _manifest(registry, debian_image)
    assert len(manifest["layers"]) == 1
    assert manifest["layers"][0]["size"] > 20_000_000
    config = json.loads(_blob(registry, "debian", manifest["config"]["digest"]))
    assert config["config"]["Cmd"] == ["/bin/bash"]
