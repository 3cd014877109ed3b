"""A registry that misbehaves: a tampering proxy in front of the real one.

Flipped bytes, truncated bodies, dropped connections, 5xx and 429 with
Retry-After, lying Content-Types, schema 1, huge manifests, redirects to
another host (which must not see the credentials), paginated tags.
"""

from __future__ import annotations

import json

import pytest

from engine.errors import (DigestMismatch, ManifestTooLarge, RegistryError, RegistryUnavailable, SizeMismatch,
                           UnsupportedMediaType)
from engine.jobs import EventBus, Job
from engine.registry import BytesSink
from engine.registry.manifest import DOCKER_SCHEMA1_SIGNED, OCI_MANIFEST

MANIFEST = r"/manifests/"
BLOB = r"/blobs/sha256:"


@pytest.fixture
def proxied(make_proxy, registry, test_images):
    """A proxy in front of the anonymous registry and the busybox image's coordinates through it."""
    proxy = make_proxy(registry.url)
    image = test_images.busybox_oci
    return proxy, f"{proxy.host}/{image.repository}:{image.tag}", image


def _layer(client, ref):
    return client.get_manifest(ref).layers[0]


def test_flipped_manifest_byte_is_a_digest_mismatch(make_client, proxied) -> None:
    """One flipped byte: the body no longer matches Docker-Content-Digest."""
    proxy, ref, _ = proxied
    proxy.add(MANIFEST, "flip", method="GET", at=40)
    with pytest.raises(DigestMismatch, match="Docker-Content-Digest"):
        make_client().get_manifest(ref)


def test_by_digest_checks_the_requested_digest(make_client, proxied) -> None:
    """Without Docker-Content-Digest, a pull by digest still checks the bytes against it."""
    proxy, _, image = proxied
    proxy.add(MANIFEST, "flip,strip_digest", method="GET", at=40)
    with pytest.raises(DigestMismatch, match="not to the requested"):
        make_client().get_manifest(f"{proxy.host}/{image.repository}@{image.digest}")
    proxy.add(MANIFEST, "strip_digest", method="GET")  # no flip: the bytes alone verify the pull
    assert str(make_client().get_manifest(f"{proxy.host}/{image.repository}@{image.digest}").digest) == image.digest


def test_flipped_blob_byte_is_a_digest_mismatch(make_client, proxied) -> None:
    """A blob whose bytes changed in transit fails verification at the end of the stream."""
    proxy, ref, _ = proxied
    client = make_client()
    layer = _layer(client, ref)
    proxy.add(BLOB, "flip", method="GET", at=5000)
    with pytest.raises(DigestMismatch, match=str(layer.digest)):
        client.fetch_blob(ref, layer, BytesSink())


def test_truncated_blob_is_a_size_mismatch(make_client, proxied) -> None:
    """A complete response with fewer bytes than the descriptor declares."""
    proxy, ref, _ = proxied
    client = make_client()
    layer = _layer(client, ref)
    proxy.add(BLOB, "short", method="GET", at=1000)
    with pytest.raises(SizeMismatch, match=f"offers 1000 bytes, the descriptor declares {layer.size}"):
        client.fetch_blob(ref, layer, BytesSink())


def test_dropped_connection_resumes_with_range(make_client, proxied) -> None:
    """The connection drops mid-blob: the client reconnects with Range from where it got to."""
    proxy, ref, _ = proxied
    client = make_client()
    layer = _layer(client, ref)
    proxy.add(BLOB, "drop", method="GET", at=300_000)
    sink = BytesSink()
    bus = EventBus()
    with Job(bus, "pull", ref) as job:
        written = client.fetch_blob(ref, layer, sink, job=job)
    assert written == layer.size == len(sink.getvalue())
    gets = proxy.requests("GET", BLOB)
    assert [g.headers.get("range") for g in gets] == [None, "bytes=300000-"]
    step = [e for e in bus.history() if e.action == "blob fetched"][0]
    assert step.detail["resumed_from"] == 300_000


