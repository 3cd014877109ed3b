"""Assembles the whole Docker Engine API over one backend: :func:`build_api`."""

from __future__ import annotations

from typing import Any

from engine.api import (routes_archives, routes_containers, routes_exec, routes_images, routes_networks,
                        routes_system, routes_wharf)
from engine.api.bridge import Workers
from engine.api.router import Api


def build_api(backend: Any, workers: Workers | None = None) -> Api:
    """An :class:`Api` with every route registered, calling ``backend``.

    Args:
        backend: an :class:`~engine.api.backend.EngineBackend` (or a part of one:
            missing methods answer 501).
        workers: the pool for short blocking calls (a new one of 32 threads by default).
    """
    api = Api(backend, workers)
    for module in (routes_system, routes_archives, routes_containers, routes_exec, routes_images, routes_networks,
                   routes_wharf):
        module.register(api)
    return api
