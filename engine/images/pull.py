"""A pull, as a Job: registry → content store → layer store → image record.

For each layer the puller streams the blob from the registry into the
content store's ingest *and*, in the same pass, into the layer unpacker, so
download, decompression and extraction overlap (three layers at a time, as
dockerd). The layer is committed only when its compressed digest and its
diff_id both check out; the blob only when its digest does. A download that
resumes a partial blob (after a crash or a dead registry) cannot be streamed
from its start, so it finishes the blob first and unpacks from the store.

Progress is published per layer on the job, with Docker's words: ``Waiting``,
``Pulling fs layer``, ``Downloading``, ``Verifying Checksum``, ``Download
complete``, ``Extracting``, ``Pull complete``, ``Already exists``.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from engine.errors import LayerError, UnsupportedMediaType
from engine.images.content import ContentStore, Ingest
from engine.images.layers import LayerStore, chain_ids
from engine.jobs import Component, Job
from engine.registry.client import RegistryClient, ResolvedImage
from engine.registry.manifest import Descriptor
from engine.registry.reference import Reference, parse_reference

MAX_CONCURRENT_LAYERS = 3
"""Layers downloaded and unpacked at once (dockerd's max-concurrent-downloads)."""

UNPACKABLE_LAYER_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
)
"""Layer media types Wharf unpacks; anything else (encrypted, in-toto, …) is refused."""

_QUEUE_CHUNKS = 32
"""Chunks (of about 1 MiB) buffered between the download and the unpacker."""


class ImageRecorder(Protocol):
    """Where a finished pull is recorded (the image store)."""

    def record_pull(self, reference: Reference, resolved: ResolvedImage, config_digest: str,
                    config: dict[str, Any]) -> str:
        """Record the image and point ``reference`` at it; returns the image ID."""

    def hold(self, names: set[str]) -> AbstractContextManager[None]:
        """Keep these chain IDs and blob digests from garbage collection meanwhile."""


@dataclass(frozen=True)
class PullResult:
    """What a pull did.

    Attributes:
        reference: the normalised reference pulled.
        image_id: ``sha256:<hex>`` of the image config.
        digest: the digest the reference resolved to (index or manifest).
        downloaded: layers fetched by this pull.
        existing: layers that were already in the store.
        bytes: compressed bytes downloaded by this pull.
    """

    reference: Reference
    image_id: str
    digest: str
    downloaded: int
    existing: int
    bytes: int