def test_dropped_twice_then_server_ignores_range(make_client, proxied) -> None:
    """Two drops, then a registry that answers 200 to a Range: the prefix is skipped, the blob is right."""
    proxy, ref, _ = proxied
    client = make_client()
    layer = _layer(client, ref)
    whole = BytesSink()
    client.fetch_blob(ref, layer, whole)
    proxy.add(BLOB, "drop", method="GET", at=100_000)
    proxy.add(BLOB, "drop", method="GET", at=50_000)
    proxy.add(BLOB, "ignore_range", method="GET")
    sink = BytesSink()
    client.fetch_blob(ref, layer, sink)
    assert sink.getvalue() == whole.getvalue()
    ranges = [g.headers.get("range") for g in proxy.requests("GET", BLOB)]
    assert ranges[-3:] == [None, "bytes=100000-", "bytes=150000-"]


def test_connection_that_keeps_dropping_gives_up(make_client, proxied) -> None:
    """Resumes are bounded: after the retries it is RegistryUnavailable."""
    proxy, ref, _ = proxied
    client = make_client(retries=2)
    layer = _layer(client, ref)
    proxy.add(BLOB, "drop", method="GET", at=1000, times=-1)
    with pytest.raises(RegistryUnavailable, match="kept dropping"):
        client.fetch_blob(ref, layer, BytesSink())
    assert len(proxy.requests("GET", BLOB)) == 3


@pytest.mark.parametrize("status", [503, 429])
def test_retries_honour_retry_after(make_client, proxied, status) -> None:
    """503 and 429 are retried after Retry-After seconds (not the backoff), then succeed."""
    proxy, ref, image = proxied
    proxy.add(MANIFEST, "status", method="GET", status=status, times=2,
              headers={"Retry-After": "2", "Content-Type": "application/json"},
              body=json.dumps({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}).encode())
    client = make_client()
    manifest = client.get_manifest(ref)
    assert str(manifest.digest) == image.digest
    assert client.delays == [2.0, 2.0]


def test_retry_after_is_capped(make_client, proxied) -> None:
    """A huge Retry-After is capped at max_backoff."""
    proxy, ref, _ = proxied
    proxy.add(MANIFEST, "status", method="GET", status=503, headers={"Retry-After": "86400"})
    client = make_client(max_backoff=3.0)
    client.get_manifest(ref)
    assert client.delays == [3.0]


def test_5xx_forever_is_bounded(make_client, proxied) -> None:
    """A registry that keeps failing: exponential backoff, a bounded number of attempts, then an error."""
    proxy, ref, _ = proxied
    proxy.add(MANIFEST, "status", method="GET", status=500, times=-1,
              body=b'{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}')
    client = make_client(retries=3)
    with pytest.raises(RegistryUnavailable, match=r"HTTP 500.*disk on fire"):
        client.get_manifest(ref)
    assert client.delays == [0.01, 0.02, 0.04]
    assert len(proxy.requests("GET", MANIFEST)) == 4


def test_content_type_lies(make_client, proxied) -> None:
    """text/plain (or application/json) Content-Type: the body's mediaType wins."""
    proxy, ref, image = proxied
    proxy.add(MANIFEST, "content_type", method="GET", value="text/plain; charset=utf-8")
    proxy.add(MANIFEST, "content_type", method="GET", value="application/json")
    client = make_client()
    for _ in range(2):
        manifest = client.get_manifest(ref)
        assert manifest.media_type == OCI_MANIFEST and str(manifest.digest) == image.digest


def test_schema1_is_refused(make_client, proxied) -> None:
    """A schema 1 manifest (2.8.2 will not store one, so the proxy serves it) is refused by name."""
    proxy, ref, _ = proxied
    body = json.dumps({"schemaVersion": 1, "name": "busybox", "tag": "latest", "architecture": "amd64",
                       "fsLayers": [{"blobSum": "sha256:" + "a" * 64}], "history": [{"v1Compatibility": "{}"}],
                       "signatures": [{"header": {}, "signature": "x", "protected": "y"}]}).encode()
    proxy.add(MANIFEST, "body", method="GET", body=body, headers={"Content-Type": DOCKER_SCHEMA1_SIGNED})
    proxy.add(MANIFEST, "body", method="GET", body=body, headers={"Content-Type": "application/json"})
    client = make_client()
    for _ in range(2):
        with pytest.raises(UnsupportedMediaType, match="schema 1"):
            client.get_manifest(ref)


