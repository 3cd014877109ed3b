"""Images, pulls, pushes and registry credentials."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.model.specs import HealthcheckSpec


@dataclass
class RegistryAuth:
    """Credentials for one registry (from ``X-Registry-Auth`` or ``/auth``)."""

    username: str = ""
    password: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""


@dataclass
class PushResult:
    """The end of a push: tag, manifest digest and manifest size."""

    tag: str
    digest: str
    size: int


@dataclass
class Progress:
    """One message of a pull, push or import stream.

    Attributes:
        status: ``"Pulling fs layer"``, ``"Downloading"``, ``"Download complete"``,
            ``"Pull complete"``, ``"Digest: sha256:…"``, ``"Status: …"``, …
        id: the item it concerns (a short layer ID or a tag), ``""`` for none.
        current: bytes done, for a progress bar (``None``: no bar).
        total: bytes in all (``0`` unknown).
        pushed: set on the final message of a push.
    """

    status: str
    id: str = ""
    current: int | None = None
    total: int = 0
    pushed: PushResult | None = None


@dataclass
class ImageConfig:
    """The runtime defaults an image carries."""

    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    exposed_ports: list[tuple[int, str]] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    healthcheck: HealthcheckSpec | None = None
    shell: list[str] = field(default_factory=list)


@dataclass
class ImageInfo:
    """One image, for both list and inspect.

    Attributes:
        id: ``sha256:<hex>`` of the config blob.
        repo_tags: ``["busybox:latest", …]`` in the short form users type.
        repo_digests: ``["busybox@sha256:…"]``.
        size: bytes of all layers, uncompressed.
        diff_ids: the layers' uncompressed digests, bottom first.
        containers: how many containers use it, ``-1`` if not counted.
    """

    id: str
    repo_tags: list[str]
    repo_digests: list[str]
    created: float
    size: int
    config: ImageConfig
    architecture: str = "amd64"
    os: str = "linux"
    variant: str = ""
    parent: str = ""
    author: str = ""
    comment: str = ""
    docker_version: str = ""
    diff_ids: list[str] = field(default_factory=list)
    containers: int = -1
    shared_size: int = -1
    graph_driver: str = "overlay2"
    graph_data: dict[str, str] = field(default_factory=dict)
    manifest_digest: str = ""


@dataclass
class HistoryEntry:
    """One step of an image's history, newest first in lists."""

    id: str
    created: float
    created_by: str
    size: int
    tags: list[str] = field(default_factory=list)
    comment: str = ""
    empty_layer: bool = False


@dataclass
class ImageDeleteItem:
    """One effect of removing an image: a reference untagged, or an image deleted."""

    untagged: str = ""
    deleted: str = ""


@dataclass
class ImportSpec:
    """``docker import``: a rootfs tarball (body or URL) made into an image."""

    source: str = "-"
    """``"-"`` means the request body; otherwise a URL."""
    repo: str = ""
    tag: str = ""
    message: str = ""
    changes: list[str] = field(default_factory=list)
    platform: str = ""
