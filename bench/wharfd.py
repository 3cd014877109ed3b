"""``wharf daemon`` on a temporary socket and state root, for benchmarks."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType


class WharfDaemon:
    """Starts ``python -m tui.cli daemon`` on ``<tmp>/wharf.sock`` and stops it by PID.

    Args:
        root: the state root; a fresh temporary one if not given.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="wharf-bench-"))
        self.root = root or self.workdir / "root"
        self.socket = self.workdir / "wharf.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """The ``-H`` value for the docker CLI."""
        return f"unix://{self.socket}"

    def __enter__(self) -> WharfDaemon:
        log = open(self.workdir / "daemon.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "daemon", "--socket", str(self.socket), "--root", str(self.root)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: wharf daemon exited:\n{(self.workdir / 'daemon.log').read_text()[-3000:]}")
            if self.socket.exists() and self.docker("version", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise SystemExit("bench: wharf daemon did not answer within 30 s")

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this daemon."""
        from peer import docker_cli  # noqa: PLC0415

        return subprocess.run([docker_cli(), "-H", self.host, *args], capture_output=True, text=True, check=check)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        from peer import stop_engine  # noqa: PLC0415

        stop_engine(self.process, self.docker)
        # Containers are gone and the daemon stopped: undo its bridges and firewall chains too.
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from engine.jobs import EventBus  # noqa: PLC0415
        from engine.network.driver import NetworkDriver  # noqa: PLC0415

        if self.root.exists():
            NetworkDriver(self.root, EventBus()).teardown()
        subprocess.run(["umount", "-R", "-l", str(self.workdir)], capture_output=True, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)
