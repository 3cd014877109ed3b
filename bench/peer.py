"""Peers to measure Wharf against, started and stopped by the benchmark itself.

:class:`PeerDocker` runs Debian's dockerd on its own socket, data root and
exec root, so it can never be mistaken for Wharf or a system Docker. It is
started with ``--iptables=false``: benchmarks must not change the host's
firewall policies (dockerd would set FORWARD to DROP). The ``docker0``
bridge it creates is deleted again if it was not there before.

Install the peer with ``apt-get install docker.io``; the docker CLI used is
the one on PATH (28.x), pointed at each engine with ``-H``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the harness: registry and image builders


def docker_cli() -> str:
    """The docker CLI 28.x on PATH (``/usr/local/bin`` before Debian's 20.10 client)."""
    found = shutil.which("docker")
    if not found:
        raise SystemExit("bench: the docker CLI is not on PATH")
    return found


class PeerDocker:
    """Debian's dockerd on ``unix://<tmp>/peer-docker.sock``.

    Args:
        insecure_registries: ``host:port`` entries dockerd may use over plain http.
    """

    def __init__(self, insecure_registries: list[str] | None = None) -> None:
        if shutil.which("dockerd") is None:
            raise SystemExit("bench: dockerd is not installed (apt-get install docker.io)")
        self.workdir = Path(tempfile.mkdtemp(prefix="peer-docker-"))
        self.socket = self.workdir / "docker.sock"
        self.insecure = insecure_registries or []
        self.process: subprocess.Popen[bytes] | None = None
        self._had_docker0 = Path("/sys/class/net/docker0").exists()

    @property
    def host(self) -> str:
        """The ``-H`` value for the docker CLI."""
        return f"unix://{self.socket}"

    def __enter__(self) -> PeerDocker:
        args = ["dockerd", "--host", self.host, "--data-root", str(self.workdir / "data"),
                "--exec-root", str(self.workdir / "exec"), "--pidfile", str(self.workdir / "pid"),
                "--iptables=false", "--ip6tables=false", "--log-level=error",
                "--containerd-namespace", "peer-bench", "--containerd-plugins-namespace", "peer-bench-plugins"]
        for registry in self.insecure:
            args += ["--insecure-registry", registry]
        log = open(self.workdir / "dockerd.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: dockerd exited:\n{(self.workdir / 'dockerd.log').read_text()[-3000:]}")
            if self.docker("version", check=False, capture=True).returncode == 0:
                return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise SystemExit("bench: dockerd did not answer within 60 s")

    def docker(self, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this dockerd."""
        return subprocess.run([docker_cli(), "-H", self.host, *args], capture_output=capture,
                              text=True, check=check)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        stop_engine(self.process, self.docker)
        unmount_below(self.workdir)
        if not self._had_docker0 and Path("/sys/class/net/docker0").exists():
            subprocess.run(["ip", "link", "delete", "docker0"], capture_output=True, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


def unmount_below(folder: Path) -> None:
    """Unmount everything mounted at or below ``folder``, deepest first.

    ``umount -R`` only works on a mount point, and dockerd's work dir is not
    one: its data root (overlay mounts) and exec root (``netns/default``) are.
    """
    prefix = str(folder.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def stop_engine(process: subprocess.Popen[bytes] | None,
                docker: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    """Remove every container of an engine through its ``docker`` runner, then stop it by PID."""
    if process is None or process.poll() is not None:
        return
    leftover = docker("ps", "-aq", check=False).stdout.split()
    if leftover:
        docker("rm", "-f", *leftover, check=False)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the engine and the helpers it started
        process.wait(timeout=10)


def timed(action: object, *args: object, **kwargs: object) -> float:
    """Seconds that ``action(*args, **kwargs)`` took (monotonic clock)."""
    start = time.perf_counter()
    action(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - start
