"""What a route returns: the kinds of HTTP responses the server knows how to send.

A route builds one of these and the connection (:mod:`engine.api.http`)
writes it: a whole body, a chunked stream flushed chunk by chunk, or a
``101 UPGRADED`` hijack handing the socket to a stdio session.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

try:  # ~7x faster than the standard library on a 100-container listing; optional
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the installation
    _orjson = None  # type: ignore[assignment]

JSON = "application/json"
"""Docker clients compare the whole Content-Type string: no charset."""

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes of ``value`` (orjson when installed, else the standard library;
    the same document either way, floats aside: ``1e16`` vs ``1e+16``)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value)
        except TypeError:  # non-str keys, integers past 64 bits …: the standard library handles them
            pass
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_line(value: Any) -> bytes:
    """:func:`json_bytes` followed by a newline, as Docker ends its JSON bodies."""
    return json_bytes(value) + b"\n"


@dataclass
class Response:
    """A complete response: status, headers and a body sent with Content-Length."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(value: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON body with ``Content-Type: application/json``."""
    return Response(status, json_line(value), JSON, headers or [])


def error_response(status: int, message: str) -> Response:
    """Docker's error shape: ``{"message": …}``."""
    return json_response({"message": message}, status)


def empty_response(status: int = 204) -> Response:
    """No body (204, 304, 201 …)."""
    return Response(status)


def text_response(text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
    """A plain text body."""
    return Response(status, text.encode(), content_type)


@dataclass
class StreamResponse:
    """A long-lived or streaming response, sent chunked.

    The status and headers are flushed at once, before the first chunk
    exists; every chunk the iterator yields is written and flushed on its
    own. When the client hangs up, the iterator is closed (``aclose``),
    which must cancel the work behind it.

    Attributes:
        chunks: the body, one flushed chunk per item.
        on_close: awaited once when the response ends, however it ends.
    """

    chunks: AsyncIterator[bytes]
    status: int = 200
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)
    on_close: Callable[[], Awaitable[None]] | None = None


@dataclass
class HijackResponse:
    """Take over the connection for raw bidirectional bytes (attach, exec start).

    The server answers ``101 UPGRADED`` (or ``200 OK`` to a request without
    ``Upgrade``), flushes that header block alone, pauses briefly, then
    calls ``run(channel)`` and closes the connection when it returns.

    Attributes:
        run: drives the session over the channel.
        content_type: raw for a tty, multiplexed otherwise.
    """

    run: Callable[[Any], Awaitable[None]]
    content_type: str = RAW_STREAM


AnyResponse = Response | StreamResponse | HijackResponse
"""Whatever a route may return."""
