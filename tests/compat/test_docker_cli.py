"""The real docker CLI (28.x) against ``wharf daemon``: each flow with docker's output and exit codes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from compat.conftest import Daemon
from harness.images import TestImages


def _tty(daemon: Daemon, command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a docker command under a real pty (``script``), as a user at a terminal would."""
    return subprocess.run(["script", "-qec", f"docker -H {daemon.host} {command}", "/dev/null"],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_version_and_info(daemon: Daemon) -> None:
    version = json.loads(daemon.docker("version", "--format", "{{json .Server}}").stdout)
    assert version["ApiVersion"] == "1.50"
    assert version["Os"] == "linux"
    info = json.loads(daemon.docker("info", "--format", "{{json .}}").stdout)
    assert info["DockerRootDir"] == str(daemon.root)
    assert info["OSType"] == "linux" and info["NCPU"] >= 1


def test_pull_shows_progress_and_images_lists_it(daemon: Daemon, test_images: TestImages) -> None:
    reference = test_images.layered.reference
    pulled = daemon.docker("pull", reference)
    assert f"Digest: {test_images.layered.digest}" in pulled.stdout
    assert "Pull complete" in pulled.stdout
    listed = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    assert f"{test_images.layered.registry}/layered:latest" in listed
    again = daemon.docker("pull", reference)
    assert "Image is up to date" in again.stdout


def test_pull_of_a_missing_image_fails_clearly(daemon: Daemon, test_images: TestImages) -> None:
    missing = daemon.docker("pull", f"{test_images.busybox_oci.registry}/nothing-here:latest", check=False)
    assert missing.returncode == 1
    assert "nothing-here" in missing.stderr


def test_run_rm_prints_output_and_passes_the_exit_code(daemon: Daemon, busybox: str) -> None:
    done = daemon.docker("run", "--rm", busybox, "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert done.returncode == 3
    assert done.stdout == "out\n" and done.stderr == "err\n"
    assert daemon.docker("ps", "-aq").stdout == ""


def test_command_not_found_is_127(daemon: Daemon, busybox: str) -> None:
    done = daemon.docker("run", "--rm", busybox, "/no/such/command", check=False)
    assert done.returncode == 127
    assert "no/such/command" in done.stderr


def test_run_detached_ps_logs_inspect_top_stop(daemon: Daemon, busybox: str) -> None:
    container = daemon.docker("run", "-d", "--name", "ticker", busybox, "sh", "-c",
                              "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"
                              ).stdout.strip()
    assert len(container) == 64
    ps = daemon.docker("ps", "--format", "{{.Names}} {{.Status}}").stdout
    assert "ticker Up" in ps
    time.sleep(0.5)
    logs = daemon.docker("logs", "ticker").stdout
    assert logs.startswith("tick 0\n")
    state = json.loads(daemon.docker("inspect", "ticker").stdout)[0]
    assert state["State"]["Running"] is True and state["State"]["Pid"] > 0
    assert state["Name"] == "/ticker" and state["Config"]["Image"] == busybox
    top = daemon.docker("top", "ticker").stdout
    assert "sh -c" in top
    started = time.monotonic()
    daemon.docker("stop", "ticker")
    assert time.monotonic() - started < 5  # the trap answered SIGTERM
    exited = json.loads(daemon.docker("inspect", "ticker").stdout)[0]["State"]
    assert exited["Status"] == "exited" and exited["ExitCode"] == 0
    daemon.docker("rm", "ticker")


def test_logs_follow_ends_when_the_container_exits(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "counter", busybox, "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done")
    followed = daemon.docker("logs", "-f", "counter", timeout=20)
    assert followed.stdout.split() == ["1", "2", "3"]
    tail = daemon.docker("logs", "--tail", "1", "counter").stdout
    assert tail == "3\n"
    stamped = daemon.docker("logs", "-t", "counter").stdout.splitlines()[0]
    assert stamped.endswith(" 1") and "T" in stamped.split()[0]
    daemon.docker("rm", "counter")


def test_exec_with_and_without_a_tty(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "box", busybox, "sleep", "300")
    assert daemon.docker("exec", "box", "cat", "/etc/hostname").stdout.strip() == \
        json.loads(daemon.docker("inspect", "box").stdout)[0]["Id"][:12]
    code = daemon.docker("exec", "box", "sh", "-c", "exit 7", check=False)
    assert code.returncode == 7
    piped = daemon.docker("exec", "-i", "box", "sh", input="echo from stdin\n")
    assert piped.stdout == "from stdin\n"
    interactive = _tty(daemon, "exec -it box sh -c 'tty; exit 5'")
    assert interactive.returncode == 5
    assert "/dev/pts/" in interactive.stdout
    daemon.docker("rm", "-f", "box")


def test_run_interactive_with_a_tty(daemon: Daemon, busybox: str) -> None:
    done = _tty(daemon, f"run -it --rm {busybox} sh -c 'tty; exit 4'")
    assert done.returncode == 4
    assert "/dev/pts/0" in done.stdout


def test_stats_no_stream(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "busy", "--memory", "64m", busybox, "sleep", "300")
    stats = daemon.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "busy").stdout
    name, usage, _slash, limit, pids = stats.split()
    assert name == "busy" and pids == "1"
    assert limit == "64MiB"
    daemon.docker("rm", "-f", "busy")


def test_pause_unpause_kill_restart_rename(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "life", busybox, "sleep", "300")
    daemon.docker("pause", "life")
    assert "(Paused)" in daemon.docker("ps", "--format", "{{.Status}}", "--filter", "name=life").stdout
    daemon.docker("unpause", "life")
    daemon.docker("rename", "life", "life2")
    daemon.docker("kill", "life2")
    state = json.loads(daemon.docker("inspect", "life2").stdout)[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    not_running = daemon.docker("kill", "life2", check=False)
    assert not_running.returncode == 1 and "is not running" in not_running.stderr
    daemon.docker("restart", "life2")
    assert json.loads(daemon.docker("inspect", "life2").stdout)[0]["State"]["Running"] is True
    refused = daemon.docker("rm", "life2", check=False)
    assert refused.returncode == 1 and "stop the container before removing" in refused.stderr
    daemon.docker("rm", "-f", "life2")
    assert "life2" not in daemon.docker("ps", "-a").stdout


def test_cp_both_ways_and_diff(daemon: Daemon, busybox: str, tmp_path: Path) -> None:
    daemon.docker("run", "-d", "--name", "files", busybox, "sleep", "300")
    (tmp_path / "in.txt").write_text("copied in\n")
    daemon.docker("cp", str(tmp_path / "in.txt"), "files:/in.txt")
    assert daemon.docker("exec", "files", "cat", "/in.txt").stdout == "copied in\n"
    daemon.docker("exec", "files", "rm", "/etc/group")
    daemon.docker("cp", "files:/etc/passwd", str(tmp_path / "passwd"))
    assert (tmp_path / "passwd").read_text().startswith("root:x:0:0")
    diff = daemon.docker("diff", "files").stdout.splitlines()
    assert "A /in.txt" in diff and "D /etc/group" in diff
    assert not [line for line in diff if line.endswith(("/etc/hosts", "/etc/hostname"))]
    daemon.docker("rm", "-f", "files")


def test_tag_rmi_and_prunes(daemon: Daemon, busybox: str) -> None:
    daemon.docker("tag", busybox, "mybox:v1")
    assert "mybox" in daemon.docker("images", "--format", "{{.Repository}}").stdout
    assert "Untagged: mybox:v1" in daemon.docker("rmi", "mybox:v1").stdout
    daemon.docker("run", "--name", "done1", busybox, "true")
    pruned = daemon.docker("container", "prune", "-f").stdout
    assert "done1" in pruned or json.loads(daemon.docker("ps", "-aq", "--format", "json").stdout or "null") is None
    assert "Total reclaimed space" in daemon.docker("image", "prune", "-f").stdout


def test_networks_by_name_and_connect(daemon: Daemon, busybox: str) -> None:
    daemon.docker("network", "create", "appnet")
    assert "appnet" in daemon.docker("network", "ls", "--format", "{{.Name}}").stdout
    daemon.docker("run", "-d", "--name", "server", "--network", "appnet", "--network-alias", "db", busybox,
                  "httpd", "-f", "-p", "80", "-h", "/etc")
    answer = daemon.docker("run", "--rm", "--network", "appnet", busybox, "sh", "-c",
                           "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 5 db 80")
    assert "200 OK" in answer.stdout
    inspected = json.loads(daemon.docker("network", "inspect", "appnet").stdout)[0]
    assert any(c["Name"] == "server" for c in inspected["Containers"].values())
    daemon.docker("run", "-d", "--name", "late", busybox, "sleep", "300")
    daemon.docker("network", "connect", "appnet", "late")
    reached = daemon.docker("exec", "late", "sh", "-c", "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 5 server 80")
    assert "200 OK" in reached.stdout
    in_use = daemon.docker("network", "rm", "appnet", check=False)
    assert in_use.returncode == 1
    daemon.docker("rm", "-f", "server", "late")
    daemon.docker("network", "rm", "appnet")


def test_published_port_from_the_host(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "web", "-p", "127.0.0.1::80", busybox, "httpd", "-f", "-p", "80", "-h", "/etc")
    port = daemon.docker("port", "web", "80").stdout.strip().rsplit(":", 1)[1]
    answer = subprocess.run(["busybox", "nc", "-w", "5", "127.0.0.1", port], input=b"GET /hostname HTTP/1.0\r\n\r\n",
                            capture_output=True, timeout=10)
    assert b"200 OK" in answer.stdout
    daemon.docker("rm", "-f", "web")


def test_volumes(daemon: Daemon, busybox: str) -> None:
    daemon.docker("volume", "create", "keep")
    daemon.docker("run", "--rm", "-v", "keep:/data", busybox, "sh", "-c", "echo persisted > /data/f")
    assert daemon.docker("run", "--rm", "-v", "keep:/data", busybox, "cat", "/data/f").stdout == "persisted\n"
    assert "keep" in daemon.docker("volume", "ls", "--format", "{{.Name}}").stdout
    daemon.docker("volume", "rm", "keep")


def test_events_and_system_df(daemon: Daemon, busybox: str) -> None:
    since = str(int(time.time()) - 1)
    daemon.docker("run", "--rm", "--name", "evented", busybox, "true")
    until = str(int(time.time()) + 1)
    events = daemon.docker("events", "--since", since, "--until", until, "--filter", "container=evented",
                           "--format", "{{.Action}}", timeout=20).stdout.split()
    for action in ("create", "start", "die", "destroy"):
        assert action in events
    df = daemon.docker("system", "df").stdout
    assert df.startswith("TYPE") and "Images" in df


@pytest.mark.parametrize("flags", [["--network", "none"], ["--network", "host"]])
def test_network_modes(daemon: Daemon, busybox: str, flags: list[str]) -> None:
    links = daemon.docker("run", "--rm", *flags, busybox, "ip", "-o", "link").stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in links.splitlines()}
    if flags[1] == "none":
        assert names == {"lo"}
    else:
        assert "eth0" in names or len(names) > 1


@pytest.mark.parametrize(("network", "shown"), [("bridge", "80/tcp"), ("none", ""), ("host", "")])
def test_exposed_ports_shown_as_dockerd_shows_them(daemon: Daemon, busybox: str, network: str, shown: str) -> None:
    # Observed on dockerd 20.10: an exposed port is listed only while the container runs on a
    # network with port mapping; never for none or host, never once it has exited.
    cid = daemon.docker("run", "-d", "--expose", "80", "--network", network, busybox, "sleep", "100").stdout.strip()
    try:
        ports = daemon.docker("ps", "--filter", f"id={cid}", "--format", "{{.Ports}}").stdout.strip()
        mapped = json.loads(daemon.docker("inspect", "-f", "{{json .NetworkSettings.Ports}}", cid).stdout)
        assert ports == shown
        assert mapped == ({"80/tcp": None} if shown else {})
        daemon.docker("kill", cid)
        daemon.docker("wait", cid)
        assert daemon.docker("ps", "-a", "--filter", f"id={cid}", "--format", "{{.Ports}}").stdout.strip() == ""
        assert json.loads(daemon.docker("inspect", "-f", "{{json .NetworkSettings.Ports}}", cid).stdout) == {}
    finally:
        daemon.docker("rm", "-f", cid, check=False)
