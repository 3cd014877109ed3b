"""Wharf's own client (``engine.client``) against ``wharf daemon``, and against a real dockerd.

Every flow of ``test_docker_py.py`` runs again here with the ``dc`` and
``errors`` fixtures overridden by Wharf's client: the same shape must give
the same results. The dockerd check (read-only calls) is skipped where
Debian's ``docker.io`` is not installed, as in CI.
"""

from __future__ import annotations

import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import engine.client
import engine.client.errors
import pytest
from compat.conftest import Daemon
from compat.test_docker_py import (  # noqa: F401 - collected again with this module's fixtures
    image,
    sleeper,
    test_attach_streams_live_output,
    test_events_df_and_prunes,
    test_exec_run_with_and_without_tty,
    test_image_delete_event_names_the_image,
    test_images_tag_and_remove,
    test_lifecycle_and_409_on_removing_a_running_container,
    test_networks_create_connect_remove,
    test_ping_version_info,
    test_pull_get_and_not_found_kinds,
    test_run_detached_logs_stream_follow_and_wait,
    test_run_detached_with_remove_is_gone_after_exit,
    test_run_foreground_returns_output_and_removes,
    test_stats_once_and_streamed,
    test_top_diff_and_archives,
    test_volumes,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dc(daemon: Daemon) -> Iterator[engine.client.DockerClient]:
    """Wharf's ``DockerClient`` on the daemon's socket."""
    client = engine.client.DockerClient(base_url=daemon.host, version="auto", timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def errors() -> types.ModuleType:
    """Wharf's client exception classes."""
    return engine.client.errors


def test_closed_streams_give_their_connection_back(daemon: Daemon, sleeper: Any) -> None:
    # A pool of 3: if close() leaked connections, the fourth stream (or the ping) would wait and time out.
    with engine.client.DockerClient(base_url=daemon.host, max_pool_size=3, timeout=10) as small:
        container = small.containers.get(sleeper.id)
        for _ in range(6):
            stream = container.stats(stream=True, decode=True)
            assert "cpu_stats" in next(stream)
            stream.close()
            events = small.events(decode=True)
            events.close()
            logs = container.logs(stream=True, follow=True)
            logs.close()
        assert small.ping() is True


@pytest.fixture(scope="module")
def peer_docker() -> Iterator[Any]:
    """Debian's dockerd on a private socket and root (bench/peer.py), stopped afterwards."""
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed (Debian's docker.io; CI does not install it)")
    sys.path.insert(0, str(REPO / "bench"))
    from peer import PeerDocker  # noqa: PLC0415

    try:
        peer = PeerDocker().__enter__()
    except SystemExit as failure:
        pytest.skip(f"dockerd could not start here: {failure}")
    yield peer
    peer.__exit__(None, None, None)


def test_wharf_client_reads_a_real_dockerd(peer_docker: Any) -> None:
    with engine.client.DockerClient(base_url=peer_docker.host, version="auto") as client:
        assert client.ping() is True
        version = client.version()
        assert version["ApiVersion"] and client.api.api_version == version["ApiVersion"]
        info = client.info()
        assert info["DockerRootDir"] == str(peer_docker.workdir / "data")
        assert client.containers.list(all=True) == []
        assert client.images.list() == []
        assert {n.name for n in client.networks.list()} >= {"bridge", "host", "none"}
        assert client.volumes.list() == []
        assert "Images" in client.df()
        with pytest.raises(engine.client.errors.NotFound) as missing:
            client.containers.get("no-such-container")
        assert not isinstance(missing.value, engine.client.errors.ImageNotFound)
        with pytest.raises(engine.client.errors.ImageNotFound):
            client.images.get("no-such-image:latest")
