"""Fixtures for pull tests: a fresh state root with its stores and a puller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.images import ImageRef, big_layout, push_layout
from harness.registry import Registry
from pull.engine_parts import Engine, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh state root with its stores and a puller (the registry client retries fast)."""
    made = make_engine(tmp_path / "root", retries=1, backoff=0.05)
    yield made
    made.registry.close()


@pytest.fixture(scope="session")
def big_image(registry: Registry) -> ImageRef:
    """Busybox plus a 48 MB layer, in the session registry as ``big:latest``."""
    return push_layout(big_layout(), registry.host, "big", "latest")
