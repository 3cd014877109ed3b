"""Reading what engines stream: JSON lines, multiplexed frames, hijacked sockets."""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from engine.client.errors import StreamParseError

STDOUT, STDERR = 1, 2


class CancellableStream:
    """An iterator over a streaming response; :meth:`close` ends it and its connection.

    Args:
        items: the items (decoded or raw).
        response: the HTTP response behind them.
    """

    def __init__(self, items: Iterator[Any], response: httpx.Response) -> None:
        self._items = items
        self._response = response

    def __iter__(self) -> CancellableStream:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._items)
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.StreamClosed):
            raise StopIteration from None

    def close(self) -> None:
        """Stop reading and close the connection (thread-safe).

        The socket is shut down first: on Linux closing a socket does not
        interrupt a ``recv`` another thread is blocked in, ``shutdown`` does.
        """
        if not self._response.is_closed:
            # Read to its end, the connection went back to the pool: another request may
            # be using it now, so only an unfinished stream's socket is shut down.
            _shutdown(self._response)
        self._response.close()

    def __enter__(self) -> CancellableStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shutdown(response: httpx.Response) -> None:
    """Shut down the socket under ``response`` (if it still has one); never raises."""
    stream = response.extensions.get("network_stream")
    get_extra_info = getattr(stream, "get_extra_info", None)
    try:
        sock = get_extra_info("socket") if get_extra_info is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def json_objects(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Decode a stream of JSON values that may straddle chunk boundaries.

    Raises:
        StreamParseError: bytes that are not JSON.
    """
    decoder = json.JSONDecoder()
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode("utf-8", errors="replace")
        while True:
            stripped = buffer.lstrip()
            if not stripped:
                buffer = ""
                break
            try:
                value, end = decoder.raw_decode(stripped)
            except ValueError:
                buffer = stripped
                break
            yield value
            buffer = stripped[end:]
    if buffer.strip():
        try:
            yield json.loads(buffer)
        except ValueError as exc:
            raise StreamParseError(f"invalid JSON in stream: {exc}") from None


def json_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The raw JSON objects of a stream, one ``bytes`` each (what ``decode=False`` yields)."""
    for value in json_objects(chunks):
        yield json.dumps(value).encode()


def frames(read: Callable[[int], bytes]) -> Iterator[tuple[int, bytes]]:
    """Multiplexed frames ``(stream, payload)`` from a ``read(n)`` function (``b""`` at EOF)."""
    while True:
        header = read_exactly(read, 8)
        if len(header) < 8:
            return
        stream, size = struct.unpack(">BxxxL", header)
        payload = read_exactly(read, size)
        yield stream, payload
        if len(payload) < size:
            return


def read_exactly(read: Callable[[int], bytes], n: int) -> bytes:
    """Up to ``n`` bytes: fewer only at EOF."""
    parts: list[bytes] = []
    remaining = n
    while remaining > 0:
        data = read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


class ByteReader:
    """A ``read(n)`` over an iterator of chunks (a chunked HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end."""
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except (StopIteration, httpx.ReadError, httpx.RemoteProtocolError, httpx.StreamClosed):
                return b""
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data


def output_chunks(read: Callable[[int], bytes], tty: bool) -> Iterator[tuple[int, bytes]]:
    """Output as ``(stream, data)``: frames when multiplexed, raw stdout chunks with a tty."""
    if not tty:
        yield from frames(read)
        return
    while True:
        data = read(65536)
        if not data:
            return
        yield STDOUT, data


def join_output(chunks: Iterable[tuple[int, bytes]], demux: bool) -> bytes | tuple[bytes | None, bytes | None]:
    """All output joined in arrival order, or ``(stdout, stderr)`` (``None`` for an empty side)."""
    if not demux:
        return b"".join(data for _, data in chunks)
    out: list[bytes] = []
    err: list[bytes] = []
    for stream, data in chunks:
        (err if stream == STDERR else out).append(data)
    return (b"".join(out) or None, b"".join(err) or None)


def demux_stream(chunks: Iterable[tuple[int, bytes]], demux: bool) -> Iterator[Any]:
    """Output as it comes: ``bytes``, or ``(stdout, None)`` / ``(None, stderr)`` with demux."""
    for stream, data in chunks:
        if not demux:
            yield data
        elif stream == STDERR:
            yield (None, data)
        else:
            yield (data, None)


class HijackedSocket:
    """The raw connection of an attach or exec after ``101 UPGRADED`` (httpx ``network_stream``).

    Keep it open while using it; :meth:`close` ends the connection. Offers the
    socket-like methods docker-py users expect (``recv``, ``sendall``,
    ``shutdown``, ``close``).

    Args:
        response: the 101 response (kept open).
    """

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._stream = response.extensions["network_stream"]
        self.tty = False

    def recv(self, n: int = 65536) -> bytes:
        """Up to ``n`` bytes from the engine; ``b""`` when it closed."""
        try:
            return self._stream.read(n)
        except (httpcore.ReadError, httpcore.NetworkError, OSError):
            return b""

    read = recv

    def sendall(self, data: bytes) -> None:
        """Send bytes to the process's stdin."""
        self._stream.write(data)

    write = sendall

    def shutdown_write(self) -> None:
        """Half-close: the engine closes the process's stdin."""
        sock = self._stream.get_extra_info("socket")
        if sock is not None:
            sock.shutdown(socket.SHUT_WR)

    def shutdown(self, how: int = socket.SHUT_WR) -> None:
        """Like ``socket.shutdown``."""
        sock = self._stream.get_extra_info("socket")
        if sock is not None:
            sock.shutdown(how)

    def settimeout(self, timeout: float | None) -> None:
        """Set the socket's timeout for reads."""
        sock = self._stream.get_extra_info("socket")
        if sock is not None:
            sock.settimeout(timeout)

    def output(self) -> Iterator[tuple[int, bytes]]:
        """The process's output as ``(stream, data)`` until it ends."""
        return output_chunks(self.recv, self.tty)

    def close(self) -> None:
        """Close the connection, waking any thread blocked in :meth:`recv`."""
        _shutdown(self._response)
        try:
            self._stream.close()
        finally:
            self._response.close()

    def __enter__(self) -> HijackedSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
