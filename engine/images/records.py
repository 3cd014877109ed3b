"""Image records (what the store keeps per image) and their typed views.

An image is named by its ID, the digest of its config blob. The record keeps
the manifest it came in, the layer descriptors, the chain IDs, the tags and
repo digests pointing at it. :func:`image_info` and :func:`history_entries`
read a record with its config blob into the engine's typed model
(:class:`~engine.model.ImageInfo`, :class:`~engine.model.HistoryEntry`);
Docker's JSON for them is rendered only in ``engine.api.convert_images``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.model import HistoryEntry, ImageConfig, ImageInfo
from engine.registry.reference import parse_reference


@dataclass(frozen=True)
class LayerDescriptor:
    """One layer blob of an image's manifest.

    Attributes:
        digest: the blob's digest (compressed, as stored).
        media_type: e.g. ``application/vnd.oci.image.layer.v1.tar+gzip``.
        size: the blob's size.
        diff_id: the uncompressed tar's digest, from the config.
    """

    digest: str
    media_type: str
    size: int
    diff_id: str


@dataclass
class ImageRecord:
    """What the store remembers about one image.

    Attributes:
        id: ``sha256:<hex>`` of the config blob (Docker's image ID).
        config_digest: same as ``id``.
        manifest_digest: the manifest it was pulled or built with, or ``""``.
        manifest_media_type: that manifest's media type.
        layers: the layer blobs, base first (empty when unknown).
        diff_ids: ``config.rootfs.diff_ids``, base first.
        chain_ids: the chain ID of every layer, base first.
        tags: normalised references, e.g. ``docker.io/library/busybox:latest``.
        repo_digests: normalised ``name@sha256:…`` references.
        size: bytes of all layers' content.
        stored: when the store first recorded it (seconds since the epoch).
        last_tag_time: when it was last tagged, or 0.
    """

    id: str
    config_digest: str
    manifest_digest: str = ""
    manifest_media_type: str = ""
    layers: list[LayerDescriptor] = field(default_factory=list)
    diff_ids: list[str] = field(default_factory=list)
    chain_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    size: int = 0
    stored: float = 0.0
    last_tag_time: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-able data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageRecord:
        """A record from :meth:`to_json` output."""
        data = dict(data)
        data["layers"] = [LayerDescriptor(**layer) for layer in data.get("layers", [])]
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def dangling(self) -> bool:
        """No tag points at it (``<none>:<none>`` in ``docker images``)."""
        return not self.tags

    @property
    def top_chain_id(self) -> str | None:
        """The chain ID of the uppermost layer, or ``None`` for an image without layers."""
        return self.chain_ids[-1] if self.chain_ids else None


def familiar(reference: str) -> str:
    """Docker's short spelling of a normalised reference (``busybox:latest``)."""
    return parse_reference(reference, default_tag=False).familiar()


def parse_created(value: str | None) -> int:
    """Seconds since the epoch for an RFC 3339 time (nanoseconds allowed); 0 if absent."""
    if not value:
        return 0
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp())


def rfc3339(seconds: float) -> str:
    """``2026-12-01T10:00:00.123456789Z`` for a time in seconds since the epoch."""
    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def image_info(record: ImageRecord, config: dict[str, Any], *, containers: int = -1,
               shared_size: int = -1, graph_data: dict[str, str] | None = None) -> ImageInfo:
    """The typed view of one image record and its config blob.

    Args:
        record: the image.
        config: its config blob, parsed.
        containers: how many containers use it (``-1``: not counted).
        shared_size: bytes of its layers that other images use too (``-1``: not counted).
        graph_data: the overlay directories (see ``ImageStore.graph_data``), if wanted.
    """
    settings = config.get("config") or {}
    exposed = []
    for key in settings.get("ExposedPorts") or {}:
        port, _, proto = str(key).partition("/")
        if port.isdigit():
            exposed.append((int(port), proto or "tcp"))
    return ImageInfo(
        id=record.id, repo_tags=[familiar(t) for t in record.tags],
        repo_digests=[familiar(d) for d in record.repo_digests],
        created=float(parse_created(config.get("created"))), size=record.size,
        config=ImageConfig(cmd=settings.get("Cmd"), entrypoint=settings.get("Entrypoint"),
                           env=list(settings.get("Env") or []), workdir=settings.get("WorkingDir") or "",
                           user=settings.get("User") or "", exposed_ports=exposed,
                           volumes=list(settings.get("Volumes") or {}),
                           labels=dict(settings.get("Labels") or {}),
                           stop_signal=settings.get("StopSignal") or "",
                           shell=list(settings.get("Shell") or [])),
        architecture=config.get("architecture", ""), os=config.get("os", ""),
        variant=config.get("variant", ""), author=config.get("author", ""),
        comment=config.get("comment", ""), docker_version=config.get("docker_version", ""),
        diff_ids=list(record.diff_ids), containers=containers, shared_size=shared_size,
        graph_driver="overlay2", graph_data=dict(graph_data or {}),
        manifest_digest=record.manifest_digest)


def history_entries(record: ImageRecord, config: dict[str, Any],
                    layer_sizes: list[int]) -> list[HistoryEntry]:
    """The image's history, newest first; only the top entry carries the ID and tags.

    The entries below the top have an empty ``id`` (Docker prints ``<missing>``).
    A config without ``history`` gives one entry per layer.

    Args:
        record: the image.
        config: its config blob.
        layer_sizes: the size of each layer, base first (as ``record.chain_ids``).
    """
    history = config.get("history") or [{} for _ in record.diff_ids]
    entries = []
    layer_index = 0
    for item in history:
        empty = bool(item.get("empty_layer"))
        size = 0
        if not empty and layer_index < len(layer_sizes):
            size = layer_sizes[layer_index]
            layer_index += 1
        entries.append(HistoryEntry(id="", created=float(parse_created(item.get("created"))),
                                    created_by=item.get("created_by", ""), size=size,
                                    comment=item.get("comment", ""), empty_layer=empty))
    entries.reverse()
    if entries:
        entries[0].id = record.id
        entries[0].tags = [familiar(t) for t in record.tags]
    return entries
