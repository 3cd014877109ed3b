"""Pull-side operations against a real docker-registry holding images pushed by skopeo."""

from __future__ import annotations

import hashlib
import threading

import pytest

from engine.errors import InvalidArgument, ManifestTooLarge, ManifestUnknown, RegistryUnavailable
from engine.jobs import Component, EventBus, Job
from engine.registry import BytesSink, Descriptor, parse_reference
from engine.registry.manifest import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from harness.registry import free_port


@pytest.mark.parametrize(("name", "media_type", "layer_type"), [
    ("busybox_oci", OCI_MANIFEST, "application/vnd.oci.image.layer.v1.tar+gzip"),
    ("busybox_v2s2", DOCKER_MANIFEST, "application/vnd.docker.image.rootfs.diff.tar.gzip"),
    ("busybox_zstd", OCI_MANIFEST, "application/vnd.oci.image.layer.v1.tar+zstd"),
    ("layered", OCI_MANIFEST, "application/vnd.oci.image.layer.v1.tar+gzip"),
])
def test_each_format_has_its_media_type_and_digest(make_client, test_images, name, media_type, layer_type) -> None:
    """Manifests come back with the type and digest skopeo pushed, layers with theirs."""
    image = getattr(test_images, name)
    client = make_client()
    manifest = client.get_manifest(image.reference)
    assert manifest.media_type == media_type == image.media_type
    assert str(manifest.digest) == image.digest
    assert {layer.media_type for layer in manifest.layers} == {layer_type}
    by_digest = client.get_manifest(image.by_digest)
    assert by_digest.raw == manifest.raw
    head = client.head_manifest(image.reference)
    assert (str(head.digest), head.size, head.media_type) == (image.digest, manifest.size, media_type)


def test_blob_streams_verified_into_sink(make_client, test_images) -> None:
    """A layer streams into the sink in chunks, with progress, and hashes to its digest."""
    client = make_client(chunk_size=256 * 1024)
    manifest = client.get_manifest(test_images.busybox_oci.reference)
    layer = manifest.layers[0]
    sink = BytesSink()
    seen: list[tuple[int, int]] = []
    written = client.fetch_blob(test_images.busybox_oci.reference, layer, sink,
                                progress=lambda cur, tot: seen.append((cur, tot)))
    assert written == layer.size == len(sink.getvalue())
    assert "sha256:" + hashlib.sha256(sink.getvalue()).hexdigest() == str(layer.digest)
    assert len(seen) >= 4 and seen[-1] == (layer.size, layer.size)
    config = client.get_config(test_images.busybox_oci.reference, manifest)
    assert config["config"]["Cmd"] == ["/bin/sh"]


def test_resume_from_a_partial_sink(make_client, test_images) -> None:
    """A sink already holding a prefix gets only the rest (Range → 206), and the digest covers all."""
    client = make_client()
    ref = test_images.busybox_oci.reference
    layer = client.get_manifest(ref).layers[0]
    whole = BytesSink()
    client.fetch_blob(ref, layer, whole)
    partial = BytesSink(whole.getvalue()[:123_457])
    written = client.fetch_blob(ref, layer, partial)
    assert written == layer.size - 123_457
    assert partial.getvalue() == whole.getvalue()
    hasher = layer.digest.hasher()
    hasher.update(whole.getvalue()[:1000])

    class WriteOnly:
        """A sink that cannot read back: the caller passes the prefix's hash."""

        def __init__(self) -> None:
            self.offset = 1000
            self.data = bytearray()

        def write(self, data: bytes) -> None:
            self.data += data
            self.offset += len(data)

    sink = WriteOnly()
    client.fetch_blob(ref, layer, sink, hasher=hasher)
    assert bytes(sink.data) == whole.getvalue()[1000:]
    with pytest.raises(InvalidArgument, match="cannot read back"):
        client.fetch_blob(ref, layer, WriteOnly())


def test_multiarch_default_and_explicit_platform(make_client, test_images) -> None:
    """The index resolves to this host's platform by default, to arm64 on request, never to the attestation."""
    client = make_client(platform="linux/amd64")
    ref = test_images.multiarch.reference
    top = client.get_manifest(ref)
    assert top.media_type == OCI_INDEX and str(top.digest) == test_images.multiarch.digest
    amd = client.resolve(ref)
    assert str(amd.platform) == "linux/amd64" and amd.index is not None
    assert str(amd.digest) == test_images.multiarch.digest
    arm = client.resolve(ref, platform="linux/arm64/v8")
    assert str(arm.platform) == "linux/arm64"
    assert arm.manifest.digest != amd.manifest.digest
    assert client.get_config(ref, arm.manifest)["architecture"] == "arm64"
    with pytest.raises(ManifestUnknown, match=r"no matching manifest for linux/riscv64.*available: "
                                              r"linux/amd64, linux/arm64\)"):
        client.resolve(ref, platform="linux/riscv64")


def test_inspect_without_pulling(make_client, test_images) -> None:
    """inspect lists an index's platforms and gives config and layers of the chosen one."""
    client = make_client(platform="linux/arm64")
    report = client.inspect(test_images.multiarch.reference)
    assert [(str(e.platform), e.attestation) for e in report.platforms] == [
        ("linux/amd64", False), ("linux/arm64", False), ("unknown/unknown", True)]
    assert str(report.platform) == "linux/arm64" and report.config["architecture"] == "arm64"
    assert report.media_type == OCI_INDEX
    single = client.inspect(test_images.layered.reference)
    assert single.platforms == [] and len(single.layers) == 3
    assert single.size == sum(d.size for d in single.layers) + single.image.config.size + single.image.size
    assert single.config["rootfs"]["type"] == "layers"
    assert len(single.config["rootfs"]["diff_ids"]) == 3


