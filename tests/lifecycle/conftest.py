"""Issue 4's container guarantees through a real ``wharf daemon`` and the real docker CLI.

Fixtures: ``daemon`` and ``busybox`` (from the compat suite), ``special`` (busybox plus
a StopSignal, an image volume with content, and a symlink that points out of the root).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from compat.conftest import Daemon, busybox, daemon, start_daemon, stop_daemon  # noqa: F401
from harness.images import busybox_layout, cached_layout, push_layout, run
from harness.registry import Registry

ESCAPE_TARGET = "/tmp/wharf-lifecycle-escape"
"""Where the image's ``/escape`` symlink points (absolute): a path on the host that must stay untouched."""


def build_special(layout: Path) -> None:
    """Busybox + ``/seed/hello.txt`` (an image volume), ``/escape -> /tmp/wharf-lifecycle-escape``,
    StopSignal SIGUSR1."""
    import shutil  # noqa: PLC0415

    shutil.copytree(busybox_layout(), layout, symlinks=True)
    image = f"{layout}:latest"
    with tempfile.TemporaryDirectory(dir=layout.parent) as work:
        layer = Path(work) / "layer"
        (layer / "seed").mkdir(parents=True)
        (layer / "seed" / "hello.txt").write_text("from the image\n")
        os.chown(layer / "seed", 1000, 1000)
        (layer / "escape").symlink_to(ESCAPE_TARGET)
        run("tar", "--numeric-owner", "--sort=name", "-C", layer, "-cf", Path(work) / "layer.tar", ".")
        run("umoci", "raw", "add-layer", "--image", image, "--history.created_by", "lifecycle tests",
            Path(work) / "layer.tar")
    run("umoci", "config", "--image", image, "--config.cmd", "/bin/sh", "--config.stopsignal", "SIGUSR1",
        "--config.volume", "/seed", "--no-history")
    run("umoci", "gc", "--layout", layout)


@pytest.fixture(scope="module")
def special(daemon: Daemon, registry: Registry) -> str:  # noqa: F811
    """The special image pulled into the daemon; its reference."""
    layout = cached_layout("lifecycle-special", build_special)
    ref = push_layout(layout, registry.host, "lifecycle-special", "latest").reference
    daemon.docker("pull", ref)
    return ref


def inspect(daemon: Daemon, ref: str) -> dict:  # noqa: F811
    """``docker inspect`` of one container."""
    return json.loads(daemon.docker("inspect", ref).stdout)[0]
