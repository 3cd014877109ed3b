"""The image store: references → image records → config, manifest and layers.

``images/<id-hex>.json`` holds one :class:`ImageRecord`; ``images/repositories.json``
maps every tag (a normalised reference) to an image ID. A tag points at one
image: tagging or pulling it elsewhere leaves the old image dangling. Layers
are counted as used while any record names them; blobs while any record names
them as config, manifest or layer. All writes are atomic.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from engine.errors import ImageNotFound, InvalidArgument, InvalidReference, NotFound
from engine.images.content import ContentStore, digest_hex
from engine.images.layers import LayerStore, chain_ids
from engine.images.records import ImageRecord, LayerDescriptor, history_entries, image_info
from engine.images.removal import prune_images, remove_image
from engine.model import HistoryEntry, ImageDeleteItem, ImageInfo, PruneResult
from engine.registry.reference import Reference, parse_reference
from engine.state import StateRoot, atomic_write_json, read_json

InUsePredicate = Callable[[str], bool]
"""``in_use(image_id) -> bool``: whether a container uses the image."""


def _never(_image_id: str) -> bool:
    return False


class ImageStore:
    """Image records of one state root.

    Args:
        root: the state root.
        content: its content store.
        layers: its layer store.
    """

    def __init__(self, root: StateRoot, content: ContentStore, layers: LayerStore) -> None:
        self.dir = root.images
        self.dir.mkdir(parents=True, exist_ok=True)
        self.content = content
        self.layers = layers
        self._lock = threading.RLock()
        self._records: dict[str, ImageRecord] = {}
        self._tags: dict[str, str] = {}
        self._holds: list[set[str]] = []
        self._load()

    # -- persistence ---------------------------------------------------------------
    def _load(self) -> None:
        for path in self.dir.glob("*.json"):
            if path.name == "repositories.json":
                continue
            data = read_json(path)
            if data:
                record = ImageRecord.from_json(data)
                self._records[record.id] = record
        tags = read_json(self.dir / "repositories.json", {}) or {}
        self._tags = {t: i for t, i in tags.get("tags", {}).items() if i in self._records}

    def _save(self, record: ImageRecord) -> None:
        atomic_write_json(self.dir / f"{digest_hex(record.id)}.json", record.to_json())

    def _save_tags(self) -> None:
        atomic_write_json(self.dir / "repositories.json", {"tags": self._tags})

    # -- adding --------------------------------------------------------------------
    def add(self, config_digest: str, *, manifest_digest: str = "",
            manifest_media_type: str = "", layers: list[LayerDescriptor] | None = None,
            reference: str | Reference | None = None, repo_digest: str = "") -> ImageRecord:
        """Record an image whose config blob and unpacked layers are already stored.

        Args:
            config_digest: the config blob's digest (becomes the image ID).
            manifest_digest: the manifest it came in, if any.
            manifest_media_type: that manifest's media type.
            layers: the manifest's layer descriptors, base first.
            reference: the tag and/or digest it was pulled as; a tag moves to
                this image, a digest is kept as a repo digest.
            repo_digest: the digest the reference resolved to (an index or the
                manifest) when ``reference`` holds none; defaults to ``manifest_digest``.

        Returns:
            The (new or updated) record.

        Raises:
            NotFound: the config blob or one of the layers is missing.
            InvalidArgument: the config is not an image config.
        """
        config = self._read_config(config_digest)
        rootfs = config.get("rootfs") or {}
        if rootfs.get("type") != "layers":
            raise InvalidArgument(f"image config {config_digest} has rootfs type "
                                  f"{rootfs.get('type')!r}, not 'layers'")
        diff_ids = list(rootfs.get("diff_ids") or [])
        if layers and len(layers) != len(diff_ids):
            raise InvalidArgument(f"manifest has {len(layers)} layers but the config "
                                  f"lists {len(diff_ids)} diff_ids")
        cids = chain_ids(diff_ids)
        size = sum(self.layers.get(cid).size for cid in cids)  # raises NotFound
        with self._lock:
            record = self._records.get(config_digest) or ImageRecord(
                id=config_digest, config_digest=config_digest, stored=time.time())
            record.diff_ids, record.chain_ids, record.size = diff_ids, cids, size
            if manifest_digest:
                record.manifest_digest = manifest_digest
                record.manifest_media_type = manifest_media_type
            if layers:
                record.layers = list(layers)
            self._records[record.id] = record
            if reference is not None:
                ref = reference if isinstance(reference, Reference) else \
                    parse_reference(str(reference))
                if ref.digest is None and (repo_digest or manifest_digest):
                    ref = ref.with_digest(repo_digest or manifest_digest)
                if ref.digest is not None:
                    name = f"{ref.name}@{ref.digest}"
                    if name not in record.repo_digests:
                        record.repo_digests.append(name)
                if ref.tag is not None:
                    self._move_tag(f"{ref.name}:{ref.tag}", record)
            self._save(record)
            self._save_tags()
            return record

    def record_pull(self, reference: Reference, resolved: Any, config_digest: str,
                    config: dict[str, Any]) -> str:
        """Record a finished pull (the puller's ``ImageRecorder``); returns the image ID.

        Args:
            reference: what was pulled.
            resolved: the registry client's ``ResolvedImage`` (``manifest``, ``digest``).
            config_digest: the stored config blob.
            config: the parsed config.
        """
        manifest = resolved.manifest
        diff_ids = list(config["rootfs"]["diff_ids"])
        layers = [LayerDescriptor(str(d.digest), d.media_type, d.size, diff_id)
                  for d, diff_id in zip(manifest.layers, diff_ids)]
        record = self.add(config_digest, manifest_digest=str(manifest.digest),
                          manifest_media_type=manifest.media_type, layers=layers,
                          reference=reference, repo_digest=str(resolved.digest))
        return record.id

    def _move_tag(self, tag: str, record: ImageRecord) -> None:
        old_id = self._tags.get(tag)
        if old_id and old_id != record.id and old_id in self._records:
            old = self._records[old_id]
            old.tags = [t for t in old.tags if t != tag]
            self._save(old)
        self._tags[tag] = record.id
        if tag not in record.tags:
            record.tags.append(tag)
        record.last_tag_time = time.time()

    def _read_config(self, digest: str) -> dict[str, Any]:
        try:
            config = json.loads(self.content.read(digest))
        except NotFound:
            raise NotFound(f"image config {digest} is not in the content store") from None
        except ValueError as exc:
            raise InvalidArgument(f"image config {digest} is not JSON: {exc}") from None
        if not isinstance(config, dict):
            raise InvalidArgument(f"image config {digest} is not a JSON object")
        return config

    # -- lookup --------------------------------------------------------------------
    def resolve(self, name: str) -> ImageRecord:
        """The image ``name`` refers to, looked up as Docker does.

        Order: a full ID (``sha256:<hex>``), a reference (tag or repo digest),
        then a unique ID prefix (``3f2a``, ``sha256:3f2a``).

        Raises:
            ImageNotFound: ``No such image: <name>`` (also for an ambiguous prefix).
        """
        with self._lock:
            if name in self._records:
                return self._records[name]
            record = self._by_reference(name)
            if record is not None:
                return record
            candidate = name.removeprefix("sha256:")
            if 1 <= len(candidate) <= 64 and all(c in "0123456789abcdef" for c in candidate):
                matches = [r for r in self._records.values()
                           if digest_hex(r.id).startswith(candidate)]
                if len(matches) == 1:
                    return matches[0]
            raise ImageNotFound(f"No such image: {name}")

    def _by_reference(self, name: str) -> ImageRecord | None:
        try:
            ref = parse_reference(name)
        except InvalidReference:
            return None
        if ref.digest is not None:
            wanted = f"{ref.name}@{ref.digest}"
            for record in self._records.values():
                if wanted in record.repo_digests or (
                        record.manifest_digest == str(ref.digest) and any(
                            t.rsplit(":", 1)[0] == ref.name for t in record.tags)):
                    return record
            return None
        image_id = self._tags.get(f"{ref.name}:{ref.tag}")
        return self._records.get(image_id) if image_id else None

    def get(self, name: str) -> ImageRecord:
        """Same as :meth:`resolve`."""
        return self.resolve(name)

    def exists(self, name: str) -> bool:
        """Whether :meth:`resolve` finds ``name``."""
        try:
            self.resolve(name)
            return True
        except ImageNotFound:
            return False

    def list(self, *, dangling: bool | None = None) -> list[ImageRecord]:
        """Every image (``dangling=True``: only untagged ones; ``False``: only tagged)."""
        with self._lock:
            records = list(self._records.values())
        if dangling is not None:
            records = [r for r in records if r.dangling == dangling]
        return sorted(records, key=lambda r: r.stored, reverse=True)

    def config(self, name: str) -> dict[str, Any]:
        """The image's config blob, parsed."""
        return self._read_config(self.resolve(name).config_digest)

    def info(self, name: str, containers: int = -1) -> ImageInfo:
        """The image ``name`` with its overlay directories (``containers``: its users, -1 uncounted)."""
        record = self.resolve(name)
        return image_info(record, self.config(record.id), containers=containers,
                          graph_data=self.graph_data(record.id))

    def graph_data(self, name: str) -> dict[str, str]:
        """The top layer's ``UpperDir``, ``MergedDir``, ``WorkDir`` and (``:``-joined, top
        first) ``LowerDir``; ``{}`` for an image without layers."""
        record = self.resolve(name)
        if not record.chain_ids:
            return {}
        stack = self.layers.stack(record.chain_ids[-1])
        data = {"UpperDir": str(stack[0].diff),
                "MergedDir": str(stack[0].path / "merged"),
                "WorkDir": str(stack[0].path / "work")}
        if len(stack) > 1:
            data["LowerDir"] = ":".join(str(layer.diff) for layer in stack[1:])
        return data

    def summaries(self, containers: Callable[[str], int] | None = None
                  ) -> builtins.list[ImageInfo]:
        """Every image, newest first, no overlay dirs (``containers(id)`` counts users; else -1)."""
        return [image_info(r, self.config(r.id), containers=containers(r.id) if containers else -1)
                for r in self.list()]

    def history(self, name: str) -> builtins.list[HistoryEntry]:
        """The image's history, newest first (see :func:`~engine.images.records.history_entries`)."""
        record = self.resolve(name)
        sizes = [self.layers.get(cid).size for cid in record.chain_ids]
        return history_entries(record, self.config(record.id), sizes)

    # -- tags ----------------------------------------------------------------------
    def tag(self, name: str, target: str) -> ImageRecord:
        """Point the tag ``target`` (``repo[:tag]``) at the image ``name``.

        Raises:
            ImageNotFound: no image ``name``.
            InvalidReference: ``target`` is not a valid tag reference (or has a digest).
        """
        ref = parse_reference(target)
        if ref.digest is not None:
            raise InvalidReference(f"refusing to create a tag with a digest reference: {target}")
        with self._lock:
            record = self.resolve(name)
            self._move_tag(f"{ref.name}:{ref.tag}", record)
            self._save(record)
            self._save_tags()
            return record

    def untag(self, name: str) -> ImageRecord:
        """Remove the tag or repo digest ``name`` (the image itself stays).

        Raises:
            ImageNotFound: no such tag.
        """
        ref = parse_reference(name)
        with self._lock:
            record = self.resolve(name)
            if ref.digest is not None:
                record.repo_digests = [d for d in record.repo_digests
                                       if d != f"{ref.name}@{ref.digest}"]
            else:
                tag = f"{ref.name}:{ref.tag}"
                self._tags.pop(tag, None)
                record.tags = [t for t in record.tags if t != tag]
            self._save(record)
            self._save_tags()
            return record

    # -- removal -------------------------------------------------------------------
    def remove(self, name: str, *, force: bool = False, prune: bool = True,
               in_use: InUsePredicate = _never) -> builtins.list[ImageDeleteItem]:
        """``docker rmi``: untag, and delete the image when nothing else names it.

        See :func:`engine.images.removal.remove_image` (arguments, result, errors).
        """
        return remove_image(self, name, force=force, prune=prune, in_use=in_use)

    def prune(self, *, all_images: bool = False,
              in_use: InUsePredicate = _never) -> PruneResult:
        """Delete dangling (``all_images``: all unused) images; see :func:`.removal.prune_images`."""
        return prune_images(self, all_images=all_images, in_use=in_use)

    def _forget(self, record: ImageRecord) -> None:
        for tag in record.tags:
            self._tags.pop(tag, None)
        self._save_tags()
        self._records.pop(record.id, None)
        (self.dir / f"{digest_hex(record.id)}.json").unlink(missing_ok=True)

    # -- references and garbage ----------------------------------------------------
    @contextlib.contextmanager
    def hold(self, names: set[str] | builtins.list[str]) -> Iterator[None]:
        """Keep chain IDs and blob digests from garbage collection while a pull runs.

        Example::

            with store.hold(chain_ids + blob_digests):
                ...download, unpack, then store.add(...)
        """
        held = set(names)
        with self._lock:
            self._holds.append(held)
        try:
            yield
        finally:
            with self._lock:
                self._holds.remove(held)

    def _held(self) -> set[str]:
        return set().union(*self._holds) if self._holds else set()

    def referenced_chain_ids(self) -> set[str]:
        """Every chain ID some image needs."""
        with self._lock:
            return {cid for r in self._records.values() for cid in r.chain_ids}

    def referenced_blobs(self) -> set[str]:
        """Every blob digest some image names (config, manifest, layers)."""
        with self._lock:
            found: set[str] = set()
            for r in self._records.values():
                found.add(r.config_digest)
                if r.manifest_digest:
                    found.add(r.manifest_digest)
                found.update(layer.digest for layer in r.layers)
            return found

    def layer_refcounts(self) -> dict[str, int]:
        """How many images use each chain ID."""
        counts: dict[str, int] = {}
        with self._lock:
            for r in self._records.values():
                for cid in r.chain_ids:
                    counts[cid] = counts.get(cid, 0) + 1
        return counts

    def collect_garbage(self, extra_chain_ids: set[str] | None = None) -> dict[str, Any]:
        """Remove layers and blobs no image references; returns what went and bytes freed.

        Args:
            extra_chain_ids: layers to keep although no image names them.
        """
        with self._lock:
            keep = self.referenced_chain_ids() | (extra_chain_ids or set()) | self._held()
            sizes = {layer.chain_id: layer.size for layer in self.layers.list()}
            removed = self.layers.gc(keep)
            freed = sum(sizes.get(cid, 0) for cid in removed)
            blobs = self.content.garbage(self.referenced_blobs() | self._held())
            for blob in blobs:
                self.content.delete(blob.digest)
            return {"layers": removed, "blobs": [b.digest for b in blobs], "bytes": freed}

    def disk_usage(self, containers: Callable[[str], int] | None = None
                   ) -> builtins.list[ImageInfo]:
        """Every image with ``shared_size``: the bytes of its layers other images use too
        (``containers(image_id)`` counts its users; 0 without it)."""
        counts = self.layer_refcounts()
        entries = []
        for record in self.list():
            shared = sum(self.layers.get(cid).size for cid in record.chain_ids
                         if counts.get(cid, 0) > 1)
            entries.append(image_info(record, self.config(record.id), shared_size=shared,
                                      containers=containers(record.id) if containers else 0))
        return entries
