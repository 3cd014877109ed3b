"""Stop (signal, grace, SIGKILL, the image's StopSignal), remove, wait conditions, rename, restart policies."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

from compat.conftest import Daemon
from lifecycle.conftest import inspect

TRAP = "trap 'echo got-{sig}; exit {code}' {sig}; while true; do sleep 0.05; done"


def test_stop_sends_the_signal_then_sigkill_after_the_timeout(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "stubborn", busybox, "sh", "-c",
                  "trap 'echo ignored' TERM; while true; do sleep 0.05; done")
    time.sleep(0.3)
    started = time.monotonic()
    daemon.docker("stop", "-t", "1", "stubborn")
    took = time.monotonic() - started
    assert 0.9 <= took < 4, took
    state = inspect(daemon, "stubborn")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    assert "ignored" in daemon.docker("logs", "stubborn").stdout
    daemon.docker("rm", "stubborn")


def test_stop_uses_the_images_stop_signal_and_the_signal_flag(daemon: Daemon, special: str) -> None:
    daemon.docker("run", "-d", "--name", "usr1", special, "sh", "-c", TRAP.format(sig="USR1", code=7))
    assert inspect(daemon, "usr1")["Config"]["StopSignal"] == "SIGUSR1"
    time.sleep(0.3)
    started = time.monotonic()
    daemon.docker("stop", "usr1")
    assert time.monotonic() - started < 5
    assert inspect(daemon, "usr1")["State"]["ExitCode"] == 7
    assert "got-USR1" in daemon.docker("logs", "usr1").stdout
    daemon.docker("rm", "usr1")
    daemon.docker("run", "-d", "--name", "hup", "--stop-signal", "SIGHUP", special, "sh", "-c",
                  TRAP.format(sig="HUP", code=9))
    time.sleep(0.3)
    daemon.docker("stop", "hup")
    assert inspect(daemon, "hup")["State"]["ExitCode"] == 9
    daemon.docker("rm", "hup")


def test_remove_is_refused_while_running_unless_forced(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "busy", busybox, "sleep", "60")
    refused = daemon.docker("rm", "busy", check=False)
    assert refused.returncode == 1
    assert "stop the container before removing or force remove" in refused.stderr
    assert inspect(daemon, "busy")["State"]["Running"] is True
    daemon.docker("rm", "-f", "busy")
    assert daemon.docker("ps", "-aq", "--filter", "name=busy").stdout == ""
    gone = daemon.docker("inspect", "busy", check=False)
    assert gone.returncode == 1 and "No such" in gone.stderr


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def _api_wait(daemon: Daemon, name: str, condition: str) -> tuple[threading.Thread, dict[str, object]]:
    """``POST /containers/<name>/wait?condition=`` in a thread; its JSON body lands in ``result["body"]``."""
    result: dict[str, object] = {}

    def call() -> None:
        conn = _Unix(str(daemon.socket))
        conn.request("POST", f"/containers/{name}/wait?condition={condition}")
        response = conn.getresponse()
        result["status"] = response.status
        result["body"] = json.loads(response.read())

    thread = threading.Thread(target=call)
    thread.start()
    return thread, result


def test_wait_conditions(daemon: Daemon, busybox: str) -> None:
    daemon.docker("create", "--name", "waiter", busybox, "sh", "-c", "sleep 0.5; exit 5")
    thread, created = _api_wait(daemon, "waiter", "not-running")
    thread.join(10)
    assert created["body"]["StatusCode"] == 0  # created, not running: at once
    daemon.docker("start", "waiter")
    assert daemon.docker("wait", "waiter", timeout=20).stdout.strip() == "5"
    # not-running on an exited container: at once; next-exit: only after the next run
    thread, now = _api_wait(daemon, "waiter", "not-running")
    thread.join(10)
    assert now["body"]["StatusCode"] == 5
    thread, later = _api_wait(daemon, "waiter", "next-exit")
    time.sleep(0.5)
    assert "body" not in later  # the recorded exit does not count
    daemon.docker("start", "waiter")
    thread.join(20)
    assert later["status"] == 200 and later["body"]["StatusCode"] == 5
    # removed: not before the container is gone
    thread, removed = _api_wait(daemon, "waiter", "removed")
    time.sleep(0.5)
    assert "body" not in removed  # still waiting (the headers come at once, as dockerd's)
    daemon.docker("rm", "waiter")
    thread.join(20)
    assert removed["status"] == 200 and removed["body"]["StatusCode"] == 5


def test_rename(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "before", busybox, "sleep", "60")
    daemon.docker("create", "--name", "taken", busybox, "true")
    clash = daemon.docker("rename", "before", "taken", check=False)
    assert clash.returncode == 1 and "already in use" in clash.stderr
    daemon.docker("rename", "before", "after")
    assert inspect(daemon, "after")["Name"] == "/after"
    assert daemon.docker("inspect", "before", check=False).returncode == 1
    names = daemon.docker("ps", "--format", "{{.Names}}").stdout.split()
    assert "after" in names and "before" not in names
    daemon.docker("create", "--name", "before", busybox, "true")  # the old name is free again
    daemon.docker("rm", "-f", "after", "before", "taken")


def _restarts(daemon: Daemon, name: str) -> int:
    return int(inspect(daemon, name)["RestartCount"])


def test_restart_policy_no_and_on_failure_with_a_maximum(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "never", busybox, "sh", "-c", "exit 3")
    daemon.docker("run", "-d", "--name", "thrice", "--restart", "on-failure:3", busybox, "sh", "-c", "exit 4")
    daemon.docker("run", "-d", "--name", "clean", "--restart", "on-failure", busybox, "true")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _restarts(daemon, "thrice") < 3:
        time.sleep(0.1)
    time.sleep(1.5)  # a fourth restart would be due after 0.8 s
    thrice = inspect(daemon, "thrice")
    assert thrice["RestartCount"] == 3 and thrice["State"]["Status"] == "exited"
    assert thrice["State"]["ExitCode"] == 4 and thrice["HostConfig"]["RestartPolicy"] == {
        "Name": "on-failure", "MaximumRetryCount": 3}
    assert _restarts(daemon, "never") == 0 and inspect(daemon, "never")["State"]["ExitCode"] == 3
    assert _restarts(daemon, "clean") == 0 and inspect(daemon, "clean")["State"]["ExitCode"] == 0
    daemon.docker("rm", "never", "thrice", "clean")


def test_restart_always_backs_off_and_stop_ends_it(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "looper", "--restart", "always", busybox, "sh", "-c",
                  "cut -d' ' -f1 /proc/uptime; exit 0")
    time.sleep(3.5)
    count = _restarts(daemon, "looper")
    # backoff 0.1, 0.2, 0.4, 0.8, 1.6 s ...: about 5 restarts in 3.5 s, never dozens
    assert 3 <= count <= 6, count
    starts = [float(x) for x in daemon.docker("logs", "looper").stdout.split()]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # the waits double (0.1, 0.2, 0.4, 0.8 s) on top of each start's own time
    assert len(gaps) >= 3 and gaps[-1] - gaps[0] >= 0.4, gaps
    assert all(later > earlier - 0.05 for earlier, later in zip(gaps, gaps[1:])), gaps
    daemon.docker("stop", "-t", "1", "looper")
    state = inspect(daemon, "looper")["State"]
    assert state["Status"] == "exited" and not state["Restarting"]
    time.sleep(1.0)
    assert _restarts(daemon, "looper") == count or _restarts(daemon, "looper") == count + 1
    assert inspect(daemon, "looper")["State"]["Status"] == "exited"
    daemon.docker("rm", "looper")


def test_restart_always_restarts_a_killed_process_but_not_a_docker_kill(daemon: Daemon, busybox: str) -> None:
    daemon.docker("run", "-d", "--name", "phoenix", "--restart", "unless-stopped", busybox, "sleep", "60")
    pid = inspect(daemon, "phoenix")["State"]["Pid"]
    import os  # noqa: PLC0415
    import signal  # noqa: PLC0415

    os.kill(pid, signal.SIGKILL)  # dies behind the engine's back: the policy applies
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = inspect(daemon, "phoenix")["State"]
        if state["Running"] and state["Pid"] not in (0, pid):
            break
        time.sleep(0.1)
    assert state["Running"] and state["Pid"] != pid and _restarts(daemon, "phoenix") == 1
    daemon.docker("kill", "phoenix")  # a user's kill: no restart
    time.sleep(0.8)
    state = inspect(daemon, "phoenix")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 137
    daemon.docker("rm", "phoenix")
