"""The engine: every subsystem of one state root, behind the API's ``EngineBackend``.

This is the composition root (the daemon and the embedded console build
one per state root, under the root's lock)::

    registry client ─► puller ─► content store ─► layer store ─► image store
    graph driver (overlay/vfs) ─┐
    exec driver (runtime)  ─────┼─► container manager ─► (this facade) ─► engine.api
    network driver ─────────────┤
    volume store ───────────────┘

The facade's methods live in :mod:`engine.service` (one part per resource);
this module only builds and closes the parts.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from engine.model import ExecInfo
from engine.containers.manager import ContainerManager
from engine.images.content import ContentStore
from engine.images.layers import LayerStore
from engine.images.pull import Puller
from engine.images.store import ImageStore
from engine.jobs import EventBus
from engine.network.driver import NetworkDriver
from engine.registry.client import RegistryClient
from engine.runtime.runtime import Runtime
from engine.runtime.stats import StatsSampler
from engine.service.network_view import NetworkView
from engine.service.containers import ContainerService
from engine.service.execs import ExecService
from engine.service.images import ImageService
from engine.service.networks import NetworkService
from engine.service.system import SystemService
from engine.state import StateRoot
from engine.storage.select import select_driver
from engine.volumes.store import VolumeStore

INSECURE_REGISTRIES_VARIABLE = "WHARF_INSECURE_REGISTRIES"
"""Comma-separated ``host:port`` registries allowed over plain http (loopback always is)."""


class Engine(SystemService, ImageService, ContainerService, ExecService, NetworkService):
    """Wharf's engine on one state root.

    Args:
        root: the state root (created if missing).
        bus: the event bus to publish on (a new one by default).
        insecure_registries: registries allowed over plain http besides loopback;
            default from ``$WHARF_INSECURE_REGISTRIES``.
    """

    def __init__(self, root: str | os.PathLike[str], bus: EventBus | None = None,
                 insecure_registries: list[str] | None = None) -> None:
        super().__init__(str(root), bus)
        self.state = StateRoot.at(self.root)
        self.state.create()
        insecure = insecure_registries if insecure_registries is not None else [
            r for r in os.environ.get(INSECURE_REGISTRIES_VARIABLE, "").split(",") if r]
        self.content = ContentStore(self.state.content)
        self.layers = LayerStore(self.state)
        self.images = ImageStore(self.state, self.content, self.layers)
        self.insecure_registries = list(insecure)
        self.registry = RegistryClient(insecure_registries=insecure)
        self.puller = Puller(self.registry, self.content, self.layers, self.images)
        self.graph, self.graph_name = select_driver(self.layers)
        self.runtime = Runtime(self.state.containers, self.bus)
        self.network = NetworkDriver(Path(self.root), self.bus)
        self.network.reconcile()
        self.volumes = VolumeStore(self.state.volumes)
        self.sampler = StatsSampler()
        self.network_view = NetworkView(self.network, self.bus)
        self._listing_cache = None
        self._execs: dict[str, ExecInfo] = {}
        self._exec_lock = threading.Lock()
        self.containers = ContainerManager(Path(self.root), self.bus, self.images, self.graph, self.runtime,
                                           self.network, self.volumes)
        self.containers.adopt()

    def close(self) -> None:
        """Stop supervising and release connections; containers keep running."""
        self.containers.close()
        self.sampler.close()
        self.network.close()
        self.registry.close()
        self.runtime.close()
