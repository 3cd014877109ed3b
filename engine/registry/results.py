"""What :class:`~engine.registry.client.RegistryClient` returns: ping results, resolved images, inspections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.registry.manifest import Descriptor, Manifest
from engine.registry.platforms import Platform
from engine.registry.reference import Digest, Reference


@dataclass(frozen=True)
class PingResult:
    """What ``GET /v2/`` said.

    Attributes:
        host: the API host.
        url: the URL that answered (shows the scheme chosen).
        status: 200 (open) or 401 (authentication needed).
        auth_scheme: ``""``, ``"basic"`` or ``"bearer"``.
        realm: the token realm (Bearer) or protection space (Basic).
    """

    host: str
    url: str
    status: int
    auth_scheme: str = ""
    realm: str = ""


@dataclass(frozen=True)
class ResolvedImage:
    """An image reference resolved to one platform's manifest.

    Attributes:
        reference: the reference as asked.
        top: what the tag or digest points at (an index or the manifest itself).
        manifest: the image manifest for the chosen platform.
        platform: the chosen index entry's platform, ``None`` for a single manifest.
    """

    reference: Reference
    top: Manifest
    manifest: Manifest
    platform: Platform | None = None

    @property
    def digest(self) -> Digest:
        """The digest the reference resolves to (Docker's RepoDigest)."""
        return self.top.digest

    @property
    def index(self) -> Manifest | None:
        """The index, if the reference points at one."""
        return self.top if self.top.is_index else None


@dataclass(frozen=True)
class PlatformEntry:
    """One entry of an index, as the repository pane lists it.

    Attributes:
        platform: ``linux/arm64`` … (``unknown/unknown`` for attestations).
        descriptor: the entry's descriptor.
        attestation: whether it is an attestation manifest rather than an image.
    """

    platform: Platform | None
    descriptor: Descriptor
    attestation: bool


@dataclass(frozen=True)
class Inspection:
    """An image described without pulling it.

    Attributes:
        reference: what was inspected.
        top: the manifest or index the reference points at.
        platforms: an index's entries (empty for a single manifest).
        image: the chosen platform's image manifest (``None`` if no entry fits).
        platform: the chosen platform.
        config: the parsed image config.
        layers: the layer descriptors (sizes and media types).
    """

    reference: Reference
    top: Manifest
    platforms: list[PlatformEntry] = field(default_factory=list)
    image: Manifest | None = None
    platform: Platform | None = None
    config: Mapping[str, Any] | None = None
    layers: list[Descriptor] = field(default_factory=list)

    @property
    def digest(self) -> Digest:
        """The digest the reference points at."""
        return self.top.digest

    @property
    def media_type(self) -> str:
        """The top manifest's media type."""
        return self.top.media_type

    @property
    def size(self) -> int:
        """Compressed size of the chosen image: layers plus config plus manifest."""
        if self.image is None:
            return 0
        config = self.image.config
        return sum(d.size for d in self.layers) + (config.size if config else 0) + self.image.size
