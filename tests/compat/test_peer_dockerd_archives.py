"""``docker save`` compatibility with a real dockerd, both ways (skipped where dockerd is not installed).

CI does not install Debian's docker.io, so there this is skipped; on a machine
with dockerd it runs the peer on its own socket, without touching the host's
firewall (``bench/peer.py``).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from compat.conftest import Daemon
from harness.registry import Registry

PEER = Path(__file__).resolve().parents[2] / "bench" / "peer.py"


def _peer_module():  # type: ignore[no-untyped-def]
    """bench/peer.py, loaded by path (putting bench/ on sys.path would shadow test packages)."""
    spec = importlib.util.spec_from_file_location("wharf_bench_peer", PEER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("dockerd") is None, reason="dockerd is not installed (Debian's docker.io)")
def test_dockerd_loads_what_wharf_saved_and_wharf_loads_what_dockerd_saved(
        daemon: Daemon, busybox: str, registry: Registry, tmp_path: Path) -> None:
    PeerDocker = _peer_module().PeerDocker  # noqa: N806 - the benchmark's peer, on its own socket

    daemon.docker("tag", busybox, "wharf-made:v1")
    ours = tmp_path / "wharf.tar"
    daemon.docker("save", "-o", str(ours), "wharf-made:v1")
    with PeerDocker(insecure_registries=[registry.host]) as peer:
        loaded = peer.docker("load", "-i", str(ours))
        assert "wharf-made:v1" in loaded.stdout
        assert peer.docker("run", "--rm", "--network", "none", "wharf-made:v1", "echo", "from-wharf").stdout == \
            "from-wharf\n"
        peer.docker("pull", "-q", busybox)
        peer.docker("tag", busybox, "dockerd-made:v1")
        theirs = tmp_path / "dockerd.tar"
        peer.docker("save", "-o", str(theirs), "dockerd-made:v1")
    assert "Loaded image: dockerd-made:v1" in daemon.docker("load", "-i", str(theirs)).stdout
    assert daemon.docker("run", "--rm", "--network", "none", "dockerd-made:v1", "echo", "from-dockerd").stdout == \
        "from-dockerd\n"
    daemon.docker("rmi", "wharf-made:v1", "dockerd-made:v1")
