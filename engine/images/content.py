"""The content store: blobs by digest, visible only after their digest is verified.

A download goes through an :class:`Ingest`: ``content/ingest/<hex>/data`` grows
as chunks arrive; :meth:`Ingest.commit` checks size and digest, fsyncs and
renames it to ``content/blobs/sha256/<hex>`` (``sha512/`` for sha512 digests).
A partial ingest survives a crash
(even SIGKILL) and a later :meth:`ContentStore.ingest` reopens it at its current
:attr:`Ingest.offset`, so the download resumes with an HTTP ``Range`` request.

Example (what a pull does)::

    with store.ingest(digest, size) as ing:
        if not ing.committed:
            for chunk in fetch(blob_url, start=ing.offset):
                ing.write(chunk)
            ing.commit()
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.errors import DigestMismatch, InvalidArgument, NotFound, SizeMismatch, StorageError
from engine.state import atomic_write_json, fsync_dir, read_json

ALGORITHMS = {"sha256": 64, "sha512": 128}
"""Digest algorithms the store accepts, with their hex length."""

_DIGEST = re.compile(r"^(sha256|sha512):([0-9a-f]+)$")


def split_digest(digest: str) -> tuple[str, str]:
    """``("sha256", "<hex>")`` for ``sha256:<hex>`` (``sha512`` too).

    Raises:
        InvalidArgument: not a supported digest in canonical form.
    """
    match = _DIGEST.match(digest)
    if match is None or len(match.group(2)) != ALGORITHMS[match.group(1)]:
        raise InvalidArgument(f"invalid digest {digest!r}: want sha256:<64 lowercase hex> "
                              "or sha512:<128 lowercase hex>")
    return match.group(1), match.group(2)


def digest_hex(digest: str) -> str:
    """The hex part of a ``sha256:<64 hex>`` (or ``sha512:<128 hex>``) digest.

    Raises:
        InvalidArgument: not a supported digest in canonical form.
    """
    return split_digest(digest)[1]


def sha256_digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _ingest_name(digest: str) -> str:
    algorithm, hex_part = split_digest(digest)
    return hex_part if algorithm == "sha256" else f"{algorithm}-{hex_part}"


def _digest_of_ingest(name: str) -> str | None:
    algorithm, sep, hex_part = name.partition("-")
    digest = f"{algorithm}:{hex_part}" if sep else f"sha256:{name}"
    try:
        split_digest(digest)
    except InvalidArgument:
        return None
    return digest


@dataclass(frozen=True)
class BlobInfo:
    """One verified blob.

    Attributes:
        digest: ``sha256:<hex>``.
        size: its length in bytes.
    """

    digest: str
    size: int


_OPEN_ATTEMPTS = 50
"""Times an ingest is opened again when a concurrent writer removed its folder meanwhile."""


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


@dataclass(frozen=True)
class IngestInfo:
    """One partial download.

    Attributes:
        digest: what it is expected to hash to.
        offset: bytes already on disk.
        expected_size: the descriptor's size, or ``None`` when unknown.
    """

    digest: str
    offset: int
    expected_size: int | None


class Ingest:
    """A blob being written; obtain with :meth:`ContentStore.ingest`.

    Use as a context manager: leaving it (normally or by an exception) closes
    the file and keeps what was written for a resume; call :meth:`commit`
    first to make the blob visible, or :meth:`abort` to discard it.
    """

    def __init__(self, store: ContentStore, digest: str, expected_size: int | None,
                 wait: bool, verified_by_writer: bool = False) -> None:
        self.store = store
        self.verified_by_writer = verified_by_writer
        """The writer checks the digest itself before :meth:`commit`; no hash is kept here."""
        self.digest = digest
        """The digest the content must hash to."""
        self.expected_size = expected_size
        """The size the content must have, or ``None`` when unknown."""
        self._algorithm, self._hex = split_digest(digest)
        self._dir = store.ingest_root / _ingest_name(digest)
        self._fd: int | None = None
        self._hash = hashlib.new(self._algorithm)
        self.offset = 0
        """Bytes written so far (including those of earlier, interrupted attempts)."""
        self.committed = False
        """Whether the blob is in the store (already there, or committed by this ingest)."""
        self._open(wait)

    def _open(self, wait: bool) -> None:
        # Another writer of the same blob may commit (or abort) and remove the ingest
        # folder at any moment: between our mkdir and open, or while we wait for its
        # lock. Either way we hold nothing useful then, so look again.
        for _ in range(_OPEN_ATTEMPTS):
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._dir / "data", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                if self.store.has(self.digest):
                    self._already_stored()
                    return
                continue
            except OSError as exc:
                raise StorageError(f"cannot open ingest for {self.digest}: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except OSError as exc:
                os.close(fd)
                raise StorageError(f"{self.digest} is being downloaded by someone else") from exc
            self._fd = fd
            if self.store.has(self.digest):
                self._already_stored()
                return
            if _same_file(fd, self._dir / "data"):
                break
            self.close()  # the folder went while we waited for its lock
        else:
            raise StorageError(f"cannot open ingest for {self.digest}: its folder keeps vanishing")
        meta = read_json(self._dir / "meta.json", {}) or {}
        if meta.get("expected_size") not in (None, self.expected_size):
            os.ftruncate(fd, 0)  # a different descriptor: start again
        if self.expected_size is not None and os.fstat(fd).st_size > self.expected_size:
            os.ftruncate(fd, 0)
        atomic_write_json(self._dir / "meta.json",
                          {"digest": self.digest, "expected_size": self.expected_size})
        self._rehash()

    def _already_stored(self) -> None:
        """The blob is in the store already: nothing to write; remove the ingest folder."""
        self.committed = True
        self.offset = self.store.size(self.digest)
        self.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _rehash(self) -> None:
        """Hash what earlier attempts wrote, so the digest covers the whole blob."""
        assert self._fd is not None
        self._hash = hashlib.new(self._algorithm)
        size = os.fstat(self._fd).st_size
        offset = size if self.verified_by_writer else 0
        while offset < size:
            chunk = os.pread(self._fd, min(1 << 20, size - offset), offset)
            if not chunk:
                break
            self._hash.update(chunk)
            offset += len(chunk)
        os.ftruncate(self._fd, offset)
        os.lseek(self._fd, offset, os.SEEK_SET)
        self.offset = offset

    def read_back(self) -> Iterator[bytes]:
        """The bytes already held (what :attr:`offset` counts), for callers that hash them."""
        assert self._fd is not None
        position = 0
        while position < self.offset:
            chunk = os.pread(self._fd, min(1 << 20, self.offset - position), position)
            if not chunk:
                return
            position += len(chunk)
            yield chunk

    def restart(self) -> None:
        """Throw away what was written and start at offset 0 (the server ignored Range)."""
        self._check_open()
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self._hash = hashlib.new(self._algorithm)
        self.offset = 0

    def _check_open(self) -> None:
        if self.committed:
            raise StorageError(f"ingest of {self.digest} is already committed")
        if self._fd is None:
            raise StorageError(f"ingest of {self.digest} is closed")

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Append ``chunk``.

        Raises:
            SizeMismatch: the content grew past ``expected_size`` (the ingest is discarded).
            StorageError: the disk refused the write.
        """
        self._check_open()
        assert self._fd is not None
        if self.expected_size is not None and self.offset + len(chunk) > self.expected_size:
            self.abort()
            raise SizeMismatch(f"{self.digest}: content is longer than the declared "
                               f"{self.expected_size} bytes")
        if not self.verified_by_writer:
            self._hash.update(chunk)
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            raise StorageError(f"cannot write {self.digest}: {exc.strerror}") from exc
        self.offset += len(chunk)

    def commit(self) -> Path:
        """Verify size and digest, then make the blob visible; returns its path.

        Raises:
            SizeMismatch: shorter than ``expected_size`` (the partial is kept for a resume).
            DigestMismatch: the content hashes to something else (the ingest is discarded).
        """
        if self.committed:
            return self.store.path(self.digest)
        self._check_open()
        assert self._fd is not None
        if self.expected_size is not None and self.offset != self.expected_size:
            raise SizeMismatch(f"{self.digest}: got {self.offset} of "
                               f"{self.expected_size} bytes")
        actual = f"{self._algorithm}:{self._hash.hexdigest()}"
        if not self.verified_by_writer and actual != self.digest:
            self.abort()
            raise DigestMismatch(f"content hashes to {actual}, not {self.digest}")
        target = self.store.path(self.digest)
        try:
            os.fsync(self._fd)
            os.fchmod(self._fd, 0o444)
            target.parent.mkdir(exist_ok=True)
            os.rename(self._dir / "data", target)
            fsync_dir(target.parent)
        except OSError as exc:
            raise StorageError(f"cannot store {self.digest}: {exc.strerror}") from exc
        self.committed = True
        self.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        return target

    def abort(self) -> None:
        """Discard the partial content (removed while the lock is held, so a waiting
        writer never takes over the file being removed)."""
        shutil.rmtree(self._dir, ignore_errors=True)
        self.close()

    def close(self) -> None:
        """Close the file and release the lock; a partial stays on disk for a resume."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Ingest:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None and issubclass(kind, DigestMismatch):
            self.abort()  # a wrong blob is never resumed: the next attempt starts afresh
        else:
            self.close()


class ContentStore:
    """Blobs by digest under ``<content>/blobs/sha256`` with ingests in ``<content>/ingest``.

    Args:
        content_root: the ``content/`` folder of a state root.
    """

    def __init__(self, content_root: str | os.PathLike[str]) -> None:
        self.root = Path(content_root)
        self.blob_root = self.root / "blobs" / "sha256"
        self.ingest_root = self.root / "ingest"
        self.blob_root.mkdir(parents=True, exist_ok=True)
        self.ingest_root.mkdir(parents=True, exist_ok=True)

    def ingest(self, digest: str, expected_size: int | None = None, *,
               wait: bool = True, verified_by_writer: bool = False) -> Ingest:
        """Start or resume writing the blob ``digest``.

        Args:
            digest: ``sha256:<hex>`` the content must hash to.
            expected_size: the descriptor's size; checked by writes and commit.
            wait: block while another writer holds the same ingest (else fail).
            verified_by_writer: the writer hashes every byte of the blob (those an
                earlier attempt left too) and calls :meth:`Ingest.commit` only when
                they match ``digest``, as the registry client's ``fetch_blob`` does
                (it raises first); the ingest then skips hashing them a second time.

        Returns:
            An :class:`Ingest` at its current :attr:`Ingest.offset`; ``committed``
            is already true when the blob is in the store.

        Raises:
            InvalidArgument: ``digest`` is not a sha256 or sha512 digest.
            StorageError: the ingest cannot be opened, or is busy and ``wait`` is false.
        """
        return Ingest(self, digest, expected_size, wait, verified_by_writer)

    def put(self, data: bytes, digest: str | None = None) -> str:
        """Store a small blob held in memory (a manifest, a config); returns its digest.

        Raises:
            DigestMismatch: ``data`` does not hash to ``digest``.
        """
        digest = digest or sha256_digest(data)
        with self.ingest(digest, len(data)) as ing:
            if not ing.committed:
                if ing.offset:
                    ing.restart()
                ing.write(data)
                ing.commit()
        return digest

    def put_stream(self, source: BinaryIO) -> BlobInfo:
        """Store a stream whose digest is not known in advance (``docker import``).

        Raises:
            StorageError: the disk refused the write.
        """
        tmp = self.ingest_root / f"stream-{os.getpid()}-{secrets.token_hex(6)}"
        hasher = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb", buffering=0) as out:
                while chunk := source.read(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), 0o444)
            digest = "sha256:" + hasher.hexdigest()
            os.rename(tmp, self.path(digest))
            fsync_dir(self.blob_root)
        except OSError as exc:
            raise StorageError(f"cannot store the stream: {exc.strerror or exc}") from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        return BlobInfo(digest, size)

    def path(self, digest: str) -> Path:
        """Where the blob ``digest`` lives (whether or not it exists)."""
        algorithm, hex_part = split_digest(digest)
        return self.root / "blobs" / algorithm / hex_part

    def has(self, digest: str) -> bool:
        """Whether the verified blob ``digest`` is in the store."""
        return self.path(digest).is_file()

    def size(self, digest: str) -> int:
        """The blob's length in bytes.

        Raises:
            NotFound: no such blob.
        """
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no such blob: {digest}") from None

    def open(self, digest: str) -> BinaryIO:
        """The blob opened for reading (binary, unbuffered).

        Raises:
            NotFound: no such blob.
        """
        try:
            return open(self.path(digest), "rb", buffering=0)
        except FileNotFoundError:
            raise NotFound(f"no such blob: {digest}") from None

    def read(self, digest: str) -> bytes:
        """The whole blob (for manifests and configs).

        Raises:
            NotFound: no such blob.
        """
        with self.open(digest) as f:
            return f.read()

    def delete(self, digest: str) -> bool:
        """Remove the blob; returns whether it existed."""
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            return False
        fsync_dir(self.path(digest).parent)
        return True

    def iter(self) -> Iterator[BlobInfo]:
        """Every verified blob, in no particular order."""
        for algorithm in ALGORITHMS:
            folder = self.root / "blobs" / algorithm
            if not folder.is_dir():
                continue
            with os.scandir(folder) as entries:
                for entry in entries:
                    if _DIGEST.match(f"{algorithm}:{entry.name}") and entry.is_file():
                        yield BlobInfo(f"{algorithm}:{entry.name}", entry.stat().st_size)

    def ingests(self) -> list[IngestInfo]:
        """Every partial download on disk."""
        found = []
        with os.scandir(self.ingest_root) as entries:
            for entry in entries:
                digest = _digest_of_ingest(entry.name)
                if digest is None:
                    continue
                meta = read_json(Path(entry.path) / "meta.json", {}) or {}
                try:
                    offset = os.stat(Path(entry.path) / "data").st_size
                except FileNotFoundError:
                    offset = 0
                found.append(IngestInfo(digest, offset,
                                        meta.get("expected_size")))
        return found

    def garbage(self, referenced: set[str]) -> list[BlobInfo]:
        """Blobs that nothing in ``referenced`` (digests) names: candidates for removal."""
        return [blob for blob in self.iter() if blob.digest not in referenced]
