"""The layer store: unpacked layers named by ChainID, shared by every image that has them.

On disk (as Docker's overlay2 lays it out)::

    layers/<chainid-hex>/diff/        the layer's files (an overlay lower dir)
    layers/<chainid-hex>/link         its 26-character short id
    layers/<chainid-hex>/meta.json    chain_id, diff_id, parent, size, created
    l/<short-id> -> ../layers/<chainid-hex>/diff

A layer is unpacked into ``layers/.tmp-<pid>-<rand>/`` and renamed into place
only when it is complete and verified, so a crash never leaves a half layer
under a real name. Concurrent requests for the same layer share the work:
one thread unpacks, the others wait for it. Which layers are in use is derived
from the image records (:meth:`LayerStore.gc` takes the referenced chain IDs).
"""

from __future__ import annotations

import builtins
import ctypes
import hashlib
import os
import secrets
import shutil
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.errors import NotFound, StorageError
from engine.images.content import digest_hex
from engine.images.unpack import UnpackResult, apply_layer
from engine.images.unpackworker import apply_layer_in_worker, worker_available
from engine.jobs import Component, Job
from engine.state import StateRoot, atomic_write_bytes, atomic_write_json, fsync_dir, read_json

WORKERS_VARIABLE = "WHARF_UNPACK_WORKERS"
"""Set to ``0`` to unpack layers in the engine's own threads by default (benchmarks)."""

SHORT_ID_LENGTH = 26
"""Length of the ``l/`` link names (as overlay2: 128 of them fit in a page)."""

_SHORT_ALPHABET = string.ascii_uppercase + string.digits


def chain_id(parent: str | None, diff_id: str) -> str:
    """``ChainID(parent + layer)``.

    The diff_id for a base layer, else sha256 of ``"<parent> <diff_id>"``.
    """
    if parent is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The chain ID of every prefix of ``diff_ids`` (base first)."""
    result: list[str] = []
    for diff_id in diff_ids:
        result.append(chain_id(result[-1] if result else None, diff_id))
    return result


@dataclass(frozen=True)
class Layer:
    """One unpacked layer.

    Attributes:
        chain_id: its name: the ChainID of the stack ending with it.
        diff_id: sha256 of its uncompressed tar.
        parent: the chain ID of the layer below, or ``None`` for a base layer.
        size: bytes of file content.
        short_id: the name of its ``l/`` link.
        path: ``layers/<hex>``.
        created: when it was unpacked (seconds since the epoch).
    """

    chain_id: str
    diff_id: str
    parent: str | None
    size: int
    short_id: str
    path: Path
    created: float

    @property
    def diff(self) -> Path:
        """The folder holding the layer's files."""
        return self.path / "diff"


