"""An HTTP/1.1 server on asyncio + h11 that owns its connections.

ASGI servers cannot answer ``101 UPGRADED`` with a raw TCP upgrade, and
httpx's ASGI transport does not stream, so the daemon serves HTTP itself:
one :class:`_Connection` per client socket, keep-alive, size limits, chunked
streams flushed chunk by chunk, and a hijack that hands the socket to an
attach or exec session. Routing lives elsewhere (:class:`App`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Protocol

import h11

from engine.api.hijack import HijackChannel
from engine.model import Cancel
from engine.api.responses import JSON, AnyResponse, HijackResponse, Response, StreamResponse, json_bytes
from engine.errors import InvalidArgument

log = logging.getLogger(__name__)


@dataclass
class Limits:
    """Size and time limits of the server.

    Attributes:
        max_header_bytes: the request line plus headers (over it: 431).
        max_body_bytes: a buffered request body (over it: 413).
        idle_timeout: seconds a keep-alive connection may wait for its next request.
        hijack_pause: the least time between flushing the 101 header block and the first stream byte.
        backlog: the listen queue length.
    """

    max_header_bytes: int = 64 * 1024
    max_body_bytes: int = 32 * 1024 * 1024
    idle_timeout: float = 300.0
    hijack_pause: float = 0.05
    backlog: int = 1024
    """Pending connections the kernel queues (asyncio would otherwise re-listen with 100)."""


@dataclass
class Request:
    """One parsed request, as routes see it.

    Attributes:
        method: ``GET``, ``POST`` …
        path: the percent-decoded path, without the query.
        query: every query parameter with all its values.
        headers: lower-cased names; repeated headers joined with ``", "``.
        body: the buffered body (empty when the route streams its body).
        body_stream: the body's chunks as they arrive, for routes that stream it.
        cancel: set when the client goes away while the request is served.
        api_version: the version from a ``/vX.Y`` prefix, or ``None``.
        params: what the route pattern captured.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    body_stream: AsyncIterator[bytes] | None = None
    cancel: Cancel = field(default_factory=Cancel)
    api_version: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``."""
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self, default: Any = None) -> Any:
        """The body parsed as JSON; ``default`` for an empty body.

        Raises:
            InvalidArgument: the body is not valid JSON.
        """
        if not self.body.strip():
            return default
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"invalid JSON in request body: {exc}") from None

    @property
    def wants_upgrade(self) -> bool:
        """Whether the client asked for a raw TCP upgrade."""
        return "upgrade" in self.headers.get("connection", "").lower() and "upgrade" in self.headers


class App(Protocol):
    """What the server needs from the layer that routes requests."""

    def streams_body(self, method: str, path: str) -> bool:
        """Whether this request's body should be streamed to the route, not buffered."""
        ...

    async def handle(self, request: Request) -> AnyResponse:
        """Answer one request (never raises: errors become error responses)."""
        ...

    def common_headers(self) -> list[tuple[str, str]]:
        """Headers sent on every response (``Api-Version``, ``Server``, …)."""
        ...


class _ClientGone(Exception):
    """The client closed or reset the connection."""


