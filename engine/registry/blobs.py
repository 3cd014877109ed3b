"""Streaming blob downloads into a sink, verified while they stream, resumable with Range.

A descriptor's ``urls`` (foreign layers) are tried first, without
credentials, before the registry itself (CVE-2020-15157).

Blobs are asked for with ``Accept-Encoding: identity`` so that offsets and
Content-Length count stored bytes; a server that encodes anyway is decoded
(the digest covers the blob after transport decoding).

The sink is the content store's ingest writer (:class:`BlobSink`: ``offset``
and ``write``). :func:`fetch_blob` asks for ``bytes=<offset>-`` when the
sink already holds a prefix, accepts a 206 only with a matching
``Content-Range``, and on a 200 skips the bytes the sink already has. If the
connection drops mid-blob it reconnects from where it got to (a bounded
number of times, with backoff). It never writes past the descriptor's size,
and checks size and digest at the end: on :class:`~engine.errors.DigestMismatch`
or :class:`~engine.errors.SizeMismatch` the sink's content is bad and must be
discarded, never committed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

import httpx

from engine.errors import DigestMismatch, InvalidArgument, RegistryError, RegistryUnavailable, SizeMismatch
from engine.jobs import Component, Job
from engine.registry.manifest import Descriptor
from engine.registry.reference import Reference
from engine.registry.responses import raise_for_status
from engine.registry.transport import Transport, describe_transport_error

DEFAULT_CHUNK_SIZE = 1024 * 1024
"""Bytes handed to the sink per write (at most)."""

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")

Progress = Callable[[int, int], None]
"""``progress(current_bytes, total_bytes)``, called after every write."""


@runtime_checkable
class BlobSink(Protocol):
    """Where a blob's bytes go: the content store's ingest writer.

    ``offset`` is how many bytes of the blob the sink already holds (its
    partial download); ``write`` appends. A sink that can resume may also
    offer ``read_back() -> Iterable[bytes]`` yielding those first ``offset``
    bytes, so the digest can be checked over the whole blob; otherwise pass
    ``hasher`` to :func:`fetch_blob`, already fed with them.
    """

    @property
    def offset(self) -> int:
        """Bytes already held."""

    def write(self, data: bytes) -> Any:
        """Append ``data``."""


class BytesSink:
    """A :class:`BlobSink` into memory (for configs, tests and small blobs)."""

    def __init__(self, initial: bytes = b"") -> None:
        self.buffer = bytearray(initial)

    @property
    def offset(self) -> int:
        """Bytes held."""
        return len(self.buffer)

    def write(self, data: bytes) -> None:
        """Append ``data``."""
        self.buffer += data

    def read_back(self) -> Iterable[bytes]:
        """The bytes held."""
        return [bytes(self.buffer)]

    def getvalue(self) -> bytes:
        """Everything written."""
        return bytes(self.buffer)


def _prefix_hasher(descriptor: Descriptor, sink: BlobSink, offset: int, hasher: Any) -> Any:
    if offset == 0:
        return descriptor.digest.hasher()
    if hasher is not None:
        return hasher
    read_back = getattr(sink, "read_back", None)
    if read_back is None:
        raise InvalidArgument(
            f"cannot resume {descriptor.digest.short} at byte {offset}: the sink cannot read back "
            "its first bytes and no hasher was given, so the digest could not be verified")
    fresh = descriptor.digest.hasher()
    seen = 0
    for chunk in read_back():
        chunk = chunk[: offset - seen]
        fresh.update(chunk)
        seen += len(chunk)
        if seen >= offset:
            break
    if seen != offset:
        raise InvalidArgument(f"sink read back {seen} bytes, but says it holds {offset}")
    return fresh


def fetch_blob(transport: Transport, repo: Reference, descriptor: Descriptor, sink: BlobSink, *,
               offset: int | None = None, progress: Progress | None = None, hasher: Any = None,
               chunk_size: int = DEFAULT_CHUNK_SIZE, job: Job | None = None,
               max_resumes: int | None = None) -> int:
    """Download a blob into ``sink``, resuming and verifying.

    Args:
        transport: the client's transport.
        repo: the repository (its domain picks the registry).
        descriptor: what to fetch: digest and exact size.
        sink: where bytes go; :attr:`BlobSink.offset` bytes are assumed already there.
        offset: override the sink's offset.
        progress: called with (bytes held, total) after each write.
        hasher: a hash object already fed with the first ``offset`` bytes.
        chunk_size: bytes per read and write.
        job: where the ``blob fetched`` step goes.
        max_resumes: reconnects allowed after dropped connections (default: the transport's retries).

    Returns:
        The number of bytes written in this call.

    Raises:
        DigestMismatch: the blob does not hash to its digest.
        SizeMismatch: the registry sent more, or a complete response with fewer, bytes than declared.
        ManifestUnknown: the registry has no such blob.
        RegistryUnavailable: it could not be reached, or kept dropping the connection.
    """
    start = sink.offset if offset is None else offset
    size = descriptor.size
    if start > size:
        raise SizeMismatch(f"blob {descriptor.digest.short}: the sink holds {start} bytes, "
                           f"more than the {size} the descriptor declares")
    digest_hasher = _prefix_hasher(descriptor, sink, start, hasher)
    position = start
    written = 0
    resumes_left = transport.retries if max_resumes is None else max_resumes
    resumed_from = start if start else None
    delay = transport.backoff
    what = f"blob {descriptor.digest} of {repo.name}"
    external = list(descriptor.urls)
    while position < size or (size == 0 and written == 0 and position == 0):
        headers = {"Accept-Encoding": "identity"}
        if position:
            headers["Range"] = f"bytes={position}-"
        response = None
        while external and response is None:  # foreign layers: their own URLs first, no credentials
            source = external.pop(0)
            response = transport.external_get(source, headers)
            if response is not None and job is not None:
                job.step("external blob source", Component.REGISTRY, str(descriptor.digest), url=source)
        if response is None:
            response = transport.request("GET", repo.api_host, f"/v2/{repo.path}/blobs/{descriptor.digest}",
                                         registry=repo.domain, scopes=[f"repository:{repo.path}:pull"],
                                         headers=headers, job=job, stream=True)
        pending = bytearray()

        def flush() -> None:
            nonlocal position, written
            if not pending:
                return
            data = bytes(pending)
            pending.clear()
            digest_hasher.update(data)
            sink.write(data)
            position += len(data)
            written += len(data)
            if progress is not None:
                progress(position, size)

        try:
            skip = _check_start(response, position, size, what)
            try:
                encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
                for piece in (response.iter_bytes() if encoded else response.iter_raw()):
                    if skip:
                        drop = min(skip, len(piece))
                        piece, skip = piece[drop:], skip - drop
                        if not piece:
                            continue
                    if position + len(pending) + len(piece) > size:
                        raise SizeMismatch(f"{what}: the registry sent more than the declared {size} bytes")
                    pending += piece
                    if len(pending) >= chunk_size:
                        flush()
                flush()
            except httpx.TransportError as exc:
                flush()  # keep what arrived intact: the resume starts after it
                if resumes_left <= 0:
                    raise RegistryUnavailable(
                        f"{what}: the connection kept dropping ({describe_transport_error(exc)}) "
                        f"at byte {position} of {size}") from None
                resumes_left -= 1
                resumed_from = position
                transport.sleep(min(delay, transport.max_backoff))
                delay *= 2
                continue
        finally:
            response.close()
        if position < size:
            raise SizeMismatch(f"{what}: the registry sent {position} of {size} bytes and ended the response")
        break
    if not descriptor.digest.matches(digest_hasher):
        raise DigestMismatch(f"{what} hashes to {digest_hasher.name}:{digest_hasher.hexdigest()}, "
                             f"not to {descriptor.digest}")
    if job is not None:
        job.step("blob fetched", Component.REGISTRY, str(descriptor.digest), repository=repo.name,
                 size=size, media_type=descriptor.media_type, resumed_from=resumed_from)
    return written


def _check_start(response: httpx.Response, position: int, size: int, what: str) -> int:
    """Check a blob response's status and range; return how many leading bytes to skip."""
    if position and response.status_code == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
        if not match or int(match.group(1)) != position:
            raise RegistryError(
                f"{what}: asked for bytes {position}- but the registry answered Content-Range "
                f"{response.headers.get('content-range')!r}")
        if match.group(3) != "*" and int(match.group(3)) != size:
            raise SizeMismatch(f"{what}: the registry says the blob has {match.group(3)} bytes, "
                               f"the descriptor {size}")
        return 0
    raise_for_status(response, what, ok=(200,))
    length = response.headers.get("content-length")
    encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
    if not encoded and length is not None and length.isdigit() and int(length) != size:
        raise SizeMismatch(f"{what}: the registry offers {length} bytes, the descriptor declares {size}")
    return position  # a 200 to a Range request: the whole blob again, skip what we have
