"""PROTOCOL-LAYER TESTS with the real docker CLI and docker-py as clients.

The server is the real engine.api HTTP layer over the in-test FramingBackend
(whose exec and attach sessions are real host processes): these check that
the wire format (101 hijack flushed alone, multiplexed frames, stats shape,
inspect fields the clients read) is what the real clients expect. The
engine's own behaviour is tested against ``wharf daemon`` elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import docker
import pytest

DOCKER = shutil.which("docker")


def cli(path: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    assert DOCKER, "the docker CLI is not on PATH"
    return subprocess.run([DOCKER, "-H", f"unix://{path}", *args], capture_output=True, text=True,
                          timeout=30, input=stdin,
                          env={**os.environ, "DOCKER_CONFIG": os.path.dirname(path)})


def test_cli_exec_returns_the_exit_code_and_output(framing):
    path, _, _ = framing
    result = cli(path, "exec", "plain", "sh", "-c", "echo from-cli; echo to-stderr >&2; exit 5")
    assert result.returncode == 5
    assert result.stdout == "from-cli\n" and result.stderr == "to-stderr\n"


def test_cli_exec_forwards_stdin_until_eof(framing):
    path, _, _ = framing
    result = cli(path, "exec", "-i", "plain", "cat", stdin="piped stdin\n")
    assert result.returncode == 0 and result.stdout == "piped stdin\n"


def test_cli_logs_split_streams_and_timestamps(framing):
    path, _, _ = framing
    plain = cli(path, "logs", "plain")
    stamped = cli(path, "logs", "-t", "tty")
    assert plain.stdout == "line 0\nline 2\n" and plain.stderr == "line 1\n"
    assert stamped.stdout.splitlines()[0] == "2023-11-14T22:13:20.500000000Z line 0"


def test_cli_stats_no_stream_renders_cpu_and_memory(framing):
    path, _, _ = framing
    started = time.monotonic()
    result = cli(path, "stats", "--no-stream", "plain")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 5
    row = result.stdout.splitlines()[1]
    assert "plain" in row and "20.00%" in row and "40MiB / 2GiB" in row


def test_cli_ps_and_inspect_and_errors(framing):
    path, _, _ = framing
    ps = cli(path, "ps")
    tty = cli(path, "inspect", "tty", "--format", "{{.Config.Tty}} {{.State.Status}} {{.Name}}")
    kill = cli(path, "kill", "plain")
    missing = cli(path, "container", "inspect", "ghost")
    assert "Up " in ps.stdout and "plain" in ps.stdout and '"sh -c true"' in ps.stdout
    assert tty.stdout.strip() == "true running /tty"
    assert kill.returncode == 1 and kill.stderr.startswith("Error response from daemon: cannot kill")
    assert missing.returncode == 1 and "No such container: ghost" in missing.stderr


@pytest.fixture
def pyclient(framing):
    path, _, _ = framing
    client = docker.DockerClient(base_url=f"unix://{path}")
    yield client
    client.close()


def test_docker_py_exec_run_gets_every_byte(pyclient):
    container = pyclient.containers.get("plain")
    for _ in range(5):  # docker-py loses bytes that arrive with the 101 headers
        result = container.exec_run(["sh", "-c", "echo out; echo err >&2; exit 4"])
        assert result.exit_code == 4 and sorted(result.output.split()) == [b"err", b"out"]
    demuxed = container.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    assert demuxed.output == (b"out\n", b"err\n")
    assert pyclient.containers.get("tty").exec_run("echo tty", tty=True).output == b"tty\r\n"


def test_docker_py_logs_stats_and_errors(pyclient):
    container = pyclient.containers.get("plain")
    assert container.logs() == b"line 0\nline 1\nline 2\n"
    stats = container.stats(stream=False)
    for key in ("read", "networks", "precpu_stats", "cpu_stats", "memory_stats", "blkio_stats"):
        assert key in stats
    with pytest.raises(docker.errors.ImageNotFound):
        pyclient.images.get("localhost:5000/none:v1")
    with pytest.raises(docker.errors.NotFound):
        pyclient.containers.get("ghost")
    with pytest.raises(docker.errors.APIError) as conflict:
        container.kill()
    assert conflict.value.status_code == 409
