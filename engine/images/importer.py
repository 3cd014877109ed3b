"""``docker import``: a root filesystem tarball becomes a one-layer image.

The tarball (plain, gzip or zstd) is stored as the layer blob, unpacked into
the layer store (its diff_id found on the way), and given a fresh config
and OCI manifest, both stored in the content store.
"""

from __future__ import annotations

import json
import platform as host_platform
import time
from typing import Any, BinaryIO

from engine.images.decompress import Compression, sniff
from engine.images.records import ImageRecord, LayerDescriptor, rfc3339
from engine.images.store import ImageStore
from engine.jobs import Component, Job

_LAYER_TYPES = {
    Compression.NONE: "application/vnd.oci.image.layer.v1.tar",
    Compression.GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
    Compression.ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
}
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"


def host_architecture() -> str:
    """The host's architecture in OCI spelling (``amd64``, ``arm64``, …)."""
    machine = host_platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(
        machine, machine)


def import_tarball(store: ImageStore, source: BinaryIO, *, reference: str | None = None,
                   message: str = "", config: dict[str, Any] | None = None,
                   source_name: str = "-", job: Job | None = None) -> ImageRecord:
    """Import ``source`` as a one-layer image.

    Args:
        store: the image store (its content and layer stores receive the data).
        source: the tarball stream.
        reference: ``repo[:tag]`` to tag the image with.
        message: the history comment (``docker import -m``).
        config: the image's ``config`` section (``Cmd``, ``Env``, … from ``--change``).
        source_name: what the history says it was imported from.
        job: where to publish steps.

    Raises:
        UnsafeLayer, LayerError: the tarball is refused.
    """
    blob = store.content.put_stream(source)
    with store.hold({blob.digest}):
        with store.content.open(blob.digest) as head_reader:
            compression = sniff(head_reader.read(8))
        if job is not None:
            job.step("import layer", Component.GRAPH_DRIVER, subject=blob.digest,
                     size=blob.size, compression=compression.value)
        with store.content.open(blob.digest) as stream:
            layer = store.layers.create(None, stream, job=job)
        with store.hold({layer.chain_id}):
            now = rfc3339(time.time())
            image_config = {
                "architecture": host_architecture(), "os": "linux", "created": now,
                "config": config or {},
                "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
                "history": [{"created": now, "created_by": "",
                             "comment": message or f"Imported from {source_name}"}],
            }
            config_raw = json.dumps(image_config, separators=(",", ":")).encode()
            config_digest = store.content.put(config_raw)
            media_type = _LAYER_TYPES.get(compression, "application/vnd.oci.image.layer.v1.tar")
            manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest,
                                   "size": len(config_raw)},
                        "layers": [{"mediaType": media_type, "digest": blob.digest,
                                    "size": blob.size}]}
            manifest_digest = store.content.put(
                json.dumps(manifest, separators=(",", ":")).encode())
            record = store.add(config_digest, manifest_digest=manifest_digest,
                               manifest_media_type=MANIFEST_TYPE,
                               layers=[LayerDescriptor(blob.digest, media_type, blob.size,
                                                       layer.diff_id)])
            if reference:
                record = store.tag(record.id, reference)
            return record
