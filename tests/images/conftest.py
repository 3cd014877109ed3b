"""Fixtures for the image graph tests: a fresh state root with its stores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.images.content import ContentStore
from engine.images.layers import LayerStore
from engine.images.store import ImageStore
from engine.jobs import EventBus
from engine.state import StateRoot


@dataclass
class Stores:
    """One state root's content, layer and image stores."""

    root: StateRoot
    content: ContentStore
    layers: LayerStore
    images: ImageStore
    bus: EventBus


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    """A fresh state root under the test's tmp dir, with its stores."""
    root = StateRoot.at(tmp_path / "root")
    content = ContentStore(root.content)
    layers = LayerStore(root)
    return Stores(root, content, layers, ImageStore(root, content, layers), EventBus())
