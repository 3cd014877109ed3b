"""Routes requests to handlers: version prefixes, path patterns, error translation.

Every route is reachable with and without a ``/vX.Y`` prefix. Errors from
:mod:`engine.errors` are translated here, once, into ``{"message": …}``
with :attr:`~engine.errors.WharfError.status`; anything else is a 500 whose
traceback is logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from engine.api.bridge import Workers, iterate_in_thread
from engine.api.http import Request
from engine.model import Cancel
from engine.api.responses import AnyResponse, StreamResponse, error_response, json_bytes
from engine.errors import InvalidArgument, WharfError
from engine.jobs import EventBus
from engine.version import API_VERSION, MIN_API_VERSION, __version__

log = logging.getLogger(__name__)

Handler = Callable[["Api", Request], Awaitable[AnyResponse]]
"""A route: takes the API context and the request, returns a response."""

_VERSION_PREFIX = re.compile(r"^/v([0-9][0-9.]*)(/.*)$")


def version_tuple(version: str) -> tuple[int, ...]:
    """``"1.50"`` → ``(1, 50)``.

    Raises:
        InvalidArgument: not dotted numbers.
    """
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise InvalidArgument(f"invalid API version {version!r}") from None


def check_version(version: str) -> None:
    """Refuse versions outside ``MIN_API_VERSION … API_VERSION`` with Docker's message.

    Raises:
        InvalidArgument: too old or too new.
    """
    wanted = version_tuple(version)
    if wanted < version_tuple(MIN_API_VERSION):
        raise InvalidArgument(
            f"client version {version} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version")
    if wanted > version_tuple(API_VERSION):
        raise InvalidArgument(
            f"client version {version} is too new. Maximum supported API version is {API_VERSION}")


@dataclass
class Route:
    """One route: method, a pattern over the unprefixed path, and its handler."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    stream_body: bool = False


