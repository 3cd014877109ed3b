"""``docker load``: Docker archives and OCI layout tars into the stores, checked on the way.

Docker's format (``manifest.json``) is preferred when present, else an OCI
layout (``index.json``); layers may be plain, gzip or zstd tars, and the
whole archive gzip, zstd, xz or bzip2. Members are spooled by number, never
by their names, so no name in the archive can write anywhere; every layer is
unpacked by the layer store (which refuses hostile members) and checked
against its diff_id, OCI blobs against their digests.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import secrets
import shutil
import tarfile
from pathlib import Path
from typing import Any, BinaryIO, cast

from engine.errors import DigestMismatch, InvalidArgument, LayerError
from engine.images.blobio import ChunkReader
from engine.images.commit import OCI_MANIFEST, build_manifest
from engine.images.content import ContentStore
from engine.images.decompress import Compression, DecompressedStream, sniff
from engine.images.layers import LayerStore, chain_ids
from engine.images.records import ImageRecord, LayerDescriptor, familiar
from engine.images.store import ImageStore
from engine.jobs import Component, Job
from engine.registry.manifest import INDEX_TYPES
from engine.registry.platforms import Platform, host_platform, select
from engine.registry.reference import parse_reference

OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
_LAYER_TYPES = {Compression.NONE: OCI_LAYER_TAR,
                Compression.GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
                Compression.ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd"}
_MAX_LINK_DEPTH = 16
_MAX_METADATA = 16 * 1024 * 1024


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
            spool.take(cast(BinaryIO, ChunkReader(outer.chunks())))
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
