"""``docker save`` / ``docker load`` / ``docker export``: images and filesystems as tar streams.

:func:`save` writes what Docker 25 and later write, both formats in one tar:
Docker's (``manifest.json`` with ``Config``, ``RepoTags``, ``Layers``;
``repositories``; one ``<v1-id>/`` folder per layer with ``layer.tar``, a
symlink to the blob, ``json`` and ``VERSION``) and an OCI layout (``oci-layout``,
``index.json``, ``blobs/sha256/…``: uncompressed layer tars, the config, an OCI
manifest naming them). :func:`load` reads Docker's format (preferred when
present) or an OCI layout, with plain, gzip or zstd layers, and with a gzip,
zstd, xz or bzip2 outer compression. Members are kept in a private spool by
number, never by their names, so no name in the archive can write anywhere;
every layer is unpacked by the layer store (which refuses hostile members)
and checked against its diff_id; OCI blobs against their digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import secrets
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import DigestMismatch, InvalidArgument, InvalidReference, LayerError
from engine.images.blobio import ChunkReader
from engine.images.commit import OCI_MANIFEST, build_manifest
from engine.images.content import ContentStore, digest_hex
from engine.images.decompress import Compression, DecompressedStream, sniff
from engine.images.difftar import tar_chunks
from engine.images.layers import LayerStore, chain_ids
from engine.images.layersource import layer_tar, rewrite_diff_ids
from engine.images.records import ImageRecord, LayerDescriptor, familiar
from engine.images.store import ImageStore
from engine.jobs import Component, Job
from engine.registry.manifest import INDEX_TYPES
from engine.registry.platforms import Platform, host_platform, select
from engine.registry.reference import parse_reference

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
_LAYER_TYPES = {Compression.NONE: OCI_LAYER_TAR,
                Compression.GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
                Compression.ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd"}
_MAX_LINK_DEPTH = 16
_MAX_METADATA = 16 * 1024 * 1024


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
                    descriptor = record.layers[index] if index < len(record.layers) else \
                        LayerDescriptor(diff_id, OCI_LAYER_TAR, 0, diff_id)
                    actual = yield from _save_layer(content, layers, descriptor, record.chain_ids[index],
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
                spool: Path, sizes: dict[str, int], job: Job | None) -> Iterator[bytes]:
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


# -- loading ---------------------------------------------------------------------------------
class _Spool:
    """The archive's members, each regular file kept under a number in a private folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Path] = {}
        self.links: dict[str, str] = {}

    def take(self, source: BinaryIO) -> None:
        with tarfile.open(fileobj=source, mode="r|") as archive:
            for member in archive:
                name = _clean(member.name)
                if name is None:
                    raise LayerError(f"image archive member {member.name!r} leaves the archive")
                if member.isfile():
                    path = self.folder / str(len(self.files))
                    with open(path, "wb") as out:
                        extracted = archive.extractfile(member)
                        assert extracted is not None
                        shutil.copyfileobj(extracted, out, 1 << 20)
                    self.files[name] = path
                elif member.issym():
                    self.links[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name),
                                                                         member.linkname))
                elif member.islnk():
                    self.links[name] = _clean(member.linkname) or ""

    def path(self, name: str) -> Path:
        """The spooled file an archive name (following its symlinks) refers to."""
        current = _clean(name)
        for _ in range(_MAX_LINK_DEPTH):
            if current is None:
                break
            if current in self.files:
                return self.files[current]
            if current not in self.links:
                break
            current = _clean(self.links[current])
        raise InvalidArgument(f"the image archive has no file {name!r}")

    def has(self, name: str) -> bool:
        try:
            self.path(name)
            return True
        except InvalidArgument:
            return False

    def json(self, name: str) -> Any:
        path = self.path(name)
        if path.stat().st_size > _MAX_METADATA:
            raise InvalidArgument(f"{name} in the image archive is too large")
        try:
            return json.loads(path.read_bytes())
        except ValueError as exc:
            raise InvalidArgument(f"{name} in the image archive is not JSON: {exc}") from None


