"""``docker commit``: a container's upper dir becomes a new layer on top of its image.

:func:`commit_layer` turns the upper dir into an OCI layer tar (see
:mod:`engine.images.difftar`). :func:`commit_image` stores that tar as a
gzip blob in the content store and unpacked in the layer store (by chain ID),
writes a new config (the base's, with the changes, one more diff_id and one
more history entry) and a new OCI manifest, records the image and tags it.
The caller pauses the container while its upper dir is read.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO, cast

from engine.errors import InvalidArgument, StorageError
from engine.images.blobio import ChunkReader, gzip_chunks
from engine.images.content import ContentStore
from engine.images.difftar import tar_chunks
from engine.images.layers import Layer, LayerStore
from engine.images.records import LayerDescriptor, rfc3339
from engine.images.store import ImageStore
from engine.jobs import Component, Job

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"

EMPTY_TAR_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
"""The diff_id of a tar with no entries (1024 zero bytes), as Docker writes it."""

DOCKER_TO_OCI_LAYER = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": OCI_LAYER_GZIP,
    "application/vnd.docker.image.rootfs.diff.tar": OCI_LAYER_TAR,
    "application/vnd.docker.image.rootfs.diff.tar.zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
"""Docker layer media types and their OCI twins (same bytes)."""

CHANGEABLE = ("Cmd", "Entrypoint", "Env", "WorkingDir", "ExposedPorts", "Labels", "User",
              "Volumes", "StopSignal")
"""Config keys ``changes`` may set (``docker commit --change``)."""


def commit_layer(upper_dir: str | os.PathLike[str]) -> ChunkReader:
    """The upper dir as an OCI layer tar stream (whiteouts and opaque folders converted).

    Raises:
        StorageError: the folder cannot be read or uses redirect_dir/metacopy.
    """
    return ChunkReader(tar_chunks(upper_dir, overlay=True))


def store_layer_tar(content: ContentStore, layers: LayerStore, parent: str | None,
                    tar: ChunkReader | Any, *, job: Job | None = None) -> tuple[Layer, LayerDescriptor, int]:
    """Store a layer tar: unpacked by chain ID and as a gzip blob.

    The tar goes to a temporary file (hashing its diff_id on the way), is
    unpacked from there (the layer store checks it as it would a pulled one),
    then compressed into the content store.

    Returns:
        ``(layer, descriptor of the gzip blob, tar size)``.
    """
    tmp = content.ingest_root / f"commit-{os.getpid()}-{secrets.token_hex(6)}.tar"
    hasher = hashlib.sha256()
    size = 0
    try:
        try:
            with open(tmp, "wb") as out:
                while chunk := tar.read(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise StorageError(f"cannot write the layer tar: {exc.strerror or exc}") from exc
        diff_id = "sha256:" + hasher.hexdigest()
        with open(tmp, "rb") as source:
            layer = layers.apply(parent, diff_id, source, job=job)
        with open(tmp, "rb") as source:
            blob = content.put_stream(cast(BinaryIO, ChunkReader(gzip_chunks(source))))
    finally:
        tmp.unlink(missing_ok=True)
    if job is not None:
        job.step("layer stored", Component.GRAPH_DRIVER, diff_id, chain_id=layer.chain_id,
                 blob=blob.digest, compressed=blob.size, tar_size=size)
    return layer, LayerDescriptor(blob.digest, OCI_LAYER_GZIP, blob.size, diff_id), size


def apply_changes(config: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config`` section with ``changes`` applied (Env, Labels, ExposedPorts merge by key).

    Raises:
        InvalidArgument: an unknown key.
    """
    result = copy.deepcopy(config)
    for key, value in changes.items():
        if key not in CHANGEABLE:
            raise InvalidArgument(f"commit: cannot change {key!r}; allowed: {', '.join(CHANGEABLE)}")
        if key == "Env":
            env = {item.partition("=")[0]: item for item in result.get("Env") or []}
            for item in value or []:
                env[item.partition("=")[0]] = item
            result["Env"] = list(env.values())
        elif key in ("Labels", "ExposedPorts", "Volumes"):
            merged = dict(result.get(key) or {})
            merged.update(value or {})
            result[key] = merged
        else:
            result[key] = value
    return result


