"""The parts of an engine a pull touches, opened on one state root (for pull tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.images.content import ContentStore
from engine.images.layers import LayerStore
from engine.images.pull import Puller
from engine.images.store import ImageStore
from engine.jobs import EventBus
from engine.registry.client import RegistryClient
from engine.state import StateRoot


@dataclass
class Engine:
    """The parts of an engine a pull touches, on one state root."""

    root: StateRoot
    content: ContentStore
    layers: LayerStore
    images: ImageStore
    bus: EventBus
    registry: RegistryClient
    puller: Puller


def make_engine(path: Path, **client_options: object) -> Engine:
    """Open (or reopen) the stores on ``path`` as a restarted engine would."""
    root = StateRoot.at(path)
    root.create()
    content = ContentStore(root.content)
    layers = LayerStore(root)
    images = ImageStore(root, content, layers)
    registry = RegistryClient(credentials={}, **client_options)  # type: ignore[arg-type]
    return Engine(root, content, layers, images, EventBus(), registry,
                  Puller(registry, content, layers, images))


