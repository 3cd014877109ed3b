"""Decoding manifests: media type from the body, guessing, schema 1, digests, descriptors."""

from __future__ import annotations

import json

import pytest

from engine.errors import DigestMismatch, ManifestTooLarge, RegistryError, UnsupportedMediaType
from engine.registry import Digest
from engine.registry.manifest import (DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST,
                                      Descriptor, decode_manifest)

D = "sha256:" + "c" * 64


def _raw(data: dict) -> bytes:
    return json.dumps(data).encode()


def test_body_media_type_beats_content_type() -> None:
    """Content-Type text/plain, body says OCI manifest: OCI manifest."""
    raw = _raw({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": "x", "digest": D, "size": 1},
                "layers": []})
    assert decode_manifest(raw, "text/plain", reference="r").media_type == OCI_MANIFEST


@pytest.mark.parametrize(("data", "content_type", "expected"), [
    ({"schemaVersion": 2, "manifests": []}, "application/json", OCI_INDEX),
    ({"schemaVersion": 2, "config": {"mediaType": DOCKER_CONFIG, "digest": D, "size": 1}}, None, DOCKER_MANIFEST),
    ({"schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D,
                                     "size": 1}}, "", OCI_MANIFEST),
    ({"schemaVersion": 2, "manifests": []}, f"{DOCKER_LIST}; charset=utf-8", DOCKER_LIST),
])
def test_guess_without_media_type(data: dict, content_type: str | None, expected: str) -> None:
    """No mediaType (image-spec < 1.0.2): a known Content-Type, else a guess from the shape."""
    assert decode_manifest(_raw(data), content_type, reference="r").media_type == expected


def test_schema1_refused_however_labelled() -> None:
    """schemaVersion 1 is refused even when Content-Type claims schema 2."""
    raw = _raw({"schemaVersion": 1, "fsLayers": []})
    for content_type in (DOCKER_MANIFEST, "application/json", None):
        with pytest.raises(UnsupportedMediaType, match="schema 1"):
            decode_manifest(raw, content_type, reference="r")


def test_digests_checked() -> None:
    """The requested digest and Docker-Content-Digest must match the bytes; sha512 works."""
    raw = _raw({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    good = Digest.of(raw)
    assert decode_manifest(raw, None, reference="r", expected=good, header_digest=str(good)).digest == good
    sha512 = Digest.of(raw, "sha512")
    assert decode_manifest(raw, None, reference="r", expected=sha512).digest == sha512
    assert decode_manifest(raw, None, reference="r", header_digest=str(sha512)).digest == sha512
    with pytest.raises(DigestMismatch, match="requested"):
        decode_manifest(raw, None, reference="r", expected=Digest.of(b"x"))
    with pytest.raises(DigestMismatch, match="Docker-Content-Digest"):
        decode_manifest(raw, None, reference="r", header_digest=str(Digest.of(b"x")))


def test_not_json_and_too_large() -> None:
    """Garbage is a RegistryError; over the cap is ManifestTooLarge."""
    with pytest.raises(RegistryError, match="not valid JSON"):
        decode_manifest(b"<html>", "text/html", reference="r")
    with pytest.raises(RegistryError, match="not a JSON object"):
        decode_manifest(b"[1]", None, reference="r")
    with pytest.raises(ManifestTooLarge):
        decode_manifest(b"{}" + b" " * 100, None, reference="r", max_size=50)


def test_index_entries_and_attestations() -> None:
    """Index entries carry platforms; unknown/unknown and attestation annotations are attestations."""
    raw = _raw({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": D, "size": 5, "platform": {"os": "linux", "architecture": "arm",
                                                                         "variant": "v7"}},
        {"mediaType": OCI_MANIFEST, "digest": D, "size": 5, "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}]})
    entries = decode_manifest(raw, None, reference="r").manifests
    assert str(entries[0].platform) == "linux/arm/v7" and not entries[0].is_attestation
    assert entries[1].is_attestation
    assert Descriptor.from_json(entries[0].to_json()) == entries[0]
    with pytest.raises(RegistryError, match="no 'digest'"):
        Descriptor.from_json({"mediaType": "x", "size": 1})
    with pytest.raises(RegistryError, match="size"):
        Descriptor.from_json({"mediaType": "x", "size": -1, "digest": D})
