"""A push, as a Job: image record → layers, config, manifest → registry.

For each layer (five at a time, as dockerd): the registry already has it
(``HEAD``) → ``Layer already exists``; another repository of the same
registry has it, as the image records say (their repo digests) → a
cross-repository mount, ``Mounted from <repo>``; else an upload with
``Preparing``, ``Waiting``, ``Pushing`` (current/total) and ``Pushed``. A
layer whose compressed blob is gone is compressed again from the stored tar
or the unpacked layer (:mod:`engine.images.layersource`); the manifest then
names the new blob, and the config the new diff_id if the tar came out
different. Then the config, then the manifest by tag with its exact media
type; the digest the registry announces must be ours. The last progress line
is Docker's ``<tag>: digest: sha256:… size: N``.

An image pulled from an index is pushed as its one platform manifest, and
the job says so; ``all_platforms`` pushes the whole index when every
platform's content is here (attestations that are not are left out of it),
and otherwise fails naming the missing platforms (podman's ``--all-platforms``).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from engine.errors import DigestMismatch, InvalidArgument, NotFound
from engine.images.commit import oci_layer_type
from engine.images.content import ContentStore
from engine.images.layersource import DOCKER_GZIP_LAYER, pushable_layer, rewrite_diff_ids
from engine.images.records import ImageRecord, LayerDescriptor
from engine.images.store import ImageStore
from engine.jobs import Component, Job
from engine.registry.client import RegistryClient
from engine.registry.manifest import DOCKER_CONFIG, DOCKER_MANIFEST, INDEX_TYPES, OCI_CONFIG, OCI_MANIFEST
from engine.registry.reference import Digest, Reference, parse_reference

MAX_CONCURRENT_UPLOADS = 5
"""Layers pushed at once (dockerd's max-concurrent-uploads)."""

MAX_MOUNT_SOURCES = 3
"""Repositories tried for a cross-repository mount of one blob (as dockerd)."""


@dataclass(frozen=True)
class PushResult:
    """What a push did.

    Attributes:
        reference: the normalised reference pushed (with its tag).
        digest: the manifest (or index) digest the tag now points at.
        size: its length in bytes.
        media_type: its media type.
        platforms: the platforms pushed (``["linux/amd64"]``; empty when unknown).
        pushed: layers uploaded.
        mounted: layers mounted from another repository.
        existing: layers the repository already had.
        bytes: layer bytes uploaded.
        rewritten: whether the manifest differs from the one recorded (blobs re-created).
    """

    reference: Reference
    digest: str
    size: int
    media_type: str
    platforms: list[str] = field(default_factory=list)
    pushed: int = 0
    mounted: int = 0
    existing: int = 0
    bytes: int = 0
    rewritten: bool = False

    @property
    def tag(self) -> str:
        """The tag pushed."""
        return self.reference.tag or "latest"

    @property
    def status_line(self) -> str:
        """Docker's last line: ``<tag>: digest: sha256:… size: N``."""
        return f"{self.tag}: digest: {self.digest} size: {self.size}"


class _Progress:
    """Counts a file's reads and reports them as ``Pushing`` progress."""

    def __init__(self, source: Any, job: Job, short: str, total: int) -> None:
        self.source, self.job, self.short, self.total = source, job, short, total
        self.sent = 0
        self._last = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sent += len(data)
        if self.sent - self._last >= 512 * 1024 or (data and self.sent >= self.total):
            self._last = self.sent
            self.job.progress(self.short, "Pushing", self.sent, self.total, Component.REGISTRY)
        return data


class Pusher:
    """Pushes images from a state root's stores.

    Args:
        registry: the distribution client (its credentials are used; it never
            sends them to another host).
        content: the content store.
        images: the image store (its layer store re-creates missing blobs).
        max_concurrent_uploads: layers in flight at once.
    """

    def __init__(self, registry: RegistryClient, content: ContentStore, images: ImageStore, *,
                 max_concurrent_uploads: int = MAX_CONCURRENT_UPLOADS) -> None:
        self.registry = registry
        self.content = content
        self.images = images
        self.max_concurrent_uploads = max_concurrent_uploads

    def push(self, reference: Reference | str, job: Job, *, all_platforms: bool = False) -> PushResult:
        """Push the local image ``reference`` (``repo[:tag]``) to its registry.

        Raises:
            ImageNotFound: no such local image.
            InvalidArgument: a digest reference, or ``all_platforms`` without every
                platform's content.
            Unauthorized, RegistryUnavailable, RegistryError, DigestMismatch: from the registry.
        """
        ref = parse_reference(reference) if isinstance(reference, str) else reference
        if ref.digest is not None:
            raise InvalidArgument(f"cannot push a digest reference ({ref}): push a tag")
        ref = ref if ref.tag else ref.with_tag("latest")
        record = self.images.resolve(f"{ref.name}:{ref.tag}")
        job.progress("", f"The push refers to repository [{ref.name}]", component=Component.REGISTRY)
        index = self._pulled_index(record)
        with self.images.hold(set(record.chain_ids) | {layer.digest for layer in record.layers}):
            if index is not None and all_platforms:
                return self._push_index(ref, record, index, job)
            if index is not None:
                platform = index[2] or "its one platform"
                job.progress("", f"Pushing only {platform}: the image was pulled from the index "
                             f"{index[0]}, whose other platforms are not here (use all platforms "
                             "to push the index when they are)", component=Component.REGISTRY)
            result = self._push_image(ref, record, job, tag=ref.tag or "latest")
        job.progress("", result.status_line, component=Component.REGISTRY)
        job.step("pushed", Component.REGISTRY, str(ref), digest=result.digest, size=result.size,
                 media_type=result.media_type, pushed=result.pushed, mounted=result.mounted,
                 existing=result.existing, bytes=result.bytes)
        return result

    # -- one image manifest ----------------------------------------------------------------
    def _push_image(self, ref: Reference, record: ImageRecord, job: Job, *, tag: str | None,
                    record_it: bool = True) -> PushResult:
        repo = ref.repository()
        config_raw = self.content.read(record.config_digest)
        config = json.loads(config_raw)
        if len(record.layers) != len(record.diff_ids):
            raise NotFound(f"{ref}: the image's layer blobs are not recorded; it cannot be pushed")
        counters = {"pushed": 0, "mounted": 0, "existing": 0, "bytes": 0}
        lock = threading.Lock()
        shorts = [d[7:19] for d in record.diff_ids]
        for short in shorts:
            job.progress(short, "Preparing", component=Component.REGISTRY)
        for short in shorts[self.max_concurrent_uploads:]:
            job.progress(short, "Waiting", component=Component.REGISTRY)

        def one(index: int) -> LayerDescriptor:
            outcome, descriptor, sent = self._layer(repo, record, index, shorts[index], job)
            with lock:
                counters[outcome] += 1
                counters["bytes"] += sent
            return descriptor

        with ThreadPoolExecutor(max_workers=self.max_concurrent_uploads,
                                thread_name_prefix="push-layer") as pool:
            new_layers = list(pool.map(one, range(len(record.layers))))
        diff_ids = [d.diff_id for d in new_layers]
        if diff_ids != record.diff_ids:
            config_raw = json.dumps(rewrite_diff_ids(config, diff_ids), separators=(",", ":")).encode()
            job.step("config rewritten", Component.GRAPH_DRIVER, record.id,
                     reason="a layer re-created from its unpacked files hashes differently")
        config_digest = self.content.put(config_raw)
        self.registry.push_blob(repo, config_digest, config_raw, len(config_raw), job=job)
        unchanged = new_layers == record.layers and config_digest == record.config_digest
        if unchanged and record.manifest_digest and self.content.has(record.manifest_digest):
            raw, media_type = self.content.read(record.manifest_digest), record.manifest_media_type
        else:
            media_type = record.manifest_media_type if record.manifest_media_type in (
                OCI_MANIFEST, DOCKER_MANIFEST) else OCI_MANIFEST
            raw = _manifest(media_type, config_raw, config_digest, new_layers)
        target = repo.with_tag(tag) if tag else repo.with_digest(Digest.of(raw))
        digest = self.registry.put_manifest(target, raw, media_type, job=job)
        if str(digest) != str(Digest.of(raw)):
            raise DigestMismatch(f"{target}: the registry stored {digest}, we pushed {Digest.of(raw)}")
        self.content.put(raw, str(digest))
        if record_it and config_digest == record.config_digest:
            self.images.add(record.config_digest, manifest_digest=str(digest), manifest_media_type=media_type,
                            layers=new_layers, reference=Reference(repo.domain, repo.path, None, digest))
        platform = "/".join(p for p in (config.get("os"), config.get("architecture"), config.get("variant")) if p)
        return PushResult(target if tag else repo.with_tag("latest"), str(digest), len(raw), media_type,
                          [platform] if platform else [], counters["pushed"], counters["mounted"],
                          counters["existing"], counters["bytes"], not unchanged)

    def _layer(self, repo: Reference, record: ImageRecord, index: int, short: str,
               job: Job) -> tuple[str, LayerDescriptor, int]:
        """Make one layer present in ``repo``: ``(outcome, descriptor, bytes sent)``."""
        descriptor = record.layers[index]
        if self.registry.blob_exists(repo, descriptor.digest) is not None:
            job.progress(short, "Layer already exists", component=Component.REGISTRY)
            return "existing", descriptor, 0
        for source in self._mount_sources(repo, descriptor.digest):
            if self.registry.mount_blob(repo, descriptor.digest, source):
                job.progress(short, f"Mounted from {source.path}", component=Component.REGISTRY)
                job.step("blob mounted", Component.REGISTRY, descriptor.digest, repository=repo.name,
                         source=source.name)
                return "mounted", descriptor, 0
        blob = pushable_layer(self.content, self.images.layers, descriptor, record.chain_ids[index], job=job)
        if blob.digest != descriptor.digest and self.registry.blob_exists(repo, blob.digest) is not None:
            job.progress(short, "Layer already exists", component=Component.REGISTRY)
            return "existing", blob, 0
        job.progress(short, "Pushing", 0, blob.size, Component.REGISTRY)
        with self.content.open(blob.digest) as data:
            reader = _Progress(data, job, short, blob.size)
            self.registry.push_blob(repo, blob.digest, reader, blob.size, job=job)
        job.progress(short, "Pushed", blob.size, blob.size, Component.REGISTRY)
        return "pushed", blob, blob.size

    def _mount_sources(self, repo: Reference, digest: str) -> list[Reference]:
        """Other repositories of the same registry that an image record says hold ``digest``."""
        found: list[Reference] = []
        for record in self.images.list():
            if not any(layer.digest == digest for layer in record.layers):
                continue
            for name in [*record.repo_digests, *record.tags]:
                try:
                    other = parse_reference(name).repository()
                except Exception:  # noqa: BLE001 - a stored name that no longer parses
                    continue
                if other.domain == repo.domain and other.path != repo.path and other not in found:
                    found.append(other)
        return found[:MAX_MOUNT_SOURCES]

    # -- indexes ---------------------------------------------------------------------------
    def _pulled_index(self, record: ImageRecord) -> tuple[str, dict[str, Any], str] | None:
        """``(digest, index, platform)`` of a stored index the image was pulled from, if any."""
        for name in record.repo_digests:
            digest = name.rpartition("@")[2]
            if digest == record.manifest_digest or not self.content.has(digest):
                continue
            try:
                data = json.loads(self.content.read(digest))
            except ValueError:
                continue
            if not isinstance(data, dict) or (data.get("mediaType") not in INDEX_TYPES
                                              and "manifests" not in data):
                continue
            for entry in data.get("manifests") or []:
                if entry.get("digest") == record.manifest_digest:
                    plat = entry.get("platform") or {}
                    label = "/".join(p for p in (plat.get("os"), plat.get("architecture"),
                                                 plat.get("variant")) if p)
                    return digest, data, label
        return None

    def _push_index(self, ref: Reference, record: ImageRecord, index: tuple[str, dict[str, Any], str],
                    job: Job) -> PushResult:
        digest, data, _label = index
        by_manifest = {r.manifest_digest: r for r in self.images.list() if r.manifest_digest}
        kept, missing, dropped = [], [], []
        for entry in data.get("manifests") or []:
            plat = entry.get("platform") or {}
            label = "/".join(p for p in (plat.get("os"), plat.get("architecture"), plat.get("variant")) if p)
            attestation = (entry.get("annotations") or {}).get("vnd.docker.reference.type") == \
                "attestation-manifest" or label == "unknown/unknown"
            if entry.get("digest") in by_manifest:
                kept.append((entry, by_manifest[entry["digest"]], label))
            elif attestation:
                dropped.append(entry)
            else:
                missing.append(label or entry.get("digest", "?"))
        if missing:
            raise InvalidArgument(f"cannot push all platforms of {ref}: the index {digest} lists "
                                  f"{', '.join(missing)}, whose content is not here; pull each with "
                                  "its platform first, or push only the pulled one")
        result = None
        pushed = mounted = existing = sent = 0
        for _entry, child, label in kept:
            job.progress("", f"Pushing {label}", component=Component.REGISTRY)
            result = self._push_image(ref, child, job, tag=None, record_it=False)
            if result.rewritten:
                raise InvalidArgument(f"cannot push the index of {ref} unchanged: the layers of {label} "
                                      "had to be re-created")
            pushed, mounted = pushed + result.pushed, mounted + result.mounted
            existing, sent = existing + result.existing, sent + result.bytes
        raw = self.content.read(digest)
        media_type = str(data.get("mediaType") or "application/vnd.oci.image.index.v1+json")
        if dropped:
            data = {**data, "manifests": [e for e in data["manifests"] if e not in dropped]}
            raw = json.dumps(data, separators=(",", ":")).encode()
            job.progress("", f"Leaving {len(dropped)} attestation manifest(s) out of the index: "
                         "their content was not pulled", component=Component.REGISTRY)
        target = ref.repository().with_tag(ref.tag or "latest")
        pushed_digest = self.registry.put_manifest(target, raw, media_type, job=job)
        self.content.put(raw, str(pushed_digest))
        final = PushResult(target, str(pushed_digest), len(raw), media_type, [k[2] for k in kept],
                           pushed, mounted, existing, sent, bool(dropped))
        job.progress("", final.status_line, component=Component.REGISTRY)
        job.step("pushed", Component.REGISTRY, str(ref), digest=final.digest, size=final.size,
                 media_type=media_type, platforms=final.platforms)
        return final


def _manifest(media_type: str, config_raw: bytes, config_digest: str, layers: list[LayerDescriptor]) -> bytes:
    """A new image manifest of ``media_type`` for the config and layers."""
    docker = media_type == DOCKER_MANIFEST

    def layer_type(kind: str) -> str:
        if not docker:
            return oci_layer_type(kind)
        return DOCKER_GZIP_LAYER if kind.endswith("gzip") else kind

    manifest = {"schemaVersion": 2, "mediaType": media_type,
                "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, "digest": config_digest,
                           "size": len(config_raw)},
                "layers": [{"mediaType": layer_type(d.media_type), "digest": d.digest, "size": d.size}
                           for d in layers]}
    return json.dumps(manifest, indent=3 if docker else None,
                      separators=None if docker else (",", ":")).encode()
