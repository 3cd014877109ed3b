"""``docker save`` / ``docker load`` / ``docker export``: images and filesystems as tar streams.

:func:`save` writes what Docker 25 and later write, both formats in one tar:
Docker's (``manifest.json`` with ``Config``, ``RepoTags``, ``Layers``;
``repositories``; one ``<v1-id>/`` folder per layer with ``layer.tar``, a
symlink to the blob, ``json`` and ``VERSION``) and an OCI layout (``oci-layout``,
``index.json``, ``blobs/sha256/…``: uncompressed layer tars, the config, an OCI
manifest naming them). :func:`load` reads Docker's format (preferred when
present) or an OCI layout, with plain, gzip or zstd layers, and with a gzip,
zstd, xz or bzip2 outer compression; it lives in :mod:`engine.images.archiveload`
and is re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tarfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from engine.errors import InvalidReference
from engine.images.blobio import ChunkReader
from engine.images.commit import OCI_MANIFEST, build_manifest
from engine.images.content import ContentStore, digest_hex
from engine.images.difftar import tar_chunks
from engine.images.layers import LayerStore
from engine.images.layersource import layer_tar, rewrite_diff_ids
from engine.images.records import ImageRecord, LayerDescriptor, familiar
from engine.images.store import ImageStore
from engine.jobs import Component, Job
from engine.registry.reference import parse_reference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


# -- tar writing -----------------------------------------------------------------------------
def _entry(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.linkname = kind, size, linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else (0o777 if kind == tarfile.SYMTYPE else 0o644)
    info.mtime = 0
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _file(name: str, data: bytes) -> Iterator[bytes]:
    yield _entry(name, len(data))
    yield data
    if len(data) % 512:
        yield bytes(512 - len(data) % 512)


def _names(images: ImageStore, names: list[str]) -> list[tuple[ImageRecord, list[str]]]:
    """Each asked image with the tags to write for it (none when asked by ID)."""
    chosen: dict[str, tuple[ImageRecord, list[str]]] = {}
    for name in names:
        record = images.resolve(name)
        record_tags = chosen.setdefault(record.id, (record, []))[1]
        try:
            ref = parse_reference(name)
        except InvalidReference:
            continue
        tag = f"{ref.name}:{ref.tag}" if ref.tag else None
        if tag and tag in record.tags and tag not in record_tags:
            record_tags.append(tag)
    return list(chosen.values())


def save(images: ImageStore, content: ContentStore, layers: LayerStore, names: list[str], *,
         job: Job | None = None) -> ChunkReader:
    """The named images as one tar stream in Docker's archive format plus an OCI layout.

    Raises:
        ImageNotFound: a name is not a local image (raised before any byte is produced).
    """
    chosen = _names(images, names)
    spool = content.ingest_root / f"save-{os.getpid()}-{secrets.token_hex(6)}"
    return ChunkReader(_save_chunks(images, content, layers, chosen, spool, job),
                       on_close=lambda: shutil.rmtree(spool, ignore_errors=True))


def _save_chunks(images: ImageStore, content: ContentStore, layers: LayerStore,
                 chosen: list[tuple[ImageRecord, list[str]]], spool: Path, job: Job | None) -> Iterator[bytes]:
    spool.mkdir(parents=True)
    sizes: dict[str, int] = {}
    manifest_json: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    index_entries: list[dict[str, Any]] = []
    v1_written: set[str] = set()
    yield _entry("blobs/", kind=tarfile.DIRTYPE)
    yield _entry("blobs/sha256/", kind=tarfile.DIRTYPE)
    try:
        for record, tags in chosen:
            hold = set(record.chain_ids) | {layer.digest for layer in record.layers}
            with images.hold(hold):
                diff_ids: list[str] = []
                for index, diff_id in enumerate(record.diff_ids):
                    layer = record.layers[index] if index < len(record.layers) else \
                        LayerDescriptor(diff_id, OCI_LAYER_TAR, 0, diff_id)
                    actual = yield from _save_layer(content, layers, layer, record.chain_ids[index],
                                                    spool, sizes, job)
                    diff_ids.append(actual)
                config_raw = content.read(record.config_digest)
                if diff_ids != record.diff_ids:
                    config_raw = json.dumps(rewrite_diff_ids(json.loads(config_raw), diff_ids),
                                            separators=(",", ":")).encode()
                    if job is not None:
                        job.step("config rewritten", Component.GRAPH_DRIVER, record.id,
                                 reason="a layer written back from its files hashes differently")
            config_digest = "sha256:" + hashlib.sha256(config_raw).hexdigest()
            yield from _file(f"blobs/sha256/{digest_hex(config_digest)}", config_raw)
            oci_layers = [LayerDescriptor(d, OCI_LAYER_TAR, sizes[d], d) for d in diff_ids]
            manifest_raw = build_manifest(config_raw, config_digest, oci_layers)
            manifest_digest = "sha256:" + hashlib.sha256(manifest_raw).hexdigest()
            yield from _file(f"blobs/sha256/{digest_hex(manifest_digest)}", manifest_raw)
            v1_ids = _v1_ids(diff_ids, config_digest)
            for position, (v1_id, diff_id) in enumerate(zip(v1_ids, diff_ids)):
                if v1_id in v1_written:
                    continue
                v1_written.add(v1_id)
                v1 = {"id": v1_id, "created": "1970-01-01T00:00:00Z", "container_config": {}}
                if position:
                    v1["parent"] = v1_ids[position - 1]
                yield _entry(f"{v1_id}/", kind=tarfile.DIRTYPE)
                yield from _file(f"{v1_id}/VERSION", b"1.0")
                yield from _file(f"{v1_id}/json", json.dumps(v1, separators=(",", ":")).encode())
                yield _entry(f"{v1_id}/layer.tar", kind=tarfile.SYMTYPE,
                             linkname=f"../blobs/sha256/{digest_hex(diff_id)}")
            familiar_tags = [familiar(t) for t in tags]
            manifest_json.append({"Config": f"blobs/sha256/{digest_hex(config_digest)}",
                                  "RepoTags": familiar_tags or None,
                                  "Layers": [f"blobs/sha256/{digest_hex(d)}" for d in diff_ids]})
            descriptor = {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": len(manifest_raw)}
            for tag, short in zip(tags, familiar_tags):
                repo, _, name_tag = short.rpartition(":")
                if v1_ids:
                    repositories.setdefault(repo, {})[name_tag] = v1_ids[-1]
                index_entries.append({**descriptor, "annotations": {
                    "io.containerd.image.name": tag, "org.opencontainers.image.ref.name": name_tag}})
            if not tags:
                index_entries.append(descriptor)
        yield from _file("index.json", json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                   "manifests": index_entries}).encode())
        yield from _file("manifest.json", json.dumps(manifest_json).encode())
        yield from _file("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        if repositories:
            yield from _file("repositories", json.dumps(repositories).encode())
        yield bytes(1024)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _save_layer(content: ContentStore, layers: LayerStore, descriptor: LayerDescriptor, chain_id: str,
                spool: Path, sizes: dict[str, int], job: Job | None) -> Generator[bytes, None, str]:
    """Write one layer's tar as a blob (once per diff_id); returns the diff_id written."""
    if descriptor.diff_id in sizes:
        return descriptor.diff_id
    chunks, _stream = layer_tar(content, layers, descriptor, chain_id)
    path = spool / secrets.token_hex(8)
    hasher = hashlib.sha256()
    size = 0
    with open(path, "wb") as out:
        for chunk in chunks:
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
    diff_id = "sha256:" + hasher.hexdigest()
    if diff_id in sizes:
        path.unlink()
        return diff_id
    sizes[diff_id] = size
    if job is not None:
        job.step("layer saved", Component.GRAPH_DRIVER, diff_id, size=size)
    yield _entry(f"blobs/sha256/{digest_hex(diff_id)}", size)
    with open(path, "rb") as source:
        while piece := source.read(1 << 20):
            yield piece
    path.unlink()
    if size % 512:
        yield bytes(512 - size % 512)
    return diff_id


def _v1_ids(diff_ids: list[str], config_digest: str) -> list[str]:
    """Docker's legacy per-layer folder names: a chain over the diff_ids, the top one per image."""
    ids, parent = [], ""
    for position, diff_id in enumerate(diff_ids):
        top = f" {config_digest}" if position == len(diff_ids) - 1 else ""
        parent = hashlib.sha256(f"{parent} {diff_id}{top}".encode()).hexdigest()
        ids.append(parent)
    return ids


def export_container(rootfs_dir: str | os.PathLike[str]) -> ChunkReader:
    """A container's filesystem (its mounted root) as a tar stream (``docker export``).

    Other mounts under the root (``/proc``, volumes) are not descended into.
    """
    return ChunkReader(tar_chunks(rootfs_dir, overlay=False, one_filesystem=True))


from engine.images.archiveload import load  # noqa: E402  - the other half, re-exported

__all__ = ["export_container", "load", "save"]
