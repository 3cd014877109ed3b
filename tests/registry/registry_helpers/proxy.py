"""A tampering HTTP proxy on loopback, in front of a real registry.

Requests are forwarded to the upstream registry unchanged unless a
:class:`Rule` matches (method and a regex on path+query), in which case the
proxy misbehaves as told: answer a status (5xx, 429 + Retry-After), flip a
byte, drop the connection after N body bytes, declare and send fewer bytes,
lie about Content-Type, serve a canned body, redirect elsewhere, ignore
Range. Every request is recorded with its headers.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

class _QuietServer(ThreadingHTTPServer):
    """A threading server that does not print a traceback when a client hangs up on it."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        import sys  # noqa: PLC0415

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                "proxy-authorization", "proxy-authenticate", "host", "content-length"}


@dataclass
class Rule:
    """One way to misbehave.

    Attributes:
        path: regex searched in ``path?query``.
        action: ``status``, ``flip``, ``drop``, ``short``, ``content_type``, ``body``,
            ``redirect``, ``ignore_range``, ``strip_digest``; several joined by commas.
        method: only this method (``None``: any).
        times: how often it applies (``-1``: always).
        status: for ``status`` and ``body``.
        headers: extra response headers (``Retry-After``, ``Link``, …).
        body: for ``status`` and ``body``.
        at: byte index for ``flip``, ``drop``, ``short``.
        value: the Content-Type for ``content_type``; the target base URL for ``redirect``.
    """

    path: str
    action: str
    method: str | None = None
    times: int = 1
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    at: int = 0
    value: str = ""
    hits: int = 0


@dataclass
class Seen:
    """A request the proxy received."""

    method: str
    path: str
    headers: dict[str, str]
    action: str | None


class TamperProxy:
    """The proxy; ``upstream`` is the registry's base URL, ``upstream_auth`` credentials to inject."""

    def __init__(self, upstream: str, upstream_auth: tuple[str, str] | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=30, follow_redirects=False, auth=upstream_auth)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def add(self, path: str, action: str, **kwargs: object) -> Rule:
        rule = Rule(path, action, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self.rules.append(rule)
        return rule

    def requests(self, method: str | None = None, path: str = "") -> list[Seen]:
        return [s for s in self.seen if (method is None or s.method == method) and re.search(path, s.path)]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def _match(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if (rule.method is None or rule.method == method) and re.search(rule.path, path) \
                        and (rule.times < 0 or rule.hits < rule.times):
                    rule.hits += 1
                    return rule
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rule = proxy._match(self.command, self.path)
                acts = set(rule.action.split(",")) if rule else set()
                proxy.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                       rule.action if rule else None))
                if "status" in acts:
                    self._reply(rule.status, rule.headers, rule.body)
                    return
                if "body" in acts:
                    self._reply(rule.status, rule.headers, rule.body)
                    return
                if "redirect" in acts:
                    self._reply(307, {"Location": rule.value + self.path, **rule.headers}, b"")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                if "ignore_range" in acts:
                    headers = {k: v for k, v in headers.items() if k.lower() != "range"}
                upstream = proxy._http.request(self.command, proxy.upstream + self.path,
                                               headers=headers, content=body or None)
                data = upstream.content
                out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
                               and k.lower() != "content-encoding"}
                if "content_type" in acts:
                    out_headers = {k: v for k, v in out_headers.items() if k.lower() != "content-type"}
                    out_headers["Content-Type"] = rule.value
                if "strip_digest" in acts:
                    out_headers = {k: v for k, v in out_headers.items() if k.lower() != "docker-content-digest"}
                out_headers.update(rule.headers if rule else {})
                if self.command == "HEAD":
                    out_headers["Content-Length"] = upstream.headers.get("content-length", "0")
                    self._reply(upstream.status_code, out_headers, b"", head=True)
                    return
                if "flip" in acts and data:
                    index = min(rule.at, len(data) - 1)
                    data = data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1:]
                if "short" in acts:
                    self._reply(upstream.status_code, out_headers, data[:rule.at])
                    return
                if "drop" in acts:
                    self.send_response(upstream.status_code)
                    for key, value in out_headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[:rule.at])
                    self.wfile.flush()
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self._reply(upstream.status_code, out_headers, data)

            def _reply(self, status: int, headers: dict[str, str], body: bytes, head: bool = False) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if not (head and key.lower() == "content-length"):
                        self.send_header(key, value)
                if head:
                    self.send_header("Content-Length", headers.get("Content-Length", "0"))
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

        return Handler
