"""The low-level client: one method per endpoint, docker-py's names (``APIClient``)."""

from __future__ import annotations

from engine.client.api_containers import ContainerApiMixin
from engine.client.api_exec import ExecApiMixin
from engine.client.api_images import ImageApiMixin
from engine.client.api_system import NetworkApiMixin, SystemApiMixin, VolumeApiMixin


class APIClient(ContainerApiMixin, ExecApiMixin, ImageApiMixin, NetworkApiMixin, VolumeApiMixin,
                SystemApiMixin):
    """Every endpoint of the Docker Engine API that Wharf speaks, plus Wharf's own.

    Thread-safe: share one instance between threads (see :mod:`engine.client.api_base`).

    Example::

        api = APIClient(base_url="unix:///run/wharf.sock")
        api.create_container("busybox", ["echo", "hi"], name="hello")
        api.start("hello")
        api.wait("hello")
        print(api.logs("hello"))
    """
