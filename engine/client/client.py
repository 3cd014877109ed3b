"""The high-level client: :class:`DockerClient` and :func:`from_env`, in docker-py's shape."""

from __future__ import annotations

import os
from typing import Any

from engine.client.api import APIClient
from engine.client.api_base import DEFAULT_TIMEOUT_SECONDS
from engine.client.models_containers import ContainerCollection
from engine.client.models_images import ImageCollection, NetworkCollection, VolumeCollection
from engine.client.streams import CancellableStream
from engine.client.transport import TLSConfig


class DockerClient:
    """A client for one engine: ``.containers``, ``.images``, ``.networks``, ``.volumes``, ``.api``.

    Thread-safe: create one and share it between threads (Textual thread
    workers included); close streams you stop reading.

    Args:
        base_url: ``unix://PATH`` or ``tcp://HOST:PORT`` (default: ``DOCKER_HOST`` rules of
            :func:`from_env` are *not* applied here; see :func:`engine.client.transport.default_host`).
        version: ``"auto"`` (negotiate) or a fixed API version such as ``"1.50"``.
        timeout: seconds for non-streaming requests.
        tls: TLS settings for ``tcp://`` engines.
    """

    def __init__(self, base_url: str | None = None, version: str | None = "auto",
                 timeout: float = DEFAULT_TIMEOUT_SECONDS, tls: TLSConfig | bool | None = None,
                 **kwargs: Any) -> None:
        self.api = APIClient(base_url=base_url, version=version, timeout=timeout, tls=tls, **kwargs)
        """The low-level client, one method per endpoint."""

    @classmethod
    def from_env(cls, **kwargs: Any) -> DockerClient:
        """A client for the engine named by the environment (see :func:`from_env`)."""
        return from_env(**kwargs)

    @property
    def containers(self) -> ContainerCollection:
        """Containers on this engine."""
        return ContainerCollection(client=self)

    @property
    def images(self) -> ImageCollection:
        """Images on this engine."""
        return ImageCollection(client=self)

    @property
    def networks(self) -> NetworkCollection:
        """Networks on this engine."""
        return NetworkCollection(client=self)

    @property
    def volumes(self) -> VolumeCollection:
        """Volumes on this engine."""
        return VolumeCollection(client=self)

    def ping(self) -> bool:
        """True if the engine answers."""
        return self.api.ping()

    def version(self, api_version: bool = True) -> dict[str, Any]:
        """The engine's versions."""
        return self.api.version(api_version)

    def info(self) -> dict[str, Any]:
        """The engine's ``/info``."""
        return self.api.info()

    def df(self) -> dict[str, Any]:
        """Disk usage."""
        return self.api.df()

    def events(self, *args: Any, **kwargs: Any) -> CancellableStream:
        """Docker's object events (see :meth:`APIClient.events`)."""
        return self.api.events(*args, **kwargs)

    def journal(self, *args: Any, **kwargs: Any) -> CancellableStream:
        """Wharf's journal of every engine event (see :meth:`APIClient.journal`)."""
        return self.api.journal(*args, **kwargs)

    def login(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Check registry credentials."""
        return self.api.login(*args, **kwargs)

    def close(self) -> None:
        """Close every pooled connection."""
        self.api.close()

    def __enter__(self) -> DockerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def kwargs_from_env(environment: dict[str, str] | None = None) -> dict[str, Any]:
    """``base_url`` and ``tls`` from ``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``."""
    env = os.environ if environment is None else environment
    kwargs: dict[str, Any] = {}
    if env.get("DOCKER_HOST"):
        kwargs["base_url"] = env["DOCKER_HOST"]
    cert_path = env.get("DOCKER_CERT_PATH") or ""
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
    if verify or cert_path:
        cert_path = cert_path or os.path.join(os.path.expanduser("~"), ".docker")
        kwargs["tls"] = TLSConfig(
            ca_cert=os.path.join(cert_path, "ca.pem") if verify else None,
            client_cert=(os.path.join(cert_path, "cert.pem"), os.path.join(cert_path, "key.pem")),
            verify=verify)
    return kwargs


def from_env(version: str | None = "auto", timeout: float = DEFAULT_TIMEOUT_SECONDS,
             environment: dict[str, str] | None = None, **kwargs: Any) -> DockerClient:
    """A client for the engine the environment names.

    ``DOCKER_HOST`` if set (``unix://…``, ``tcp://…``); otherwise
    ``unix:///run/wharf.sock`` when a ``wharf daemon`` serves there, else
    ``unix:///var/run/docker.sock``. ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``
    configure TLS for TCP engines, as with docker-py.
    """
    return DockerClient(version=version, timeout=timeout, **{**kwargs_from_env(environment), **kwargs})
