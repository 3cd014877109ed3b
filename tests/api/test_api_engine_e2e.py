"""End to end through ``wharf daemon`` with the full engine: the docker CLI, docker-py, Wharf's client.

These need ``engine.engine.Engine`` (the facade implementing
engine.api.backend.EngineBackend); until it exists they are skipped.
Images come from the session's real registry (tests/conftest.py).
"""

from __future__ import annotations

import importlib.util
import signal
import time
from collections.abc import Iterator

import docker
import pytest
from wharf_api_fixtures import DaemonProcess, cli, start_daemon_process

from engine.client import ContainerError, DockerClient

pytestmark = pytest.mark.skipif(importlib.util.find_spec("engine.engine") is None,
                                reason="engine.engine.Engine is not wired into the daemon yet")


@pytest.fixture(scope="module")
def engine_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    """``wharf daemon`` with the full engine on a fresh root; every container removed after."""
    process = start_daemon_process(tmp_path_factory.mktemp("e2e"))
    yield process
    leftover = cli(process, "ps", "-aq").stdout.split()
    if leftover:
        cli(process, "rm", "-f", *leftover)
    assert process.stop(signal.SIGTERM) == 0, process.output()


def test_cli_pull_run_exec_logs_stop_rm(engine_daemon, test_images):
    ref = test_images.busybox_oci.reference
    pull = cli(engine_daemon, "pull", ref)
    assert pull.returncode == 0, pull.stderr
    assert "Digest: sha256:" in pull.stdout
    images = cli(engine_daemon, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert ref in images.stdout.split()

    hello = cli(engine_daemon, "run", "--rm", ref, "echo", "hello")
    assert (hello.returncode, hello.stdout) == (0, "hello\n"), hello.stderr + engine_daemon.output()[-3000:]
    failing = cli(engine_daemon, "run", "--rm", ref, "sh", "-c", "echo oops >&2; exit 3")
    assert failing.returncode == 3 and failing.stderr == "oops\n"
    piped = cli(engine_daemon, "run", "--rm", "-i", ref, "cat", stdin="through stdin\n")
    assert piped.stdout == "through stdin\n"

    started = cli(engine_daemon, "run", "-d", "--name", "web", ref, "sh", "-c", "echo up; sleep 60")
    assert started.returncode == 0, started.stderr
    ps = cli(engine_daemon, "ps", "--format", "{{.Names}} {{.Status}}")
    assert any(line.startswith("web Up") for line in ps.stdout.splitlines())
    inside = cli(engine_daemon, "exec", "web", "sh", "-c", "echo in; exit 4")
    assert (inside.returncode, inside.stdout) == (4, "in\n")
    deadline = time.monotonic() + 5
    while "up" not in cli(engine_daemon, "logs", "web").stdout and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cli(engine_daemon, "logs", "web").stdout == "up\n"
    assert cli(engine_daemon, "stop", "-t", "1", "web").returncode == 0
    assert cli(engine_daemon, "inspect", "web", "--format", "{{.State.Status}}").stdout.strip() == "exited"
    assert cli(engine_daemon, "rm", "web").returncode == 0
    assert "No such container: web" in cli(engine_daemon, "container", "inspect", "web").stderr


def test_docker_py_run_exec_and_errors(engine_daemon, test_images):
    ref = test_images.busybox_oci.reference
    client = docker.DockerClient(base_url=engine_daemon.host)
    try:
        assert client.containers.run(ref, "echo hello", remove=True) == b"hello\n"
        with pytest.raises(docker.errors.ContainerError):
            client.containers.run(ref, "sh -c 'exit 2'", remove=True)
        container = client.containers.run(ref, "sleep 60", detach=True)
        try:
            assert container.exec_run("echo hi") == (0, b"hi\n")
            assert client.containers.get(container.id).status == "running"
        finally:
            container.remove(force=True)
    finally:
        client.close()


def test_wharf_client_run_and_events(engine_daemon, test_images):
    ref = test_images.busybox_oci.reference
    since = time.time()
    with DockerClient(base_url=engine_daemon.host) as client:
        assert client.containers.run(ref, ["echo", "wharf"], remove=True) == b"wharf\n"
        with pytest.raises(ContainerError) as caught:
            client.containers.run(ref, ["sh", "-c", "exit 5"], remove=True)
        assert caught.value.exit_status == 5
        events = list(client.events(since=since, until=time.time() + 0.5, decode=True,
                                    filters={"type": ["container"]}))
    actions = [e["Action"] for e in events]
    for action in ("create", "start", "die", "destroy"):
        assert action in actions, actions