def oci_layer_type(media_type: str) -> str:
    """The OCI spelling of a layer media type (Docker's become OCI's)."""
    return DOCKER_TO_OCI_LAYER.get(media_type, media_type)


def build_manifest(config_raw: bytes, config_digest: str, layers: list[LayerDescriptor]) -> bytes:
    """An OCI image manifest for the config and layers (compact JSON)."""
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_raw)},
                "layers": [{"mediaType": oci_layer_type(layer.media_type), "digest": layer.digest,
                            "size": layer.size} for layer in layers]}
    return json.dumps(manifest, separators=(",", ":")).encode()


def commit_image(images: ImageStore, content: ContentStore, layers: LayerStore, base_image_id: str,
                 upper_dir: str | os.PathLike[str], *, reference: str | None = None, author: str = "",
                 comment: str = "", changes: Mapping[str, Any] | None = None, created_by: str = "",
                 job: Job | None = None) -> str:
    """Make an image of ``base_image_id`` plus the changes in ``upper_dir``.

    Args:
        images: the image store.
        content: its content store.
        layers: its layer store.
        base_image_id: the container's image (ID or reference).
        upper_dir: the container's overlay upper dir (the container paused).
        reference: ``repo[:tag]`` to tag the new image with (``None``: dangling).
        author: ``docker commit --author``.
        comment: ``docker commit --message``.
        changes: config keys to set (``Cmd``, ``Entrypoint``, ``Env``, ``WorkingDir``,
            ``ExposedPorts``, ``Labels``, ``User``, ``Volumes``, ``StopSignal``).
        created_by: the history's ``created_by`` (Docker puts the container's command).
        job: where the steps go.

    Returns:
        The new image ID (``sha256:`` of the new config).

    Raises:
        ImageNotFound: no such base image.
        InvalidArgument: a bad change, or a base image whose layers are not known.
        StorageError, LayerError: the upper dir or the stores failed.
    """
    base = images.resolve(base_image_id)
    config = images.config(base.id)
    if len(base.layers) != len(base.diff_ids):
        raise InvalidArgument(f"cannot commit on {base.id}: its layer blobs are not recorded")
    if not Path(upper_dir).is_dir():
        raise InvalidArgument(f"commit: {upper_dir} is not a folder")
    parent = base.top_chain_id
    with images.hold(set(base.chain_ids)):
        if job is not None:
            job.step("commit layer", Component.GRAPH_DRIVER, str(upper_dir), base=base.id)
        tar = commit_layer(upper_dir)
        try:
            layer, descriptor, _size = store_layer_tar(content, layers, parent, tar, job=job)
        finally:
            tar.close()
        empty = descriptor.diff_id == EMPTY_TAR_DIFF_ID
        held = {layer.chain_id, descriptor.digest}
        with images.hold(held):
            now = rfc3339(time.time())
            new_config = copy.deepcopy(config)
            new_config["created"] = now
            if author:
                new_config["author"] = author
            if comment:
                new_config["comment"] = comment  # docker inspect's Comment: this image's, never the base's
            else:
                new_config.pop("comment", None)
            new_config["config"] = apply_changes(config.get("config") or {}, changes or {})
            entry: dict[str, Any] = {"created": now, "created_by": created_by}
            if author:
                entry["author"] = author
            if comment:
                entry["comment"] = comment
            layer_list = list(base.layers)
            if empty:
                entry["empty_layer"] = True
            else:
                new_config["rootfs"] = {"type": "layers",
                                        "diff_ids": [*base.diff_ids, descriptor.diff_id]}
                layer_list.append(descriptor)
            new_config["history"] = [*(config.get("history") or []), entry]
            config_raw = json.dumps(new_config, separators=(",", ":")).encode()
            config_digest = content.put(config_raw)
            manifest_raw = build_manifest(config_raw, config_digest, layer_list)
            manifest_digest = content.put(manifest_raw)
            record = images.add(config_digest, manifest_digest=manifest_digest,
                                manifest_media_type=OCI_MANIFEST,
                                layers=[LayerDescriptor(d.digest, oci_layer_type(d.media_type), d.size,
                                                        d.diff_id) for d in layer_list])
            if reference:
                record = images.tag(record.id, reference)
    if job is not None:
        job.step("image committed", Component.GRAPH_DRIVER, record.id, manifest=manifest_digest,
                 layer=descriptor.diff_id, empty_layer=empty, tag=reference or "")
    return record.id
