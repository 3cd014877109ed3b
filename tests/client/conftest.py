"""Fixtures of the client tests: shared with tests/api (the real daemon, the framing server)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))

from wharf_api_fixtures import (  # noqa: E402
    DaemonProcess,
    FramingBackend,
    framing_server,
    start_daemon_process,
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """A real ``wharf daemon`` on a temporary socket and root, stopped by PID."""
    process = start_daemon_process(tmp_path_factory.mktemp("client-daemon"))
    yield process
    process.stop(signal.SIGTERM)


@pytest.fixture
def framing(tmp_path: Path) -> Iterator[tuple[str, FramingBackend, list[str]]]:
    """The real HTTP layer over the protocol-layer unit-test backend (see wharf_api_fixtures)."""
    with framing_server(tmp_path) as served:
        yield served
