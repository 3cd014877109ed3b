"""Fixtures for the exec driver's tests: a busybox rootfs and a Runtime on a temporary root."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.jobs import EventBus
from engine.runtime.runtime import Runtime

BUSYBOX = Path("/bin/busybox")
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
          "app:x:1000:1000:app:/home/app:/bin/sh\n")
GROUP = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n"


def _build_rootfs(root: Path) -> None:
    for sub in ("bin", "etc", "root", "home/app", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox" and not (root / "bin" / applet).exists():
            os.symlink("busybox", root / "bin" / applet)  # relative to the rootfs's /bin
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    os.chown(root / "home" / "app", 1000, 1000)
    os.chmod(root / "tmp", 0o1777)


@pytest.fixture(scope="session")
def busybox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox root filesystem, built once per session."""
    if not BUSYBOX.exists():
        pytest.skip("needs busybox-static (/bin/busybox)")
    root = tmp_path_factory.mktemp("busybox") / "rootfs"
    _build_rootfs(root)
    return root


@pytest.fixture
def rootfs(busybox_template: Path, tmp_path: Path) -> Path:
    """A private copy of the busybox rootfs (tests may write to it)."""
    target = tmp_path / "rootfs"
    shutil.copytree(busybox_template, target, symlinks=True)
    return target


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A Runtime on a temporary state root; every container it made is deleted afterwards."""
    rt = Runtime(tmp_path / "containers", EventBus())
    yield rt
    for state in rt.list():
        try:
            rt.delete(state.id, force=True)
        except Exception:  # noqa: BLE001 — clean up as much as possible
            _kill_leftovers(rt, state.id)
    rt.close()


def _kill_leftovers(rt: Runtime, container_id: str) -> None:
    for pid in rt.cgroup(container_id).pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    rt.wait(container_id, timeout=5)
    rt.delete(container_id, force=True)
