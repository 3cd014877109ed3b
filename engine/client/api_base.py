"""The low-level client's core: URLs, version negotiation, requests, errors, streams, hijack.

Thread safety: one :class:`APIClientBase` (and the ``DockerClient`` around
it) may be shared by any number of threads, e.g. Textual thread workers.
httpx's connection pool is locked; version negotiation happens once under a
lock; every streaming call (logs, events, stats, pull, attach) holds its own
connection until its iterator or socket is closed, so close them (``with``)
when a worker is cancelled.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx

from engine.client.errors import DockerException, EngineUnreachable, InvalidVersion, create_api_error
from engine.client.streams import CancellableStream, HijackedSocket, json_lines, json_objects
from engine.client.transport import TLSConfig, make_http_client, parse_host
from engine.version import API_VERSION, MIN_API_VERSION, __version__

DEFAULT_TIMEOUT_SECONDS = 60
"""Seconds a non-streaming request may take (docker-py's default)."""


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        raise InvalidVersion(f"invalid API version {version!r}") from None


def _query(params: dict[str, Any] | None) -> dict[str, Any]:
    """Drop ``None`` values; booleans as ``1``/``0`` like the docker CLI."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        out[key] = ("1" if value else "0") if isinstance(value, bool) else value
    return out


class APIClientBase:
    """Talks HTTP to one engine. See :class:`engine.client.api.APIClient` for the endpoints.

    Args:
        base_url: ``unix:///run/wharf.sock``, ``tcp://127.0.0.1:2375``, … (default: see
            :func:`engine.client.transport.default_host`).
        version: ``"auto"`` or ``None`` (negotiate on first use), or a fixed ``"1.50"``.
        timeout: seconds for non-streaming requests.
        tls: ``True`` or a :class:`TLSConfig` for ``tcp://`` engines.
        user_agent: the ``User-Agent`` header.
        max_pool_size: most simultaneous connections (streams each hold one).
    """

    def __init__(self, base_url: str | None = None, version: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_SECONDS, tls: TLSConfig | bool | None = None,
                 user_agent: str = f"wharf-client/{__version__}", max_pool_size: int = 100) -> None:
        self.endpoint = parse_host(base_url, tls)
        self.base_url = self.endpoint.base_url
        self.timeout = timeout
        self._http = make_http_client(self.endpoint, timeout, user_agent, max_pool_size)
        self._version_lock = threading.Lock()
        self._version: str | None = None
        if version not in (None, "auto"):
            _version_tuple(version)
            self._version = version

    # ---------------------------------------------------------------- version

    @property
    def api_version(self) -> str:
        """The API version in use; with ``"auto"`` the first access pings the engine.

        Raises:
            InvalidVersion: the engine's version is older than ``MIN_API_VERSION``.
            EngineUnreachable: nothing answers.
        """
        if self._version is None:
            with self._version_lock:
                if self._version is None:
                    self._version = self._negotiate()
        return self._version

    def _negotiate(self) -> str:
        response = self._send("HEAD", "/_ping")
        if response.status_code >= 400 and response.status_code != 500:
            response = self._send("GET", "/_ping")
        server = response.headers.get("api-version") or "1.24"
        chosen = min(_version_tuple(server), _version_tuple(API_VERSION))
        if chosen < _version_tuple(MIN_API_VERSION):
            raise InvalidVersion(f"the engine speaks API {server}; at least {MIN_API_VERSION} is needed")
        return ".".join(str(p) for p in chosen)

    # ------------------------------------------------------------------- http

    def _url(self, template: str, *args: str, versioned: bool = True) -> str:
        """``template`` with ``args`` quoted (keeping ``/`` and ``:``) under ``/vX.Y``."""
        quoted = [urllib.parse.quote(str(a), safe="/:") for a in args]
        path = template.format(*quoted)
        return f"/v{self.api_version}{path}" if versioned else path

    def _send(self, method: str, url: str, *, params: dict[str, Any] | None = None,
              json: Any = None, content: Any = None, headers: dict[str, str] | None = None,
              stream: bool = False, timeout: float | None | object = ...) -> httpx.Response:
        """Send one request; connection failures become :class:`EngineUnreachable`."""
        chosen: Any = httpx.USE_CLIENT_DEFAULT
        if timeout is not ...:
            chosen = httpx.Timeout(timeout)  # type: ignore[arg-type]
        elif stream:
            chosen = httpx.Timeout(self.timeout, read=None)  # streams may be quiet for ever
        request = self._http.build_request(method, url, params=_query(params), json=json,
                                           content=content, headers=headers, timeout=chosen)
        try:
            return self._http.send(request, stream=stream)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise EngineUnreachable(f"cannot reach the engine at {self._where()}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise EngineUnreachable(f"the engine at {self._where()} did not answer in time") from exc
        except httpx.TransportError as exc:
            raise EngineUnreachable(f"the connection to the engine at {self._where()} failed: {exc}") from exc

    def _where(self) -> str:
        return f"unix://{self.endpoint.socket_path}" if self.endpoint.socket_path else self.base_url

    def _get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", url, **kwargs)

    def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("POST", url, **kwargs)

    def _delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._send("DELETE", url, **kwargs)

    def _post_json(self, url: str, data: dict[str, Any] | None, **kwargs: Any) -> httpx.Response:
        """POST ``data`` as JSON with ``None`` values dropped (like docker-py)."""
        body = {k: v for k, v in (data or {}).items() if v is not None}
        return self._send("POST", url, json=body, **kwargs)

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        """Raise the right :class:`APIError` for an error status."""
        if response.status_code >= 400:
            try:
                raise create_api_error(response)
            finally:
                response.close()

    def _result(self, response: httpx.Response, json: bool = False, binary: bool = False) -> Any:
        """The body as JSON, bytes or text, after checking the status."""
        self._raise_for_status(response)
        response.read()
        if json:
            try:
                return response.json()
            except ValueError as exc:
                raise DockerException(f"the engine sent invalid JSON: {exc}") from None
        return response.content if binary else response.text

    def _stream_json(self, response: httpx.Response, decode: bool) -> CancellableStream:
        """A chunked JSON stream: dicts with ``decode``, else one ``bytes`` per object."""
        self._raise_for_status(response)
        chunks = response.iter_raw()
        items: Iterator[Any] = json_objects(chunks) if decode else json_lines(chunks)
        return CancellableStream(items, response)

    def _hijack(self, url: str, *, params: dict[str, Any] | None = None, json: Any = None,
                content_type: str = "text/plain") -> HijackedSocket:
        """POST with ``Upgrade: tcp`` and return the raw connection after ``101 UPGRADED``.

        Raises:
            APIError: any other answer.
        """
        headers = {"Connection": "Upgrade", "Upgrade": "tcp", "Content-Type": content_type}
        content = None
        if json is not None:
            import json as jsonlib  # noqa: PLC0415

            content = jsonlib.dumps(json).encode()
        response = self._send("POST", url, params=params, content=content or b"", headers=headers,
                              stream=True)
        if response.status_code != 101:
            self._raise_for_status(response)
            response.close()
            raise DockerException(f"unable to upgrade to tcp, received {response.status_code}")
        return HijackedSocket(response)

    def close(self) -> None:
        """Close every pooled connection."""
        self._http.close()

    def __enter__(self) -> APIClientBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
