"""A system-only backend: real host facts for ``/version`` and ``/info``, nothing else.

The daemon uses it while the full engine (``engine.engine.Engine``) is not
available: every container, image, network and volume route then answers
501. Everything it reports is read from the real host (:mod:`engine.host`).
"""

from __future__ import annotations

import os

from engine import host
from engine.jobs import EventBus
from engine.model import DiskUsage, SystemInfo, VersionInfo


class SystemOnlyBackend:
    """Answers the system part of :class:`~engine.api.backend.EngineBackend` from the host.

    Args:
        root: the state root (for ``DockerRootDir`` and the engine ID).
        bus: the event bus the daemon publishes on.
    """

    def __init__(self, root: str, bus: EventBus | None = None) -> None:
        self.root = os.path.abspath(root)
        self.bus = bus or EventBus()
        self._id = host.engine_id(self.root)

    def version(self) -> VersionInfo:
        """See :meth:`EngineBackend.version`."""
        return host.version_info()

    def info(self) -> SystemInfo:
        """See :meth:`EngineBackend.info`; no engine, so no containers or images."""
        info = host.host_info(self.root, self._id)
        info.warnings = ["WARNING: only the system part of the Wharf engine is available in this build"]
        return info

    def disk_usage(self) -> DiskUsage:
        """See :meth:`EngineBackend.disk_usage`: nothing stored without an engine."""
        return DiskUsage()
