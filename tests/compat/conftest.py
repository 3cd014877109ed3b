"""A real ``wharf daemon`` on a temporary socket and root, and the real docker CLI pointed at it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.images import TestImages
from harness.registry import Registry

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Daemon:
    """A running ``wharf daemon``."""

    socket: Path
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def host(self) -> str:
        """``unix://<socket>``."""
        return f"unix://{self.socket}"

    def docker(self, *args: str, check: bool = True, timeout: float = 60, input: str | None = None,
               ) -> subprocess.CompletedProcess[str]:
        """Run the real docker CLI against this daemon."""
        done = subprocess.run(["docker", "-H", self.host, *args], capture_output=True, text=True,
                              timeout=timeout, input=input, check=False,
                              env={**os.environ, "DOCKER_CONFIG": str(self.root.parent / "docker-config")})
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                                 f"daemon log:\n{self.log.read_text()[-3000:]}")
        return done


def start_daemon(workdir: Path) -> Daemon:
    """Start ``wharf daemon`` in ``workdir`` and wait for its socket to answer."""
    workdir.mkdir(parents=True, exist_ok=True)
    socket_path, root, log = workdir / "wharf.sock", workdir / "root", workdir / "daemon.log"
    with open(log, "ab") as handle:
        process = subprocess.Popen([sys.executable, "-m", "tui.cli", "daemon", "--socket", str(socket_path),
                                    "--root", str(root)], cwd=REPO, stdout=handle, stderr=handle,
                                   stdin=subprocess.DEVNULL)
    daemon = Daemon(socket_path, root, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"wharf daemon exited: {log.read_text()[-3000:]}")
        if socket_path.exists() and daemon.docker("version", check=False, timeout=10).returncode == 0:
            return daemon
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("wharf daemon did not answer within 30 s")


def stop_daemon(daemon: Daemon, *, clean: bool = True) -> None:
    """Remove every container (with ``clean``), stop the daemon by PID, and undo its networking."""
    if clean and daemon.process.poll() is None:
        ids = daemon.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            daemon.docker("rm", "-f", "-v", *ids, check=False)
        networks = [n for n in daemon.docker("network", "ls", "-q", "--filter", "type=custom",
                                             check=False).stdout.split()]
        if networks:
            daemon.docker("network", "rm", *networks, check=False)
    if daemon.process.poll() is None:
        daemon.process.send_signal(signal.SIGTERM)
        try:
            daemon.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            daemon.process.kill()
            daemon.process.wait(timeout=10)
    if clean:
        from engine.jobs import EventBus  # noqa: PLC0415
        from engine.network.driver import NetworkDriver  # noqa: PLC0415

        NetworkDriver(daemon.root, EventBus()).teardown()
        subprocess.run(["umount", "-R", "-l", str(daemon.root)], capture_output=True, check=False)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """``wharf daemon`` for one test module; everything it made is removed afterwards."""
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is not on PATH")
    running = start_daemon(tmp_path_factory.mktemp("daemon"))
    yield running
    stop_daemon(running)


@pytest.fixture(scope="module")
def busybox(daemon: Daemon, registry: Registry, test_images: TestImages) -> str:
    """The busybox test image, pulled into the daemon; its reference."""
    daemon.docker("pull", test_images.busybox_oci.reference)
    return test_images.busybox_oci.reference
