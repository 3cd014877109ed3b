"""Build (or run) the console on the deterministic fake engine: snapshots, Pilot and tmux use it.

``python tests/tui/fake_app.py [--dockerd] [--gone]`` runs it in a real terminal.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_engine import FakeDockerClient, FakeRegistryBrowser  # noqa: E402

from tui.app import WharfApp  # noqa: E402
from tui.data.models import EngineTarget  # noqa: E402
from tui.data.registry import Registry  # noqa: E402

TARGETS = [
    EngineTarget("embedded", "unix:///var/lib/wharf/engine.sock", "Wharf's own engine on /var/lib/wharf"),
    EngineTarget("docker", "unix:///var/run/docker.sock", "a Docker daemon"),
]
REGISTRIES = [Registry("docker.io", "Docker Hub", "builtin"), Registry("localhost:5000", "localhost:5000", "env")]


def make_app(client: FakeDockerClient | None = None, browser: FakeRegistryBrowser | None = None,
             extra_containers: int = 0, wharf: bool = True, gone: bool = False) -> WharfApp:
    """The console on a fake engine (one client per target, the second one a 'dockerd')."""
    first = client or FakeDockerClient(extra_containers=extra_containers, wharf=wharf, gone=gone)
    clients = {TARGETS[0].url: first, TARGETS[1].url: FakeDockerClient(wharf=False)}
    app = WharfApp(lambda target: clients[target.url], TARGETS, browser or FakeRegistryBrowser(),
                   registries=list(REGISTRIES))
    app.fake = first  # type: ignore[attr-defined]
    return app


def main() -> int:
    """Run it in this terminal."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--dockerd", action="store_true", help="answer like a real dockerd")
    parser.add_argument("--gone", action="store_true", help="start with the engine unreachable")
    parser.add_argument("--many", type=int, default=0, help="extra running containers")
    args = parser.parse_args()
    app = make_app(extra_containers=args.many, wharf=not args.dockerd, gone=args.gone)
    return app.run() or 0


if __name__ == "__main__":
    raise SystemExit(main())