class HTTPServer:
    """Serves an :class:`App` on any number of listeners.

    Args:
        app: answers the requests.
        limits: size and time limits.
    """

    def __init__(self, app: App, limits: Limits | None = None) -> None:
        self.app = app
        self.limits = limits or Limits()
        self._servers: list[asyncio.base_events.Server] = []
        self._connections: set[asyncio.Task[None]] = set()

    async def serve_socket(self, sock: Any) -> None:
        """Start serving on an already bound, listening socket (unix or TCP).

        Args:
            sock: the socket; see :mod:`engine.api.listeners`.
        """
        if sock.family == getattr(__import__("socket"), "AF_UNIX"):
            server = await asyncio.start_unix_server(self._accept, sock=sock, backlog=self.limits.backlog,
                                                     limit=self.limits.max_header_bytes)
        else:
            server = await asyncio.start_server(self._accept, sock=sock, backlog=self.limits.backlog,
                                                limit=self.limits.max_header_bytes)
        self._servers.append(server)

    async def serve_tls(self, sock: Any, ssl_context: Any) -> None:
        """Start serving TLS on a bound, listening TCP socket."""
        server = await asyncio.start_server(self._accept, sock=sock, ssl=ssl_context,
                                            backlog=self.limits.backlog)
        self._servers.append(server)

    async def close(self) -> None:
        """Stop listening and end every open connection (their work is cancelled)."""
        for server in self._servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(BaseException):
                await task
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)
        self._servers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await _Connection(self, reader, writer).run()
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - one broken connection must not affect the others
            log.exception("connection failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)


class _Connection:
    """One client connection: requests in turn, until it closes or must close."""

    def __init__(self, server: HTTPServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.limits = server.limits
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes)

    async def run(self) -> None:
        while True:
            try:
                request = await self._read_request()
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint or 400
                message = ("request header fields too large" if status == 431
                           else f"malformed HTTP request: {exc}")
                await self._raw_error(status, message)
                return
            except _ClientGone:
                return
            if request is None:
                return
            if isinstance(request, Response):  # refused before routing (413)
                await self._raw_error(request.status, json.loads(request.body)["message"])
                return
            try:
                keep_alive = await self._respond(request)
            except _ClientGone:
                request.cancel.cancel()
                return
            if not keep_alive or self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                return
            self.h11.start_next_cycle()

    # ------------------------------------------------------------------ reading

    async def _next_event(self, timeout: float | None = None) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(timeout):  # no task per read, unlike wait_for
                    data = await self.reader.read(65536)
            except (TimeoutError, ConnectionError) as exc:
                raise _ClientGone() from exc
            self.h11.receive_data(data)

    async def _read_request(self) -> Request | Response | None:
        event = await self._next_event(self.limits.idle_timeout)
        if isinstance(event, h11.ConnectionClosed):
            return None
        assert isinstance(event, h11.Request), event
        size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
        if size > self.limits.max_header_bytes:
            raise h11.RemoteProtocolError("request header fields too large", error_status_hint=431)
        headers: dict[str, str] = {}
        for name, value in event.headers:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        target = event.target.decode("latin-1")
        raw_path, _, raw_query = target.partition("?")
        request = Request(
            method=event.method.decode("ascii"),
            path=urllib.parse.unquote(raw_path),
            query=urllib.parse.parse_qs(raw_query, keep_blank_values=True),
            headers=headers,
        )
        if self.server.app.streams_body(request.method, request.path):
            request.body_stream = self._body_chunks()
            return request
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limits.max_body_bytes:
            return _too_large(self.limits.max_body_bytes)
        body = bytearray()
        async for chunk in self._body_chunks():
            body += chunk
            if len(body) > self.limits.max_body_bytes:
                return _too_large(self.limits.max_body_bytes)
        request.body = bytes(body)
        return request

    async def _body_chunks(self) -> AsyncIterator[bytes]:
        if self.h11.they_are_waiting_for_100_continue:
            await self._write(self.h11.send(h11.InformationalResponse(status_code=100, headers=[])))
        while True:
            event = await self._next_event(self.limits.idle_timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise _ClientGone()

    # ------------------------------------------------------------------ writing

    async def _write(self, data: bytes | None) -> None:
        if not data:
            return
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise _ClientGone() from exc

    def _headers(self, extra: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
        return [(k.encode("latin-1"), v.encode("latin-1"))
                for k, v in [*extra, *self.server.app.common_headers()]]

    async def _raw_error(self, status: int, message: str) -> None:
        body = json_bytes({"message": message}) + b"\n"
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {JSON}",
                 f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in self.server.app.common_headers()]
        with contextlib.suppress(_ClientGone):
            await self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    async def _respond(self, request: Request) -> bool:
        response = await self.server.app.handle(request)
        if isinstance(response, HijackResponse):
            await self._hijack(request, response)
            return False
        if isinstance(response, StreamResponse):
            alive = await self._stream(request, response)
            return alive and self._body_done(request)
        keep_alive = self._body_done(request)
        no_body = response.status in (204, 304) or 100 <= response.status < 200
        extra = [] if no_body else [("Content-Length", str(len(response.body)))]
        if response.content_type:
            extra.insert(0, ("Content-Type", response.content_type))
        if not keep_alive:
            extra.append(("Connection", "close"))
        # one write for head, body and end: one syscall, and the client wakes up once
        parts = self.h11.send_with_data_passthrough(h11.Response(
            status_code=response.status, headers=self._headers([*extra, *response.headers]),
            reason=_reason(response.status))) or []
        if response.body and request.method != "HEAD" and not no_body:
            parts += self.h11.send_with_data_passthrough(h11.Data(data=response.body)) or []
        parts += self.h11.send_with_data_passthrough(h11.EndOfMessage()) or []
        await self._write(b"".join(parts))
        return keep_alive

    def _body_done(self, request: Request) -> bool:
        """Whether the whole request body was read (else the connection cannot be reused)."""
        return request.body_stream is None or self.h11.their_state is h11.DONE

    async def _stream(self, request: Request, response: StreamResponse) -> bool:
        """Send headers at once, then each chunk flushed; watch for the client leaving."""
        extra = [("Content-Type", response.content_type), *response.headers]
        pending: list[bytes] = []
        gone = False

        async def pump() -> None:
            await self._write(self.h11.send(h11.Response(
                status_code=response.status, headers=self._headers(extra),
                reason=_reason(response.status))))
            async for chunk in response.chunks:
                if chunk:
                    await self._write(self.h11.send(h11.Data(data=chunk)))
            await self._write(self.h11.send(h11.EndOfMessage()))

        async def watch() -> None:
            if not self._body_done(request):  # the route reads the body itself (import)
                await asyncio.Event().wait()
            while True:
                data = await self.reader.read(65536)
                if not data:
                    return
                pending.append(data)  # a pipelined next request: keep it for later

        sender = asyncio.ensure_future(pump())
        watcher = asyncio.ensure_future(watch())
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not sender.done():
                gone = True
                sender.cancel()
            watcher.cancel()
            for task in (sender, watcher):
                with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                    try:
                        await task
                    except _ClientGone:
                        gone = True
        finally:
            for task in (sender, watcher):
                task.cancel()
            request.cancel.cancel()  # the request is over either way: release what it held
            with contextlib.suppress(Exception):
                await response.chunks.aclose()  # type: ignore[attr-defined]
            if response.on_close is not None:
                with contextlib.suppress(Exception):
                    await response.on_close()
        if gone:
            return False
        for data in pending:
            self.h11.receive_data(data)
        return True

    async def _hijack(self, request: Request, response: HijackResponse) -> None:
        """Flush the 101 (or 200) header block alone, pause, then run the raw session."""
        if request.wants_upgrade:
            lines = ["HTTP/1.1 101 UPGRADED", f"Content-Type: {response.content_type}",
                     "Connection: Upgrade", "Upgrade: tcp"]
        else:
            lines = ["HTTP/1.1 200 OK", f"Content-Type: {response.content_type}"]
        lines += [f"{k}: {v}" for k, v in self.server.app.common_headers()]
        await self._write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        leftover, _closed = self.h11.trailing_data
        channel = HijackChannel(self.reader, self.writer, bytes(leftover), hold=self.limits.hijack_pause)
        try:
            await response.run(channel)
        finally:
            request.cancel.cancel()


def _too_large(limit: int) -> Response:
    return Response(413, json_bytes({"message": f"request body larger than {limit} bytes"}), JSON)


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""
