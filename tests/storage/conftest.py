"""Fixtures for the graph driver tests: a state root, its layer store, and mount cleanup."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from images.layer_tars import Member, make_tar, sha256

from engine.images.layers import Layer, LayerStore
from engine.state import StateRoot
from engine.storage import mountapi
from engine.storage.overlay import unmount


@dataclass
class Graph:
    """A state root with its layer store and a helper to add layers."""

    root: StateRoot
    layers: LayerStore

    def stack(self, layers: list[list[Member]]) -> list[str]:
        """Unpack ``layers`` (base first) and return their chain IDs, base first."""
        parent, chain = None, []
        for members in layers:
            data = make_tar(members)
            layer: Layer = self.layers.apply(parent, sha256(data), io.BytesIO(data))
            parent = layer.chain_id
            chain.append(parent)
        return chain

    def container_dirs(self, name: str) -> tuple[str, str, str]:
        """``upper``, ``work`` and ``merged`` folders of a container, created."""
        base = self.root.containers / name
        paths = [base / "upper", base / "work", base / "merged"]
        for path in paths:
            path.mkdir(parents=True, exist_ok=True)
        return str(paths[0]), str(paths[1]), str(paths[2])


@pytest.fixture
def graph(tmp_path: Path) -> Graph:
    root = StateRoot.at(tmp_path / "root")
    return Graph(root, LayerStore(root))


@pytest.fixture
def mounts() -> Iterator[Callable[[str], str]]:
    """Register mount points; each is unmounted at the end, even when the test failed."""
    targets: list[str] = []

    def track(target: str) -> str:
        targets.append(target)
        return target

    yield track
    for target in reversed(targets):
        while mountapi.is_mountpoint(target):
            unmount(target)
