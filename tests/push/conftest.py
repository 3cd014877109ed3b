"""Fixtures for commit and push tests: engines on fresh state roots, overlay mounts cleaned up."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pull.engine_parts import Engine, make_engine


@pytest.fixture
def make_state(tmp_path: Path) -> Iterator[Callable[..., Engine]]:
    """Open engines on fresh state roots (``make_state("a")``); registry clients closed after."""
    made: list[Engine] = []

    def make(name: str = "root", **options: object) -> Engine:
        engine = make_engine(tmp_path / name, retries=1, backoff=0.05, **options)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.registry.close()


@contextmanager
def overlay(lowers: list[Path], upper: Path, work: Path, target: Path) -> Iterator[Path]:
    """A real overlay mount (``lowers`` uppermost first), always unmounted again."""
    for folder in (upper, work, target):
        folder.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={':'.join(str(p) for p in lowers)},upperdir={upper},workdir={work}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(target)], check=True,
                   capture_output=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True, capture_output=True)


@contextmanager
def readonly_overlay(lowers: list[Path], target: Path) -> Iterator[Path]:
    """A read-only overlay of two or more lower dirs (uppermost first), unmounted after."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={':'.join(str(p) for p in lowers)}", str(target)], check=True,
                   capture_output=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True, capture_output=True)
