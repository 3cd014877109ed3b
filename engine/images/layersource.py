"""Where a layer's bytes come from when they leave the engine (push, save).

In order of preference: the blob as pulled (compressed, in the content
store); the stored uncompressed tar (loaded images), gzip-compressed now,
which keeps its diff_id; and, when no blob is left (garbage-collected,
deleted), the unpacked layer written back as a tar (:mod:`engine.images.difftar`),
gzip-compressed. A tar written back has the original diff_id only when the
original was written the same way (Wharf's own commits); otherwise the
caller must rewrite the config's diff_ids (:func:`rewrite_diff_ids`).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from engine.images.blobio import ChunkReader, gzip_chunks
from engine.images.content import ContentStore
from engine.images.decompress import DecompressedStream
from engine.images.difftar import tar_chunks
from engine.images.layers import LayerStore
from engine.images.records import LayerDescriptor
from engine.jobs import Component, Job

GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_GZIP_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
UNCOMPRESSED_LAYERS = frozenset({
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.docker.image.rootfs.diff.tar",
})


def is_uncompressed(media_type: str) -> bool:
    """Whether a layer media type is a plain tar."""
    return media_type in UNCOMPRESSED_LAYERS


def pushable_layer(content: ContentStore, layers: LayerStore, descriptor: LayerDescriptor,
                   chain_id: str, *, job: Job | None = None) -> LayerDescriptor:
    """A compressed blob for the layer, in the content store; its descriptor.

    Returns the descriptor unchanged when the compressed blob is there;
    otherwise a new gzip blob (from the stored tar, or from the unpacked layer).

    Raises:
        NotFound: neither the blob nor the unpacked layer exists.
    """
    if content.has(descriptor.digest) and not is_uncompressed(descriptor.media_type):
        return descriptor
    if content.has(descriptor.digest):
        with content.open(descriptor.digest) as source:
            blob = content.put_stream(cast(BinaryIO, ChunkReader(gzip_chunks(source))))
        if job is not None:
            job.step("layer compressed", Component.GRAPH_DRIVER, descriptor.diff_id,
                     tar=descriptor.digest, gzip=blob.digest, size=blob.size)
        return LayerDescriptor(blob.digest, GZIP_LAYER, blob.size, descriptor.diff_id)
    layer = layers.get(chain_id)
    hasher = hashlib.sha256()

    def hashed() -> Iterator[bytes]:
        for chunk in tar_chunks(layer.diff, overlay=True):
            hasher.update(chunk)
            yield chunk

    blob = content.put_stream(cast(BinaryIO, ChunkReader(gzip_chunks(hashed()))))
    diff_id = "sha256:" + hasher.hexdigest()
    if job is not None:
        job.step("layer re-created", Component.GRAPH_DRIVER, descriptor.diff_id,
                 reason=f"blob {descriptor.digest} is no longer in the content store",
                 source=str(layer.diff), gzip=blob.digest, diff_id=diff_id,
                 same_diff_id=diff_id == descriptor.diff_id)
    return LayerDescriptor(blob.digest, GZIP_LAYER, blob.size, diff_id)


def layer_tar(content: ContentStore, layers: LayerStore, descriptor: LayerDescriptor,
              chain_id: str) -> tuple[Iterator[bytes], DecompressedStream | None]:
    """The layer's uncompressed tar as chunks, and the decompressor (for its diff_id) if any.

    From the blob when it is stored (its diff_id is the recorded one), else
    written back from the unpacked layer.
    """
    if content.has(descriptor.digest):
        source = content.open(descriptor.digest)
        stream = DecompressedStream(source)

        def chunks() -> Iterator[bytes]:
            try:
                yield from stream.chunks()
            finally:
                stream.close()
                source.close()

        return chunks(), stream
    return tar_chunks(layers.get(chain_id).diff, overlay=True), None


def rewrite_diff_ids(config: dict[str, Any], diff_ids: list[str]) -> dict[str, Any]:
    """A copy of the config with ``rootfs.diff_ids`` replaced."""
    result = copy.deepcopy(config)
    result["rootfs"] = {**(result.get("rootfs") or {}), "type": "layers", "diff_ids": list(diff_ids)}
    return result
