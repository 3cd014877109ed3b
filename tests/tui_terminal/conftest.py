"""A real ``wharf daemon`` with busybox pulled, shared by this folder's tests of one module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from compat.conftest import Daemon, start_daemon, stop_daemon
from harness.images import TestImages
from harness.registry import Registry


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory, registry: Registry, test_images: TestImages,
           ) -> Iterator[Daemon]:
    """``wharf daemon`` on a temporary socket and root; every container and network removed afterwards."""
    running = start_daemon(tmp_path_factory.mktemp("terminal-daemon"))
    try:
        running.docker("pull", test_images.busybox_oci.reference)
        yield running
    finally:
        stop_daemon(running)
