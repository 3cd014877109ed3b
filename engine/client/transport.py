"""Where an engine is: ``unix://PATH``, ``tcp://HOST:PORT`` (``https`` with TLS) → an httpx client."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx

from engine.client.errors import DockerException

WHARF_SOCKET = "/run/wharf.sock"
"""Where ``wharf daemon`` serves by default."""

DOCKER_SOCKET = "/var/run/docker.sock"
"""Where Docker's daemon serves by default."""


def default_host() -> str:
    """The engine to use without ``DOCKER_HOST``.

    ``unix:///run/wharf.sock`` if that socket exists (a ``wharf daemon``),
    else ``unix:///var/run/docker.sock`` (a Docker daemon), matching what
    docker-py would pick.
    """
    if os.path.exists(WHARF_SOCKET):
        return f"unix://{WHARF_SOCKET}"
    return f"unix://{DOCKER_SOCKET}"


@dataclass
class TLSConfig:
    """Client TLS: CA to verify the engine, and a client certificate."""

    ca_cert: str | None = None
    client_cert: tuple[str, str] | None = None
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        """An SSL context for httpx."""
        context = ssl.create_default_context(cafile=self.ca_cert) if self.verify else ssl._create_unverified_context()  # noqa: S323
        if self.client_cert:
            context.load_cert_chain(*self.client_cert)
        return context


@dataclass
class Endpoint:
    """A parsed engine address.

    Attributes:
        base_url: the URL requests go to (a placeholder host for unix sockets).
        socket_path: the unix socket, or ``None`` for TCP.
    """

    base_url: str
    socket_path: str | None = None
    tls: TLSConfig | None = None


def parse_host(host: str | None, tls: TLSConfig | bool | None = None) -> Endpoint:
    """``unix:///run/wharf.sock`` / ``tcp://127.0.0.1:2375`` / ``http(s)://…`` → :class:`Endpoint`.

    Raises:
        DockerException: an address the client cannot use.
    """
    host = host or default_host()
    if host.startswith("/"):
        host = f"unix://{host}"
    parsed = urlparse(host)
    tls_config = TLSConfig() if tls is True else (tls or None)
    if parsed.scheme in ("unix", "http+unix"):
        path = parsed.path or parsed.netloc
        if not path:
            raise DockerException(f"invalid unix socket address {host!r}")
        return Endpoint("http://docker", path)
    if parsed.scheme in ("tcp", "http", "https"):
        if not parsed.hostname:
            raise DockerException(f"invalid address {host!r}: no host")
        secure = parsed.scheme == "https" or tls_config is not None
        port = parsed.port or (2376 if secure else 2375)
        hostname = f"[{parsed.hostname}]" if ":" in parsed.hostname else parsed.hostname
        return Endpoint(f"{'https' if secure else 'http'}://{hostname}:{port}",
                        tls=tls_config if secure else None)
    if parsed.scheme == "ssh":
        raise DockerException("ssh:// engine addresses are not supported yet")
    raise DockerException(f"invalid engine address {host!r}: use unix://PATH or tcp://HOST:PORT")


def make_http_client(endpoint: Endpoint, timeout: float | None, user_agent: str,
                     max_connections: int = 100) -> httpx.Client:
    """A thread-safe httpx client for ``endpoint`` (connection pool shared by all threads)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
    if endpoint.socket_path is not None:
        transport = httpx.HTTPTransport(uds=endpoint.socket_path, limits=limits)
    else:
        verify: ssl.SSLContext | bool = endpoint.tls.context() if endpoint.tls else True
        transport = httpx.HTTPTransport(verify=verify, limits=limits)
    return httpx.Client(transport=transport, base_url=endpoint.base_url,
                        timeout=httpx.Timeout(timeout), headers={"User-Agent": user_agent})
