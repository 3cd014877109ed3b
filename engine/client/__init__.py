"""The client: docker-py's shape on httpx; the console talks to engines only through it.

Layers (each delegates to the one below in one line)::

    DockerClient (client.py)        .containers .images .networks .volumes, from_env()
      └─ models_*.py                Container, Image, Network, Volume (attrs + methods)
    APIClient (api.py)              one method per endpoint, docker-py's names and arguments
      └─ api_base.py                URLs, version negotiation, errors, JSON streams, hijack
         └─ transport.py            unix:// and tcp:// engines → a thread-safe httpx.Client

Threads: share one :class:`DockerClient` between threads (Textual thread
workers); httpx's pool is locked and version negotiation runs once. Each
streaming call (``logs(stream=True)``, ``events()``, ``stats()``,
``pull(stream=True)``, ``journal()``, ``attach_socket()``) holds its own
connection until closed: keep the returned object and call ``close()`` when
the worker is cancelled.
"""

from engine.client.api import APIClient
from engine.client.client import DockerClient, from_env, kwargs_from_env
from engine.client.errors import (
    APIError,
    ContainerError,
    DockerException,
    EngineUnreachable,
    ImageNotFound,
    InvalidVersion,
    NotFound,
)
from engine.client.models_containers import Container, ExecResult
from engine.client.models_images import Image, Network, Volume
from engine.client.streams import CancellableStream, HijackedSocket
from engine.client.transport import TLSConfig

__all__ = [
    "APIClient", "APIError", "CancellableStream", "Container", "ContainerError", "DockerClient",
    "DockerException", "EngineUnreachable", "ExecResult", "HijackedSocket", "Image", "ImageNotFound",
    "InvalidVersion", "Network", "NotFound", "TLSConfig", "Volume", "from_env", "kwargs_from_env",
]
