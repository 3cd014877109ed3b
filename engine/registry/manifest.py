"""Manifests and descriptors: media types, decoding, verification against digests.

:func:`decode_manifest` turns the bytes a registry sent into a :class:`Manifest`:
it enforces the size cap, takes the media type from the body's ``mediaType``
(Content-Type is often wrong: ``text/plain``, ``application/json``) or guesses
it from the shape, refuses Docker schema 1, and checks the bytes against the
digest that was asked for and against ``Docker-Content-Digest``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import DigestMismatch, ManifestTooLarge, RegistryError, UnsupportedMediaType
from engine.registry.platforms import Platform
from engine.registry.reference import Digest, parse_digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
IMAGE_CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})

MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])
"""The Accept header for every manifest HEAD and GET (the same on both)."""

DEFAULT_MAX_MANIFEST_SIZE = 4 * 1024 * 1024
"""The manifest size cap, as containerd and containers/image use."""

ATTESTATION_TYPE = "attestation-manifest"
REFERENCE_TYPE_ANNOTATION = "vnd.docker.reference.type"


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: media type, digest, size (and, in an index, a platform).

    Attributes:
        media_type: what the content is.
        digest: its digest.
        size: its exact length in bytes.
        urls: external places to fetch it from (foreign layers).
        annotations: free-form string annotations.
        platform: the platform of an index entry, else ``None``.
        artifact_type: the OCI ``artifactType``, else ``""``.
    """

    media_type: str
    digest: Digest
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    artifact_type: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Descriptor:
        """Parse a descriptor object.

        Raises:
            RegistryError: a field is missing or of the wrong type.
        """
        if not isinstance(data, dict):
            raise RegistryError("invalid manifest: a descriptor is not a JSON object")
        try:
            size = data["size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise RegistryError(f"invalid manifest: descriptor size {size!r} is not a non-negative integer")
            platform = data.get("platform")
            return cls(
                media_type=str(data.get("mediaType", "")),
                digest=parse_digest(str(data["digest"])),
                size=size,
                urls=tuple(data.get("urls") or ()),
                annotations=dict(data.get("annotations") or {}),
                platform=Platform.from_json(platform) if isinstance(platform, dict) else None,
                artifact_type=str(data.get("artifactType", "") or ""),
            )
        except KeyError as exc:
            raise RegistryError(f"invalid manifest: a descriptor has no {exc.args[0]!r}") from None
        except Exception as exc:  # InvalidReference from the digest
            if isinstance(exc, RegistryError):
                raise
            raise RegistryError(f"invalid manifest: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        """The descriptor as a JSON object."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = {"os": self.platform.os, "architecture": self.platform.architecture}
            if self.platform.variant:
                out["platform"]["variant"] = self.platform.variant
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out

    @property
    def is_attestation(self) -> bool:
        """Whether this index entry is a BuildKit attestation (``unknown/unknown``)."""
        if self.annotations.get(REFERENCE_TYPE_ANNOTATION) == ATTESTATION_TYPE:
            return True
        return self.platform is not None and self.platform.is_unknown


@dataclass(frozen=True)
class Manifest:
    """A manifest or index exactly as the registry stored it.

    Attributes:
        media_type: the effective media type (from the body when it says).
        digest: the digest of :attr:`raw`.
        raw: the exact bytes (push them back byte for byte).
        data: the parsed JSON.
    """

    media_type: str
    digest: Digest
    raw: bytes
    data: Mapping[str, Any]

    @property
    def size(self) -> int:
        """Length of :attr:`raw`."""
        return len(self.raw)

    @property
    def is_index(self) -> bool:
        """Whether this is an OCI index or a Docker manifest list."""
        return self.media_type in INDEX_TYPES

    @property
    def is_image(self) -> bool:
        """Whether this is an OCI or Docker schema 2 image manifest."""
        return self.media_type in IMAGE_MANIFEST_TYPES

    @property
    def manifests(self) -> list[Descriptor]:
        """An index's entries (empty for an image manifest)."""
        return [Descriptor.from_json(d) for d in self.data.get("manifests") or []]

    @property
    def config(self) -> Descriptor | None:
        """An image manifest's config descriptor."""
        config = self.data.get("config")
        return Descriptor.from_json(config) if config is not None else None

    @property
    def layers(self) -> list[Descriptor]:
        """An image manifest's layer descriptors, base layer first."""
        return [Descriptor.from_json(d) for d in self.data.get("layers") or []]

    @property
    def artifact_type(self) -> str:
        """``artifactType``, or for an artifact the config's type when it is not an image config."""
        if self.data.get("artifactType"):
            return str(self.data["artifactType"])
        config = self.data.get("config") or {}
        kind = config.get("mediaType", "") if isinstance(config, dict) else ""
        return "" if not kind or kind in IMAGE_CONFIG_TYPES else str(kind)

    def descriptor(self) -> Descriptor:
        """A descriptor pointing at this manifest."""
        return Descriptor(self.media_type, self.digest, self.size)


def normalize_media_type(value: str | None) -> str:
    """A Content-Type without parameters, lowercased."""
    return (value or "").split(";", 1)[0].strip().lower()


def guess_media_type(data: Mapping[str, Any]) -> str:
    """Guess a manifest's type from its shape (image-spec before 1.0.2 had no mediaType)."""
    if data.get("schemaVersion") == 1:
        return DOCKER_SCHEMA1_SIGNED if "signatures" in data else DOCKER_SCHEMA1
    if "manifests" in data:
        return OCI_INDEX
    config = data.get("config")
    if isinstance(config, dict) and config.get("mediaType") == DOCKER_CONFIG:
        return DOCKER_MANIFEST
    return OCI_MANIFEST


def decode_manifest(body: bytes, content_type: str | None, *, reference: str,
                    expected: Digest | None = None, header_digest: str | None = None,
                    max_size: int = DEFAULT_MAX_MANIFEST_SIZE) -> Manifest:
    """Check and decode a manifest body.

    Args:
        body: the exact bytes received.
        content_type: the response's Content-Type (used only when the body has no ``mediaType``).
        reference: what was asked for, for messages.
        expected: the digest asked for (a pull by digest), if any.
        header_digest: the ``Docker-Content-Digest`` header, if any.
        max_size: the size cap.

    Raises:
        ManifestTooLarge: over ``max_size``.
        DigestMismatch: the body does not hash to ``expected`` or ``header_digest``.
        UnsupportedMediaType: Docker schema 1.
        RegistryError: not JSON, or not a JSON object.
    """
    if len(body) > max_size:
        raise ManifestTooLarge(
            f"manifest {reference} is {len(body)} bytes, over the {max_size} byte limit")
    algorithm = expected.algorithm if expected else "sha256"
    if header_digest and not expected:
        try:
            algorithm = parse_digest(header_digest.strip()).algorithm
        except Exception:  # noqa: BLE001 - a malformed header is a mismatch below
            algorithm = "sha256"
    digest = Digest.of(body, algorithm)
    if expected is not None and digest != expected:
        raise DigestMismatch(f"manifest {reference} hashes to {digest}, not to the requested {expected}")
    if header_digest and header_digest.strip() != str(digest):
        raise DigestMismatch(
            f"manifest {reference} hashes to {digest}, but the registry's Docker-Content-Digest "
            f"says {header_digest.strip()}")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryError(f"manifest {reference} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(f"manifest {reference} is not a JSON object")
    header_type = normalize_media_type(content_type)
    body_type = data.get("mediaType")
    if isinstance(body_type, str) and body_type:
        media_type = body_type
    elif header_type in INDEX_TYPES | IMAGE_MANIFEST_TYPES | SCHEMA1_TYPES and not (
            data.get("schemaVersion") == 1 and header_type not in SCHEMA1_TYPES):
        media_type = header_type
    else:
        media_type = guess_media_type(data)
    if media_type in SCHEMA1_TYPES or data.get("schemaVersion") == 1:
        raise UnsupportedMediaType(
            f"manifest {reference} uses Docker image manifest schema 1 ({media_type}), which Wharf "
            "does not support (Docker removed it too); push the image again with a current tool")
    return Manifest(media_type, digest, body, data)