def _clean(name: str) -> str | None:
    """An archive name without ``./``, leading ``/`` or trailing ``/``; ``None`` if it climbs out."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join(parts)


def load(images: ImageStore, content: ContentStore, layers: LayerStore, stream: BinaryIO, *,
         job: Job | None = None) -> list[str]:
    """Load every image of a Docker archive or an OCI layout tar.

    Returns:
        What was loaded, as ``docker load`` reports it: each tag (``busybox:latest``),
        or the image ID (``sha256:…``) of an image without one.

    Raises:
        InvalidArgument: neither format, or a malformed member.
        DigestMismatch: a layer does not match its diff_id, or an OCI blob its digest.
        UnsafeLayer, LayerError: a layer is refused.
    """
    folder = content.ingest_root / f"load-{os.getpid()}-{secrets.token_hex(6)}"
    folder.mkdir(parents=True)
    try:
        spool = _Spool(folder)
        outer = DecompressedStream(stream)
        try:
            spool.take(ChunkReader(outer.chunks()))
            outer.drain()
        except tarfile.TarError as exc:
            raise InvalidArgument(f"not an image archive: {exc}") from None
        finally:
            outer.close()
        loader = _Loader(images, content, layers, spool, job)
        if spool.has("manifest.json"):
            return loader.docker()
        if spool.has("index.json"):
            return loader.oci()
        raise InvalidArgument("not an image archive: it has neither manifest.json (Docker) "
                              "nor index.json (OCI layout)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Loader:
    def __init__(self, images: ImageStore, content: ContentStore, layers: LayerStore, spool: _Spool,
                 job: Job | None) -> None:
        self.images, self.content, self.layers, self.spool, self.job = images, content, layers, spool, job

    def docker(self) -> list[str]:
        entries = self.spool.json("manifest.json")
        if not isinstance(entries, list):
            raise InvalidArgument("manifest.json of the image archive is not a list")
        loaded: list[str] = []
        for entry in entries:
            config_raw = self.spool.path(str(entry.get("Config", ""))).read_bytes()
            paths = [str(p) for p in entry.get("Layers") or []]
            descriptors = self._layers(_diff_ids(config_raw, len(paths)), paths, None)
            config_digest = self.content.put(config_raw)
            manifest_raw = build_manifest(config_raw, config_digest, descriptors)
            manifest_digest = self.content.put(manifest_raw)
            record = self.images.add(config_digest, manifest_digest=manifest_digest,
                                     manifest_media_type=OCI_MANIFEST, layers=descriptors)
            loaded += self._tag(record, [str(t) for t in entry.get("RepoTags") or []])
        return loaded

    def oci(self) -> list[str]:
        index = self.spool.json("index.json")
        loaded: list[str] = []
        for entry in (index.get("manifests") if isinstance(index, dict) else None) or []:
            annotations = entry.get("annotations") or {}
            name = annotations.get("io.containerd.image.name") or ""
            ref_name = annotations.get("org.opencontainers.image.ref.name") or ""
            if not name and ("/" in ref_name or ":" in ref_name):
                name = ref_name
            record = self._oci_manifest(entry, host_platform(), 0)
            if record is not None:
                loaded += self._tag(record, [name] if name else [])
        if not loaded:
            raise InvalidArgument("the OCI layout holds no image for this platform")
        return loaded

    def _blob(self, descriptor: dict[str, Any]) -> bytes:
        digest = str(descriptor.get("digest", ""))
        path = self.spool.path(f"blobs/{digest.replace(':', '/')}")
        data = path.read_bytes()
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise DigestMismatch(f"blob {digest} of the OCI layout does not match its digest")
        return data

    def _oci_manifest(self, descriptor: dict[str, Any], want: Platform, depth: int) -> ImageRecord | None:
        raw = self._blob(descriptor)
        data = json.loads(raw)
        kind = data.get("mediaType") or descriptor.get("mediaType")
        if kind in INDEX_TYPES or "manifests" in data:
            if depth > 3:
                raise InvalidArgument("the OCI layout nests indexes too deeply")
            children = [(Platform.from_json(d["platform"]) if isinstance(d.get("platform"), dict) else None, d)
                        for d in data.get("manifests") or []]
            picked = select([c for c in children if c[0] is None or not c[0].is_unknown], want)
            return self._oci_manifest(picked, want, depth + 1) if isinstance(picked, dict) else None
        config_raw = self._blob(data.get("config") or {})
        descriptors = self._layers(_diff_ids(config_raw, len(data.get("layers") or [])),
                                   [f"blobs/{str(d.get('digest', '')).replace(':', '/')}"
                                    for d in data.get("layers") or []], data.get("layers") or [])
        config_digest = self.content.put(config_raw)
        manifest_digest = self.content.put(raw)
        return self.images.add(config_digest, manifest_digest=manifest_digest,
                               manifest_media_type=str(kind or OCI_MANIFEST), layers=descriptors)

    def _layers(self, diff_ids: list[str], paths: list[str],
                declared: list[dict[str, Any]] | None) -> list[LayerDescriptor]:
        """Store and unpack each layer (checking diff_ids, and digests when declared)."""
        result = []
        chains = chain_ids(diff_ids)
        for index, (diff_id, path_name) in enumerate(zip(diff_ids, paths)):
            path = self.spool.path(path_name)
            with open(path, "rb") as source:
                compression = sniff(source.read(8))
            with open(path, "rb") as source:
                blob = self.content.put_stream(source)
            with self.images.hold({blob.digest, *chains[:index + 1]}):
                if declared is not None and str(declared[index].get("digest")) != blob.digest:
                    raise DigestMismatch(f"layer {declared[index].get('digest')} of the OCI layout "
                                         f"hashes to {blob.digest}")
                parent = chains[index - 1] if index else None
                if self.job is not None:
                    self.job.progress(diff_id[7:19], "Loading layer", 0, blob.size, Component.GRAPH_DRIVER)
                with open(path, "rb") as source:
                    self.layers.apply(parent, diff_id, source, job=self.job)
            media_type = str(declared[index].get("mediaType")) if declared else \
                _LAYER_TYPES.get(compression, OCI_LAYER_TAR)
            result.append(LayerDescriptor(blob.digest, media_type, blob.size, diff_id))
        return result

    def _tag(self, record: ImageRecord, tags: list[str]) -> list[str]:
        names = []
        for tag in tags:
            record = self.images.tag(record.id, tag)
            names.append(familiar(parse_reference(tag).__str__()))
        if self.job is not None:
            self.job.step("image loaded", Component.GRAPH_DRIVER, record.id, tags=names)
        return names or [record.id]


def _diff_ids(config_raw: bytes, layer_count: int) -> list[str]:
    try:
        config = json.loads(config_raw)
        diff_ids = list(config["rootfs"]["diff_ids"])
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument("an image config in the archive has no rootfs.diff_ids") from None
    if len(diff_ids) != layer_count:
        raise InvalidArgument(f"an image config lists {len(diff_ids)} diff_ids but the archive "
                              f"{layer_count} layers")
    return diff_ids