def test_single_manifest_resolves_to_itself(make_client, test_images) -> None:
    """A plain manifest needs no platform selection."""
    resolved = make_client().resolve(test_images.busybox_v2s2.reference, platform="linux/arm64")
    assert resolved.top is resolved.manifest and resolved.platform is None


def test_missing_tag_and_repository(make_client, registry, test_images) -> None:
    """MANIFEST_UNKNOWN and NAME_UNKNOWN both become ManifestUnknown naming the reference."""
    client = make_client()
    with pytest.raises(ManifestUnknown, match="nosuchtag"):
        client.get_manifest(f"{registry.host}/busybox:nosuchtag")
    with pytest.raises(ManifestUnknown, match="MANIFEST_UNKNOWN|NAME_UNKNOWN"):
        client.get_manifest(f"{registry.host}/no/such/repo:latest")
    missing = Descriptor(OCI_MANIFEST, parse_reference("x@sha256:" + "0" * 64).digest, 10)
    with pytest.raises(ManifestUnknown, match="BLOB_UNKNOWN"):
        client.fetch_blob(f"{registry.host}/busybox", missing, BytesSink())


def test_manifest_over_the_cap(make_client, test_images) -> None:
    """A manifest bigger than the cap is refused before it is parsed."""
    with pytest.raises(ManifestTooLarge, match="over the 100 byte limit"):
        make_client(max_manifest_size=100).get_manifest(test_images.busybox_oci.reference)


def test_connection_refused_names_the_host(make_client) -> None:
    """Nothing listening: RegistryUnavailable with the host, after bounded retries with backoff."""
    host = f"127.0.0.1:{free_port()}"
    client = make_client(retries=2)
    with pytest.raises(RegistryUnavailable, match=rf"registry {host} is unavailable: connection refused"):
        client.get_manifest(f"{host}/busybox:latest")
    assert client.delays == [0.01, 0.02]


def test_registry_death_and_restart(make_client, registry, test_images) -> None:
    """A stopped registry is unavailable; once restarted the same client carries on."""
    client = make_client(retries=1)
    ref = test_images.busybox_oci.reference
    client.get_manifest(ref)
    registry.stop()
    try:
        with pytest.raises(RegistryUnavailable, match=registry.host):
            client.get_manifest(ref)
    finally:
        registry.start()
    assert str(client.get_manifest(ref).digest) == test_images.busybox_oci.digest


def test_tags_and_catalog_pagination(make_client, registry, test_images) -> None:
    """Catalog pages follow the registry's relative Link header; tags list in full."""
    client = make_client()
    everything = client.catalog(registry.host)
    assert {"busybox", "busybox-v2s2", "busybox-zstd", "layered", "multiarch"} <= set(everything)
    assert client.catalog(registry.host, page_size=1) == everything  # one per page, via Link
    tags = client.list_tags(f"{registry.host}/{test_images.multiarch.repository}")
    assert sorted(tags) == ["amd64", "arm64", "latest"]


def test_job_steps_for_the_teaching_view(make_client, test_images) -> None:
    """ping, manifest fetched (type, digest), platform selected, blob fetched: all REGISTRY steps."""
    client = make_client()
    bus = EventBus()
    ref = test_images.multiarch.reference
    with Job(bus, "pull", ref, Component.REGISTRY) as job:
        client.ping(ref.split("/")[0], job=job)
        resolved = client.resolve(ref, job=job)
        client.get_config(ref, resolved.manifest, job=job)
    steps = [e for e in bus.history() if e.kind == "step"]
    assert all(e.component is Component.REGISTRY for e in steps)
    names = [e.action for e in steps]
    assert names[:4] == ["ping", "manifest fetched", "platform selected", "manifest fetched"]
    assert steps[1].detail["media_type"] == OCI_INDEX
    assert steps[1].detail["digest"] == test_images.multiarch.digest
    assert "blob fetched" in names


def test_threads_share_one_client(make_client, test_images) -> None:
    """Worker threads pull through one client at once."""
    client = make_client()
    errors: list[BaseException] = []
    results: list[str] = []

    def work(name: str) -> None:
        try:
            image = getattr(test_images, name)
            resolved = client.resolve(image.reference)
            for layer in resolved.manifest.layers:
                client.fetch_blob(image.reference, layer, BytesSink())
            results.append(str(resolved.digest))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in
               ("busybox_oci", "busybox_v2s2", "busybox_zstd", "multiarch", "layered") * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and len(results) == 10


def test_delete_manifest_by_tag_resolves_digest(make_client, registry, test_images) -> None:
    """Deleting by tag resolves the tag to a digest first (2.8.2 refuses tag deletes)."""
    from harness.images import busybox_layout, skopeo_push

    skopeo_push(busybox_layout(), "latest", registry.host, "delete-me", "gone")
    client = make_client()
    ref = f"{registry.host}/delete-me:gone"
    digest = client.get_manifest(ref).digest
    assert client.delete_manifest(ref) == digest
    with pytest.raises(ManifestUnknown):
        client.get_manifest(f"{registry.host}/delete-me@{digest}")