class Api:
    """The router and the context handlers get: the backend, the thread pool, the bus.

    Args:
        backend: the engine facade (see :mod:`engine.api.backend`).
        workers: the pool for short blocking calls.
    """

    def __init__(self, backend: Any, workers: Workers | None = None) -> None:
        self.backend = backend
        self.workers = workers or Workers()
        self.routes: list[Route] = []
        self.memo: dict[str, Any] = {}
        """What routes remember between requests (touched on the event loop only)."""
        self._headers = [("Api-Version", API_VERSION), ("Ostype", "linux"),
                         ("Server", f"Docker/{__version__} (linux)"),
                         ("Docker-Experimental", "false")]

    @property
    def bus(self) -> EventBus:
        """The engine's event bus."""
        return self.backend.bus

    # --------------------------------------------------------------- routes

    def add(self, method: str, pattern: str, handler: Handler, stream_body: bool = False) -> None:
        """Register a route; ``pattern`` is a regex over the whole unprefixed path."""
        self.routes.append(Route(method, re.compile(f"^{pattern}$"), handler, stream_body))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The first route matching ``method`` and ``path`` (HEAD also matches GET)."""
        for route in self.routes:
            if route.method != method and not (method == "HEAD" and route.method == "GET"):
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    # --------------------------------------------------------- App protocol

    def common_headers(self) -> list[tuple[str, str]]:
        """Headers on every response."""
        return self._headers

    def streams_body(self, method: str, path: str) -> bool:
        """Whether the matching route reads its body as a stream."""
        prefixed = _VERSION_PREFIX.match(path)
        found = self.match(method, prefixed.group(2) if prefixed else path)
        return bool(found and found[0].stream_body)

    async def handle(self, request: Request) -> AnyResponse:
        """Route ``request`` and translate every error into Docker's error shape."""
        try:
            path = request.path
            prefixed = _VERSION_PREFIX.match(path)
            if prefixed:
                request.api_version = prefixed.group(1)
                check_version(request.api_version)
                path = prefixed.group(2)
            found = self.match(request.method, path)
            if found is None:
                return error_response(404, "page not found")
            route, request.params = found
            return await route.handler(self, request)
        except WharfError as exc:
            return error_response(exc.status, str(exc))
        except NotImplementedError as exc:
            return error_response(501, str(exc) or "not implemented")
        except Exception as exc:  # noqa: BLE001 - the boundary: log it, answer 500
            log.exception("%s %s failed", request.method, request.path)
            return error_response(500, f"internal error: {exc}")

    # -------------------------------------------------------------- helpers

    def method(self, name: str) -> Callable[..., Any]:
        """The backend's method ``name``.

        Raises:
            NotImplementedError: this backend does not have it (answered 501).
        """
        fn = getattr(self.backend, name, None)
        if fn is None:
            raise NotImplementedError(f"{name.replace('_', ' ')} is not available in this engine yet")
        return fn

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call backend method ``name`` on the thread pool."""
        return await self.workers.call(self.method(name), *args, **kwargs)

    async def read(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Like :meth:`call`, but answered at once on the event loop when the backend can.

        A backend may offer ``<name>_now``, which never waits (no busy lock,
        no disk) and returns ``None`` when it cannot answer that way. A hop
        to the thread pool and back costs about a millisecond on a busy
        machine, more than reading a hundred in-memory records.
        """
        now = getattr(self.backend, f"{name}_now", None)
        if now is not None:
            answer = now(*args, **kwargs)
            if answer is not None:
                return answer
        return await self.call(name, *args, **kwargs)

    def iterate(self, factory: Callable[[], Iterator[Any]], cancel: Cancel) -> AsyncIterator[Any]:
        """Consume a blocking iterator on its own thread (see :func:`iterate_in_thread`)."""
        return iterate_in_thread(factory, cancel)

    async def primed_json_stream(self, items: AsyncIterator[Any],
                                 convert: Callable[[Any], Any] = lambda x: x) -> AnyResponse:
        """Like :meth:`json_stream`, but an error before the first item is a plain HTTP error.

        Moby answers a pull of an unknown repository with a 404, not with a
        200 whose stream holds the error; this waits for the first item
        before committing to a status.
        """
        try:
            first = await items.__anext__()
        except StopAsyncIteration:
            return self.json_stream(_empty())
        except BaseException:
            close = getattr(items, "aclose", None)
            if close is not None:
                await close()
            raise
        return self.json_stream(_prepend(first, items), convert)

    def json_stream(self, items: AsyncIterator[Any], convert: Callable[[Any], Any] = lambda x: x,
                    status: int = 200) -> StreamResponse:
        """A chunked stream of JSON lines; an engine error mid-stream becomes an error line."""

        async def lines() -> AsyncIterator[bytes]:
            try:
                async for item in items:
                    converted = convert(item)
                    if converted is not None:
                        yield json_bytes(converted) + b"\r\n"
            except WharfError as exc:
                yield json_bytes({"errorDetail": {"message": str(exc)}, "error": str(exc)}) + b"\r\n"
            except Exception as exc:  # noqa: BLE001
                log.exception("stream failed")
                yield json_bytes({"errorDetail": {"message": f"internal error: {exc}"},
                                  "error": f"internal error: {exc}"}) + b"\r\n"
            finally:
                close = getattr(items, "aclose", None)
                if close is not None:
                    await close()

        return StreamResponse(lines(), status)


async def _empty() -> AsyncIterator[Any]:
    return
    yield  # pragma: no cover - makes this an async generator


async def _prepend(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    try:
        async for item in rest:
            yield item
    finally:
        close = getattr(rest, "aclose", None)
        if close is not None:
            await close()


def decode_json_body(request: Request, default: Any = None) -> Any:
    """The body as JSON (``default`` when empty); 400 for malformed JSON."""
    return request.json(default)


def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (``{}`` when empty).

    Raises:
        InvalidArgument: malformed JSON, or not an object.
    """
    value = request.json({})
    if not isinstance(value, dict):
        raise InvalidArgument("invalid JSON in request body: expected an object")
    return value


def encode_header_json(value: Any) -> str:
    """JSON for a header value (compact, ASCII)."""
    return json.dumps(value, separators=(",", ":"))
