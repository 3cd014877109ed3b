"""The network driver's state on disk: atomic JSON files under ``<root>/networks/``.

Layout::

    <root>/networks/<network-id>.json          one NetworkRecord each
    <root>/networks/containers/<id>.json       one ContainerNet each (endpoints, ports)

The per-container files are the source of truth for address allocations: an
address is taken exactly when some container file holds an endpoint with it.
Every write goes to a temporary file in the same folder, is fsynced and then
renamed over the old one, so a crash leaves the old state or the new.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.errors import NetworkError
from engine.network.records import ContainerNet, NetworkRecord


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file, fsync, rename, fsync dir).

    Raises:
        NetworkError: the file could not be written.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise NetworkError(f"cannot write network state {path}: {error}") from error


class NetworkStore:
    """Reads and writes the driver's records under ``<root>/networks/``.

    Args:
        root: the engine's state root.
    """

    def __init__(self, root: Path) -> None:
        self.dir = Path(root) / "networks"
        self.containers_dir = self.dir / "containers"
        self.containers_dir.mkdir(parents=True, exist_ok=True)

    # networks ----------------------------------------------------------------

    def load_networks(self) -> list[NetworkRecord]:
        """Every stored network; unreadable files are skipped (and left for inspection)."""
        return [NetworkRecord.from_json(data) for data in self._load_all(self.dir)]

    def save_network(self, record: NetworkRecord) -> None:
        """Store (create or replace) one network."""
        write_json_atomic(self.dir / f"{record.id}.json", record.to_json())

    def delete_network(self, network_id: str) -> None:
        """Forget one network."""
        (self.dir / f"{network_id}.json").unlink(missing_ok=True)

    # containers --------------------------------------------------------------

    def load_containers(self) -> list[ContainerNet]:
        """Every stored container network state."""
        return [ContainerNet.from_json(data) for data in self._load_all(self.containers_dir)]

    def save_container(self, state: ContainerNet) -> None:
        """Store (create or replace) one container's network state."""
        write_json_atomic(self.containers_dir / f"{state.container_id}.json", state.to_json())

    def delete_container(self, container_id: str) -> None:
        """Forget one container's network state."""
        (self.containers_dir / f"{container_id}.json").unlink(missing_ok=True)

    @staticmethod
    def _load_all(folder: Path) -> list[dict[str, Any]]:
        found = []
        for path in sorted(folder.glob("*.json")):
            try:
                found.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return found