class LayerStore:
    """Layers under ``<root>/layers`` with short links under ``<root>/l``.

    Args:
        root: the engine's state root.
        sync: ``syncfs`` the filesystem after unpacking each layer, so a power
            loss cannot leave a visible layer with unwritten files (costs the
            disk's write-back time; Docker and containerd do not sync either).
        workers: unpack each layer in a child process
            (:mod:`engine.images.unpackworker`), so concurrent layers use every
            core instead of taking turns at the GIL; else in the calling thread.
            Default: on, unless ``$WHARF_UNPACK_WORKERS`` is ``0``.
    """

    def __init__(self, root: StateRoot, *, sync: bool = False, workers: bool | None = None) -> None:
        self.root = root
        self.sync = sync
        """Flush each layer's files to disk (syncfs) before it becomes visible."""
        if workers is None:
            workers = os.environ.get(WORKERS_VARIABLE, "1") != "0"
        self.workers = workers and worker_available()
        """Unpack in child processes (see :mod:`engine.images.unpackworker`)."""
        self.layers_dir = root.layers
        self.links_dir = root.links
        self.layers_dir.mkdir(parents=True, exist_ok=True)
        self.links_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._inflight: dict[str, threading.Event] = {}
        self._cleanup()

    def _cleanup(self) -> None:
        """Remove what crashed unpacks and removals left (dead pids' temps, dangling links)."""
        for entry in os.scandir(self.layers_dir):
            if entry.name.startswith((".tmp-", ".rm-")):
                pid = entry.name.split("-")[1]
                if entry.name.startswith(".rm-") or not _alive(pid):
                    shutil.rmtree(entry.path, ignore_errors=True)
        for entry in os.scandir(self.links_dir):
            if entry.is_symlink() and not os.path.exists(entry.path):
                os.unlink(entry.path)

    # -- lookup --------------------------------------------------------------------
    def get(self, chain_id: str) -> Layer:
        """The layer named ``chain_id``.

        Raises:
            NotFound: no such layer.
        """
        path = self.layers_dir / digest_hex(chain_id)
        meta = read_json(path / "meta.json")
        if meta is None:
            raise NotFound(f"no such layer: {chain_id}")
        return Layer(meta["chain_id"], meta["diff_id"], meta.get("parent"), meta["size"],
                     meta["short_id"], path, meta.get("created", 0.0))

    def has(self, chain_id: str) -> bool:
        """Whether the layer ``chain_id`` is unpacked."""
        return (self.layers_dir / digest_hex(chain_id) / "meta.json").is_file()

    def list(self) -> list[Layer]:
        """Every unpacked layer."""
        found = []
        for entry in os.scandir(self.layers_dir):
            if not entry.name.startswith(".") and len(entry.name) == 64:
                try:
                    found.append(self.get("sha256:" + entry.name))
                except NotFound:
                    continue
        return found

    def stack(self, chain_id: str) -> builtins.list[Layer]:
        """The layers of the stack ending with ``chain_id``, uppermost first, base last.

        Raises:
            NotFound: a layer of the stack is missing.
        """
        layers = []
        current: str | None = chain_id
        while current is not None:
            layer = self.get(current)
            layers.append(layer)
            current = layer.parent
        return layers

    def link_path(self, layer: Layer) -> str:
        """``l/<short-id>``, relative to the state root."""
        return f"l/{layer.short_id}"

    # -- creation ------------------------------------------------------------------
    def apply(self, parent: str | None, diff_id: str,
              source: BinaryIO | Callable[[], BinaryIO], *,
              compressed_digest: str | None = None,
              on_progress: Callable[[int], None] | None = None,
              job: Job | None = None) -> Layer:
        """Unpack a layer on top of ``parent`` unless it is there already.

        The parent need not be unpacked yet (layers of one image may be unpacked
        concurrently); it must exist before the stack is mounted.

        Args:
            parent: chain ID of the layer below, or ``None`` for a base layer.
            diff_id: the expected ``config.rootfs.diff_ids[i]``.
            source: the blob stream, or a callable opening it; a callable is only
                called when this thread does the unpacking. A stream is not read
                when the layer already exists.
            compressed_digest: if given, the blob must hash to it as well.
            on_progress: called with raw bytes read so far.
            job: where to publish the graph driver's steps.

        Returns:
            The layer (the existing one, or the freshly unpacked one).

        Raises:
            UnsafeLayer, LayerError, DigestMismatch: the layer is refused; nothing is kept.
            StorageError: the store's own files cannot be written.
        """
        cid = chain_id(parent, diff_id)
        while True:
            with self._lock:
                if self.has(cid):
                    return self.get(cid)
                waiting = self._inflight.get(cid)
                if waiting is None:
                    done = self._inflight[cid] = threading.Event()
                    break
            if job is not None:
                job.step("wait for layer", Component.GRAPH_DRIVER, subject=diff_id,
                         chain_id=cid, reason="another pull is unpacking it")
            waiting.wait()
        try:
            stream = source() if callable(source) else source
            try:
                return self._unpack(cid, parent, stream, diff_id, compressed_digest,
                                    on_progress, job)
            finally:
                if callable(source):
                    stream.close()
        finally:
            with self._lock:
                del self._inflight[cid]
            done.set()

    def create(self, parent: str | None, source: BinaryIO, *,
               job: Job | None = None) -> Layer:
        """Unpack a layer whose diff_id is not known in advance (``docker import``)."""
        return self._unpack(None, parent, source, None, None, None, job)

    def _unpack(self, cid: str | None, parent: str | None, stream: BinaryIO,
                diff_id: str | None, compressed_digest: str | None,
                on_progress: Callable[[int], None] | None, job: Job | None) -> Layer:
        tmp = self.layers_dir / f".tmp-{os.getpid()}-{secrets.token_hex(6)}"
        try:
            (tmp / "diff").mkdir(parents=True)
        except OSError as exc:
            raise StorageError(f"cannot create a layer folder: {exc.strerror}") from exc
        try:
            if job is not None:
                job.step("extract layer", Component.GRAPH_DRIVER, subject=diff_id or "",
                         chain_id=cid or "", into=str(tmp / "diff"))
            unpack = apply_layer_in_worker if self.workers else apply_layer
            result = unpack(stream, tmp / "diff", expected_diff_id=diff_id,
                            compressed_digest=compressed_digest, on_progress=on_progress)
            cid = cid or chain_id(parent, result.diff_id)
            if self.sync:
                _syncfs(tmp)
            return self._commit(tmp, cid, parent, result, job)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _commit(self, tmp: Path, cid: str, parent: str | None, result: UnpackResult,
                job: Job | None) -> Layer:
        hex_id = digest_hex(cid)
        final = self.layers_dir / hex_id
        short_id = "".join(secrets.choice(_SHORT_ALPHABET) for _ in range(SHORT_ID_LENGTH))
        link = self.links_dir / short_id
        created = time.time()
        meta = {"chain_id": cid, "diff_id": result.diff_id, "parent": parent,
                "size": result.size, "short_id": short_id, "created": created,
                "compression": result.compression, "entries": result.entries}
        try:
            atomic_write_bytes(tmp / "link", short_id.encode())
            atomic_write_json(tmp / "meta.json", meta)
            os.symlink(f"../layers/{hex_id}/diff", link)
            try:
                os.rename(tmp, final)
            except OSError:
                os.unlink(link)
                if self.has(cid):  # someone else made it meanwhile
                    return self.get(cid)
                raise
            fsync_dir(self.layers_dir)
            fsync_dir(self.links_dir)
        except OSError as exc:
            raise StorageError(f"cannot store layer {cid}: {exc.strerror}") from exc
        if job is not None:
            job.step("layer ready", Component.GRAPH_DRIVER, subject=result.diff_id,
                     chain_id=cid, path=str(final / "diff"), link=f"l/{short_id}",
                     size=result.size, entries=result.entries,
                     compression=result.compression, seconds=round(result.seconds, 3))
        return Layer(cid, result.diff_id, parent, result.size, short_id, final, created)

    # -- removal -------------------------------------------------------------------
    def remove(self, chain_id: str) -> bool:
        """Delete the layer (callers make sure nothing uses it); returns whether it existed."""
        try:
            layer = self.get(chain_id)
        except NotFound:
            return False
        doomed = self.layers_dir / f".rm-{os.getpid()}-{digest_hex(chain_id)}"
        try:
            os.rename(layer.path, doomed)
            fsync_dir(self.layers_dir)
            try:
                os.unlink(self.links_dir / layer.short_id)
            except FileNotFoundError:
                pass
        except OSError as exc:
            raise StorageError(f"cannot remove layer {chain_id}: {exc.strerror}") from exc
        shutil.rmtree(doomed, ignore_errors=True)
        return True

    def gc(self, referenced: set[str]) -> builtins.list[str]:
        """Remove every layer whose chain ID is not in ``referenced``; returns those removed."""
        removed = []
        with self._lock:
            busy = set(self._inflight)
        for layer in self.list():
            if layer.chain_id not in referenced and layer.chain_id not in busy:
                if self.remove(layer.chain_id):
                    removed.append(layer.chain_id)
        return removed


def _syncfs(path: Path) -> None:
    """Flush the filesystem holding ``path`` (``syncfs(2)``)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            raise StorageError(f"syncfs failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