def test_huge_manifest_over_default_cap(make_client, proxied) -> None:
    """A 5 MiB manifest is over the default 4 MiB cap."""
    proxy, ref, _ = proxied
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "pad": "x" * (5 * 1024 * 1024)}).encode()
    proxy.add(MANIFEST, "body", method="GET", body=body, headers={"Content-Type": OCI_MANIFEST})
    with pytest.raises(ManifestTooLarge, match="over the 4194304 byte limit"):
        make_client().get_manifest(ref)


def test_redirect_to_another_host_drops_credentials(make_client, make_proxy, auth_registry, auth_image) -> None:
    """Blob GET redirected to another loopback port: followed, but without Authorization."""
    front = make_proxy(auth_registry.url)
    cdn = make_proxy(auth_registry.url, upstream_auth=auth_registry.auth)
    front.add(BLOB, "redirect", method="GET", value=cdn.url)
    client = make_client(credentials={front.host: auth_registry.auth})
    ref = f"{front.host}/{auth_image.repository}:{auth_image.tag}"
    layer = _layer(client, ref)
    sink = BytesSink()
    client.fetch_blob(ref, layer, sink)
    assert len(sink.getvalue()) == layer.size
    [to_front] = front.requests("GET", BLOB)
    assert to_front.headers["authorization"].startswith("Basic ")
    [to_cdn] = cdn.requests("GET", BLOB)
    assert "authorization" not in to_cdn.headers


def test_same_origin_redirect_keeps_credentials(make_client, make_proxy, auth_registry, auth_image) -> None:
    """A redirect back to the registry's own origin keeps Authorization."""
    front = make_proxy(auth_registry.url)
    client = make_client(credentials={front.host: auth_registry.auth})
    ref = f"{front.host}/{auth_image.repository}:{auth_image.tag}"
    layer = _layer(client, ref)
    front.add(BLOB, "redirect", method="GET", value=front.url)
    client.fetch_blob(ref, layer, BytesSink())
    first, second = front.requests("GET", BLOB)
    assert first.action == "redirect" and second.action is None
    assert second.headers["authorization"].startswith("Basic ")


def test_tag_pagination_follows_relative_and_absolute_links(make_client, proxied) -> None:
    """Link: a relative next, then an absolute one, then none (2.8.2 does not paginate tags)."""
    proxy, ref, image = proxied
    path = f"/v2/{image.repository}/tags/list"
    proxy.add(r"/tags/list\?n=2$", "body", method="GET",
              body=json.dumps({"name": image.repository, "tags": ["a", "b"]}).encode(),
              headers={"Link": f'<{path}?n=2&last=b>; rel="next"'})
    proxy.add(r"/tags/list\?n=2&last=b$", "body", method="GET",
              body=json.dumps({"name": image.repository, "tags": ["c", "d"]}).encode(),
              headers={"Link": f'<{proxy.url}{path}?n=2&last=d>; rel="next"'})
    proxy.add(r"/tags/list\?n=2&last=d$", "body", method="GET",
              body=json.dumps({"name": image.repository, "tags": ["e"]}).encode())
    assert make_client().list_tags(ref, page_size=2) == ["a", "b", "c", "d", "e"]


def test_head_405_falls_back_to_get(make_client, proxied) -> None:
    """A registry refusing manifest HEAD (405) or omitting Docker-Content-Digest: resolve by GET."""
    proxy, ref, image = proxied
    proxy.add(MANIFEST, "status", method="HEAD", status=405)
    client = make_client()
    assert str(client.head_manifest(ref).digest) == image.digest
    proxy.add(MANIFEST, "strip_digest", method="HEAD")
    assert str(client.head_manifest(ref).digest) == image.digest
    accepts = {s.headers["accept"] for s in proxy.requests(path=MANIFEST)}
    assert len(accepts) == 1  # the same Accept on HEAD and GET
    assert "application/vnd.oci.image.index.v1+json" in accepts.pop()
    assert [s.method for s in proxy.requests(path=MANIFEST)] == ["HEAD", "GET", "HEAD", "GET"]