class _StreamReader:
    """A file-like ``read`` over chunks handed across threads (download → unpacker)."""

    def __init__(self) -> None:
        self._chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(_QUEUE_CHUNKS)
        self._buffer = memoryview(b"")
        self._done = False
        self.abandoned = threading.Event()

    def feed(self, chunk: bytes) -> None:
        """Hand a chunk to the reader (blocks while it is behind); no-op once abandoned."""
        while not self.abandoned.is_set():
            try:
                self._chunks.put(chunk, timeout=0.2)
                return
            except queue.Full:
                continue

    def finish(self, error: BaseException | None = None) -> None:
        """End the stream, cleanly or with ``error`` raised in the reader."""
        self.feed(error)  # type: ignore[arg-type]

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (fewer at a chunk boundary); ``b""`` at the end."""
        if not self._buffer:
            if self._done:
                return b""
            item = self._chunks.get()
            if item is None:
                self._done = True
                return b""
            if isinstance(item, BaseException):
                self._done = True
                raise LayerError(f"layer download failed: {item}") from item
            self._buffer = memoryview(item)
        if size < 0 or size >= len(self._buffer):
            whole = self._buffer.obj
            if isinstance(whole, bytes) and len(whole) == len(self._buffer):
                out = whole  # the chunk as fed: no copy
            else:
                out = bytes(self._buffer)
            self._buffer = memoryview(b"")
        else:
            out, self._buffer = bytes(self._buffer[:size]), self._buffer[size:]
        return out

    def close(self) -> None:
        """The unpacker is done (or failed): stop accepting chunks."""
        self.abandoned.set()


class _TeeSink:
    """A blob sink that writes to the ingest and hands every chunk to a reader."""

    def __init__(self, ingest: Ingest, reader: _StreamReader | None) -> None:
        self.ingest = ingest
        self.reader = reader

    @property
    def offset(self) -> int:
        return self.ingest.offset

    def write(self, data: bytes) -> None:
        self.ingest.write(data)
        if self.reader is not None:
            self.reader.feed(bytes(data))

    def read_back(self) -> Iterator[bytes]:
        """The bytes an earlier, interrupted download left (to hash the whole blob)."""
        return self.ingest.read_back()


class Puller:
    """Pulls images into a state root's stores.

    Args:
        registry: the distribution client.
        content: the content store (blobs by digest).
        layers: the layer store (unpacked layers by chain ID).
        recorder: the image store, which records finished pulls.
        max_concurrent_layers: layers in flight at once.
    """

    def __init__(self, registry: RegistryClient, content: ContentStore, layers: LayerStore,
                 recorder: ImageRecorder, *, max_concurrent_layers: int = MAX_CONCURRENT_LAYERS) -> None:
        self.registry = registry
        self.content = content
        self.layers = layers
        self.recorder = recorder
        self.max_concurrent_layers = max_concurrent_layers

    def pull(self, reference: Reference | str, job: Job, *, platform: str | None = None) -> PullResult:
        """Pull ``reference`` (resolving an index to ``platform``), publishing progress on ``job``.

        Raises:
            InvalidReference, ManifestUnknown, Unauthorized, RegistryUnavailable,
            DigestMismatch, SizeMismatch, UnsupportedMediaType, UnsafeLayer, LayerError,
            StorageError: each with one precise message; the stores stay consistent.
        """
        ref = parse_reference(reference) if isinstance(reference, str) else reference
        resolved = self.registry.resolve(ref, platform=platform, job=job)
        manifest = resolved.manifest
        config_descriptor = manifest.config
        if config_descriptor is None:
            raise UnsupportedMediaType(f"{ref}: the manifest has no config")
        config_digest = str(config_descriptor.digest)
        if self.content.has(config_digest):
            config_raw = self.content.read(config_digest)
        else:
            config_raw = self.registry.get_blob(ref, config_descriptor, job=job)
        config = _parse_config(ref, config_raw)
        diff_ids = list(config["rootfs"]["diff_ids"])
        layers = manifest.layers
        if len(diff_ids) != len(layers):
            raise UnsupportedMediaType(f"{ref}: the config lists {len(diff_ids)} layers but the manifest "
                                       f"{len(layers)}")
        for descriptor in layers:
            if descriptor.media_type not in UNPACKABLE_LAYER_TYPES:
                raise UnsupportedMediaType(f"{ref}: layer {descriptor.digest.short} is "
                                           f"{descriptor.media_type or 'of no media type'}, which Wharf "
                                           "does not unpack")
        chains = chain_ids(diff_ids)
        counters = {"downloaded": 0, "existing": 0, "bytes": 0}
        lock = threading.Lock()

        def one_layer(index: int) -> None:
            parent = chains[index - 1] if index else None
            fetched = self._layer(ref, layers[index], parent, diff_ids[index], chains[index], job)
            with lock:
                counters["downloaded" if fetched >= 0 else "existing"] += 1
                counters["bytes"] += max(fetched, 0)

        held = {*chains, *(str(d.digest) for d in layers), str(config_descriptor.digest),
                str(resolved.top.digest), str(manifest.digest)}
        with self.recorder.hold(held):  # no prune or rmi may collect them before the record exists
            for descriptor in layers:
                job.progress(_short(descriptor), "Waiting", 0, descriptor.size, Component.REGISTRY)
            with ThreadPoolExecutor(max_workers=self.max_concurrent_layers,
                                    thread_name_prefix="pull-layer") as pool:
                futures = [pool.submit(one_layer, index) for index in range(len(layers))]
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                for future in futures:
                    if future in done and future.exception() is not None:
                        for other in futures:
                            other.cancel()
                        raise future.exception()  # type: ignore[misc]
                for future in futures:
                    future.result()
            # Verified metadata goes into the content store only now, so the store never
            # holds a manifest whose layers it does not have.
            self.content.put(resolved.top.raw, str(resolved.top.digest))
            if resolved.manifest is not resolved.top:
                self.content.put(manifest.raw, str(manifest.digest))
            config_digest = self.content.put(config_raw, str(config_descriptor.digest))
            image_id = self.recorder.record_pull(ref, resolved, config_digest, config)
        job.step("image recorded", Component.GRAPH_DRIVER, str(ref), image_id=image_id,
                 digest=str(resolved.digest), layers=len(layers))
        return PullResult(ref, image_id, str(resolved.digest), counters["downloaded"],
                          counters["existing"], counters["bytes"])

    def _layer(self, ref: Reference, descriptor: Descriptor, parent: str | None, diff_id: str,
               chain: str, job: Job) -> int:
        """Make one layer present; returns bytes downloaded, or -1 if it already existed."""
        short = _short(descriptor)
        if self.layers.has(chain):
            job.progress(short, "Already exists", descriptor.size, descriptor.size, Component.GRAPH_DRIVER)
            return -1
        job.progress(short, "Pulling fs layer", 0, descriptor.size, Component.REGISTRY)
        digest = str(descriptor.digest)
        # fetch_blob hashes the whole blob (a resumed one's first bytes too) and raises on a
        # mismatch before commit is reached: the ingest need not hash it again.
        with self.content.ingest(digest, descriptor.size, verified_by_writer=True) as ingest:
            if ingest.committed:
                self._unpack_from_store(descriptor, parent, diff_id, job)
                return 0
            streaming = ingest.offset == 0
            reader = _StreamReader() if streaming else None
            result: dict[str, BaseException | None] = {"error": None}
            unpacker = None
            if reader is not None:
                unpacker = threading.Thread(target=self._unpack_stream,
                                            args=(reader, descriptor, parent, diff_id, job, result),
                                            name=f"unpack-{short}", daemon=True)
                unpacker.start()
            start_offset = ingest.offset

            def progress(current: int, total: int) -> None:
                job.progress(short, "Downloading", current, total, Component.REGISTRY)

            try:
                self.registry.fetch_blob(ref, descriptor, _TeeSink(ingest, reader), offset=ingest.offset,
                                         progress=progress, job=job)
                job.progress(short, "Verifying Checksum", descriptor.size, descriptor.size, Component.REGISTRY)
                ingest.commit()
                job.progress(short, "Download complete", descriptor.size, descriptor.size, Component.REGISTRY)
            except BaseException as exc:
                if reader is not None:
                    reader.finish(exc)
                    assert unpacker is not None
                    unpacker.join()
                raise
            if reader is not None:
                reader.finish()
                assert unpacker is not None
                unpacker.join()
                if result["error"] is not None:
                    raise result["error"]
            else:
                self._unpack_from_store(descriptor, parent, diff_id, job)
        job.progress(short, "Pull complete", descriptor.size, descriptor.size, Component.GRAPH_DRIVER)
        return descriptor.size - start_offset

    def _unpack_stream(self, reader: _StreamReader, descriptor: Descriptor, parent: str | None,
                       diff_id: str, job: Job, result: dict[str, BaseException | None]) -> None:
        try:
            job.progress(_short(descriptor), "Extracting", 0, descriptor.size, Component.GRAPH_DRIVER)
            # No compressed_digest: the reader ends cleanly only after fetch_blob has
            # verified the blob's digest (a mismatch ends it with an error instead), and the
            # unpacker reads to that end before it commits, so hashing the blob again here
            # would only cost time.
            self.layers.apply(parent, diff_id, reader,
                              on_progress=_extract_progress(job, descriptor), job=job)
        except BaseException as exc:  # handed to the pulling thread
            result["error"] = exc
        finally:
            reader.close()

    def _unpack_from_store(self, descriptor: Descriptor, parent: str | None, diff_id: str, job: Job) -> None:
        digest = str(descriptor.digest)

        def opener() -> BinaryIO:
            return self.content.open(digest)

        job.progress(_short(descriptor), "Extracting", 0, descriptor.size, Component.GRAPH_DRIVER)
        self.layers.apply(parent, diff_id, opener, on_progress=_extract_progress(job, descriptor), job=job)


def _extract_progress(job: Job, descriptor: Descriptor) -> Callable[[int], None]:
    short = _short(descriptor)
    last = [0]

    def report(read: int) -> None:
        if read - last[0] >= 4 << 20 or read >= descriptor.size:
            last[0] = read
            job.progress(short, "Extracting", min(read, descriptor.size), descriptor.size, Component.GRAPH_DRIVER)

    return report


def _short(descriptor: Descriptor) -> str:
    """Docker's 12-character layer id in progress lines."""
    return descriptor.digest.hex[:12]


def _parse_config(ref: Reference, raw: bytes) -> dict[str, Any]:
    try:
        config = json.loads(raw)
    except ValueError:
        raise UnsupportedMediaType(f"{ref}: the image config is not JSON") from None
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers" or not isinstance(rootfs.get("diff_ids"), list):
        raise UnsupportedMediaType(f"{ref}: the image config has no rootfs of type layers")
    return config
