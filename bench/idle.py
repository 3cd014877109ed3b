"""Idle cost: CPU a ``wharf daemon`` uses while it only supervises running containers.

    sudo .venv/bin/python bench/idle.py [--containers 100] [--seconds 20]

Starts a daemon on a temporary root, runs ``--containers`` busybox
``sleep`` containers with ``--network none``, waits, then reads the
daemon's user+system CPU over ``--seconds``. An idle engine should cost
next to nothing: exits are reported by the shims, not polled. Everything
made is removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests"), str(REPO)]
from console import cpu_seconds  # noqa: E402
from wharfd import WharfDaemon  # noqa: E402

from harness.images import busybox_layout, push_layout  # noqa: E402  # type: ignore[import-not-found]
from harness.registry import start_registry  # noqa: E402  # type: ignore[import-not-found]


def main() -> int:
    """Set up, measure, print, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    from engine.client import DockerClient  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="wharf-bench-idle-"))
    registry = start_registry(work / "registry")
    try:
        reference = push_layout(busybox_layout(), registry.host, "busybox", "latest").reference
        with WharfDaemon() as daemon:
            assert daemon.process is not None
            client = DockerClient(base_url=daemon.host)
            try:
                client.images.pull(reference)
                for _ in range(args.containers):
                    client.containers.run(reference, ["sleep", "3600"], detach=True, network_mode="none")
                time.sleep(3)
                pid = daemon.process.pid
                wall0, cpu0 = time.monotonic(), cpu_seconds(pid)
                time.sleep(args.seconds)
                percent = 100.0 * (cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
                for container in client.containers.list(all=True):
                    container.remove(force=True)
            finally:
                client.close()
    finally:
        registry.remove()
        shutil.rmtree(work, ignore_errors=True)
    print(f"idle wharf daemon, {args.containers} running containers, {args.seconds:.0f} s: "
          f"{percent:.1f} % of one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