def test_foreign_layer_urls_first_without_credentials(make_client, make_proxy, auth_registry, auth_image) -> None:
    """A descriptor with ``urls``: fetched there without Authorization; a dead URL falls back to the registry."""
    from dataclasses import replace  # noqa: PLC0415

    from harness.registry import free_port  # noqa: PLC0415

    front = make_proxy(auth_registry.url)
    cdn = make_proxy(auth_registry.url, upstream_auth=auth_registry.auth)
    client = make_client(credentials={front.host: auth_registry.auth})
    ref = f"{front.host}/{auth_image.repository}:{auth_image.tag}"
    layer = _layer(client, ref)
    blob_path = f"/v2/{auth_image.repository}/blobs/{layer.digest}"
    foreign = replace(layer, urls=(f"{cdn.url}{blob_path}",))
    sink = BytesSink()
    client.fetch_blob(ref, foreign, sink)
    assert len(sink.getvalue()) == layer.size
    assert front.requests("GET", BLOB) == []
    [seen] = cdn.requests("GET", BLOB)
    assert "authorization" not in seen.headers
    dead = replace(layer, urls=(f"http://127.0.0.1:{free_port()}{blob_path}", "ftp://example.invalid/x"))
    client.fetch_blob(ref, dead, BytesSink())
    assert len(front.requests("GET", BLOB)) == 1


def test_registry_dies_mid_blob_then_resume_after_restart(make_client, make_proxy, registry, test_images) -> None:
    """Connection drops and the registry is gone: the partial sink stays; after restart it resumes with Range."""
    proxy = make_proxy(registry.url)
    image = test_images.busybox_oci
    ref = f"{proxy.host}/{image.repository}:{image.tag}"
    client = make_client(retries=0)
    layer = _layer(client, ref)
    proxy.add(BLOB, "drop", method="GET", at=400_000)
    sink = BytesSink()
    with pytest.raises(RegistryUnavailable, match="kept dropping"):
        client.fetch_blob(ref, layer, sink)
    assert sink.offset == 400_000
    registry.stop()
    try:
        with pytest.raises(RegistryUnavailable):
            client.fetch_blob(ref, layer, sink)
    finally:
        registry.start()
    assert sink.offset == 400_000
    client.fetch_blob(ref, layer, sink)
    assert sink.offset == layer.size
    assert proxy.requests("GET", BLOB)[-1].headers["range"] == "bytes=400000-"


def test_manifest_read_dropped_is_retried(make_client, proxied) -> None:
    """A manifest body cut off mid-way is fetched again."""
    proxy, ref, image = proxied
    proxy.add(MANIFEST, "drop", method="GET", at=100)
    client = make_client()
    assert str(client.get_manifest(ref).digest) == image.digest
    assert len(proxy.requests("GET", MANIFEST)) == 2


def test_bad_content_range_is_refused(make_client, proxied) -> None:
    """A 206 whose Content-Range does not start where we asked is an error, not silently used."""
    proxy, ref, _ = proxied
    client = make_client()
    layer = _layer(client, ref)
    proxy.add(BLOB, "body", method="GET", status=206, body=b"x" * 10,
              headers={"Content-Range": f"bytes 5-14/{layer.size}"})
    with pytest.raises(RegistryError, match="asked for bytes 1000- but the registry answered"):
        client.fetch_blob(ref, layer, BytesSink(b"\0" * 1000))


def test_registry_warnings_shown_once(make_client, proxied) -> None:
    """``Warning: 299`` headers become one Job step each, however often they are sent."""
    proxy, ref, _ = proxied
    warning = '299 - "this registry is deprecated, use \\"new.example\\""'
    proxy.add(MANIFEST, "strip_digest", method="GET", times=3, headers={"Warning": warning})
    client = make_client()
    bus = EventBus()
    with Job(bus, "pull", ref) as job:
        for _ in range(3):
            client.get_manifest(ref, job=job)
    steps = [e for e in bus.history() if e.action == "registry warning"]
    assert [e.detail["warning"] for e in steps] == ['this registry is deprecated, use "new.example"']
    assert client.transport.warnings == {(proxy.host, 'this registry is deprecated, use "new.example"')}
