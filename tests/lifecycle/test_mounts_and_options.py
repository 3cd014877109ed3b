"""Volumes, binds, users and the run options of issue 4, each seen from inside the container."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from compat.conftest import Daemon
from lifecycle.conftest import ESCAPE_TARGET, inspect


def _run(daemon: Daemon, *args: str, check: bool = True):  # noqa: ANN202
    return daemon.docker("run", "--rm", "--network", "none", *args, check=check)


def test_named_volume_is_created_on_first_use_and_filled_from_the_image(daemon: Daemon, special: str) -> None:
    assert daemon.docker("volume", "inspect", "seeded", check=False).returncode == 1
    first = _run(daemon, "-v", "seeded:/seed", special, "sh", "-c",
                 "cat /seed/hello.txt; stat -c %u /seed; echo mine > /seed/added")
    assert first.stdout == "from the image\n1000\n"
    volume = json.loads(daemon.docker("volume", "inspect", "seeded").stdout)[0]
    assert volume["Driver"] == "local"
    assert (Path(volume["Mountpoint"]) / "hello.txt").read_text() == "from the image\n"
    # the second mount keeps what is there: no copy over it
    (Path(volume["Mountpoint"]) / "hello.txt").write_text("changed\n")
    again = _run(daemon, "-v", "seeded:/seed", special, "cat", "/seed/hello.txt", "/seed/added")
    assert again.stdout == "changed\nmine\n"
    daemon.docker("volume", "rm", "seeded")


def test_a_volume_path_through_a_symlink_out_of_the_image_never_writes_on_the_host(daemon: Daemon,
                                                                                   special: str) -> None:
    target = Path(ESCAPE_TARGET)
    assert not target.exists(), "leftover from an earlier run"
    try:
        done = _run(daemon, "-v", "escvol:/escape/inner", special, "sh", "-c",
                    "echo inside > /escape/inner/file; ls -la /escape/inner", check=False)
        assert not target.exists(), f"the engine wrote on the host: {list(target.rglob('*'))}"
        if done.returncode == 0:  # confined: the path was resolved inside the container's root
            assert "file" in done.stdout
    finally:
        if target.exists():
            import shutil  # noqa: PLC0415

            shutil.rmtree(target)
        daemon.docker("volume", "rm", "escvol", check=False)
    bind = _run(daemon, "-v", f"{daemon.root.parent}:/escape/bound", special, "true", check=False)
    assert not target.exists()
    assert bind.returncode in (0, 125)


def test_missing_bind_source_and_unknown_user_fail_clearly(daemon: Daemon, busybox: str) -> None:
    missing = _run(daemon, "--mount", "type=bind,source=/no/such/dir,target=/x", busybox, "true", check=False)
    assert missing.returncode == 125
    assert "bind source path does not exist: /no/such/dir" in missing.stderr
    user = _run(daemon, "--user", "nosuchuser", busybox, "true", check=False)
    assert user.returncode != 0
    assert "nosuchuser" in user.stderr and "no matching entries in passwd file" in user.stderr
    assert daemon.docker("ps", "-aq").stdout == ""


def test_user_workdir_env_hostname(daemon: Daemon, busybox: str) -> None:
    done = _run(daemon, "--user", "app", "-w", "/home/app", "-e", "GREETING=hi there", "--hostname", "box-7",
                busybox, "sh", "-c", 'id -u; id -g; pwd; echo "$GREETING"; hostname; cat /etc/hostname; echo $HOME')
    assert done.stdout.splitlines() == ["1000", "1000", "/home/app", "hi there", "box-7", "box-7", "/home/app"]
    numeric = _run(daemon, "--user", "4242:50", busybox, "sh", "-c", "id -u; id -g")
    assert numeric.stdout.split() == ["4242", "50"]
    created = _run(daemon, "-w", "/made/by/engine", busybox, "pwd")
    assert created.stdout == "/made/by/engine\n"


def test_read_only_and_tmpfs(daemon: Daemon, busybox: str) -> None:
    done = _run(daemon, "--read-only", "--tmpfs", "/scratch:size=1m", busybox, "sh", "-c",
                "touch /nope 2>&1; echo rc=$?; echo ok > /scratch/f && cat /scratch/f; "
                "grep ' /scratch ' /proc/mounts", check=False)
    lines = done.stdout.splitlines()
    assert "Read-only file system" in lines[0] and lines[1] == "rc=1"
    assert lines[2] == "ok"
    assert "tmpfs" in lines[3] and "size=1024k" in lines[3]


def _cap_eff(text: str) -> int:
    return int(next(line for line in text.splitlines() if line.startswith("CapEff")).split()[1], 16)


def test_capabilities_and_privileged(daemon: Daemon, busybox: str) -> None:
    default = _cap_eff(_run(daemon, busybox, "cat", "/proc/self/status").stdout)
    assert default == 0xa80425fb  # Docker's default set
    dropped = _cap_eff(_run(daemon, "--cap-drop", "CHOWN", "--cap-add", "NET_ADMIN", busybox,
                            "cat", "/proc/self/status").stdout)
    assert dropped == (default & ~(1 << 0)) | (1 << 12)
    denied = _run(daemon, "--cap-drop", "CHOWN", busybox, "chown", "1000", "/tmp", check=False)
    assert denied.returncode != 0 and "Operation not permitted" in denied.stderr
    privileged = _run(daemon, "--privileged", busybox, "sh", "-c",
                      "cat /proc/self/status; ls /dev | wc -l; grep ' /sys ' /proc/mounts")
    assert _cap_eff(privileged.stdout) == _cap_eff(Path("/proc/self/status").read_text().replace("CapBnd", "CapEff", 1)
                                                   .replace("CapEff", "CapXxx", 1))  # every capability the host has
    assert "rw," in privileged.stdout.splitlines()[-1]


def test_init_reaps_and_forwards(daemon: Daemon, busybox: str) -> None:
    done = _run(daemon, "--init", busybox, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$")
    first, pid = done.stdout.splitlines()
    assert "sh" not in first.split()[0] and pid != "1"  # an init is PID 1, the command is its child
    plain = _run(daemon, busybox, "sh", "-c", "echo $$")
    assert plain.stdout == "1\n"


def test_ulimit_is_applied_and_clamped_with_a_warning(daemon: Daemon, busybox: str) -> None:
    done = _run(daemon, "--ulimit", "nofile=512:1024", busybox, "sh", "-c", "ulimit -n; ulimit -Hn")
    assert done.stdout.split() == ["512", "1024"]
    hard = int(Path("/proc/sys/fs/nr_open").read_text())
    over = daemon.docker("run", "-d", "--network", "none", "--ulimit", f"nofile={hard * 4}:{hard * 4}", busybox,
                         "sh", "-c", "ulimit -Hn")
    cid = over.stdout.strip()
    daemon.docker("wait", cid)
    assert int(daemon.docker("logs", cid).stdout.strip()) <= hard
    assert "WARNING" in over.stderr and "clamped to" in over.stderr
    assert inspect(daemon, cid)["State"]["ExitCode"] == 0
    daemon.docker("rm", cid)


def test_memory_limit_exceeded_is_reported_as_oom_killed(daemon: Daemon, busybox: str) -> None:
    cid = daemon.docker("run", "-d", "--network", "none", "--memory", "16m", "--memory-swap", "16m", busybox,
                        "sh", "-c", "x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done").stdout.strip()
    assert daemon.docker("wait", cid, timeout=60).stdout.strip() == "137"
    state = inspect(daemon, cid)["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137 and state["Status"] == "exited"
    assert inspect(daemon, cid)["HostConfig"]["Memory"] == 16 * 1024 * 1024
    daemon.docker("rm", cid)


def test_fork_bomb_is_contained_by_the_pids_limit(daemon: Daemon, busybox: str) -> None:
    cid = daemon.docker("run", "-d", "--network", "none", "--pids-limit", "20", busybox, "sh", "-c",
                        "bomb() { bomb | bomb & }; bomb; sleep 30").stdout.strip()
    try:
        time.sleep(2)
        counters = [p for p in (Path("/sys/fs/cgroup/pids/wharf") / cid, Path("/sys/fs/cgroup/wharf") / cid)
                    if (p / "pids.current").exists()]
        assert counters, "no pids cgroup for the container"
        assert int((counters[0] / "pids.max").read_text()) == 20
        assert int((counters[0] / "pids.current").read_text()) <= 20
        events = (counters[0] / "pids.events").read_text() if (counters[0] / "pids.events").exists() else "max 1"
        assert int(events.split()[-1]) > 0  # forks were refused
        assert _run(daemon, busybox, "true").returncode == 0  # the host and the engine stay usable
    finally:
        daemon.docker("rm", "-f", cid)


def test_log_rotation_with_max_size_and_max_file(daemon: Daemon, busybox: str) -> None:
    cid = daemon.docker("run", "-d", "--network", "none", "--log-opt", "max-size=10k", "--log-opt", "max-file=3",
                        busybox, "sh", "-c",
                        "i=0; while [ $i -lt 2000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"
                        ).stdout.strip()
    daemon.docker("wait", cid, timeout=30)
    log_path = Path(inspect(daemon, cid)["LogPath"])
    files = sorted(p.name for p in log_path.parent.iterdir() if p.name.startswith(log_path.name))
    assert len(files) == 3, files  # the live file and two rotated ones, the rest dropped
    for name in files:
        assert (log_path.parent / name).stat().st_size <= 10 * 1024 + 512
    logs = daemon.docker("logs", cid).stdout.splitlines()
    assert logs[-1].startswith("line-1999-") and not any(line.startswith("line-0-") for line in logs)
    assert os.path.exists(log_path)
    daemon.docker("rm", cid)


def test_network_none_has_loopback_up(daemon: Daemon, busybox: str) -> None:
    done = _run(daemon, busybox, "sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W2 127.0.0.1")
    assert done.stdout.split()[0] == "lo"
    assert int(done.stdout.split()[1], 16) & 0x1  # IFF_UP
    assert "1 packets received" in done.stdout
