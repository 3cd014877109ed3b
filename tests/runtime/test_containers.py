"""Real containers from a busybox rootfs: exit codes, logs, isolation, security defaults."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from runtime.rthelpers import make_spec, run

from engine.errors import CommandNotFound, InvalidSpec
from engine.runtime.runtime import Runtime
from engine.runtime.spec import MountSpec

DOCKER_CAPS = "00000000a80425fb"


@pytest.mark.parametrize(("script", "code"), [("exit 0", 0), ("exit 3", 3)])
def test_exit_codes(runtime: Runtime, rootfs: Path, script: str, code: int) -> None:
    """Normal exits keep their status."""
    exit_code, _, _, state = run(runtime, make_spec(rootfs, "sh", "-c", script))
    assert exit_code == code
    assert state.finished_at >= state.started_at > 0
    assert not state.oom_killed


def test_signal_death_is_128_plus_signal(runtime: Runtime, rootfs: Path) -> None:
    """SIGKILL from the engine: exit code 137; SIGTERM to a PID 1 with no handler is ignored."""
    spec = make_spec(rootfs, "sleep", "1000")
    runtime.create(spec)
    runtime.start(spec.id)
    assert runtime.state(spec.id).status == "running"
    runtime.kill(spec.id, signal.SIGTERM)
    assert runtime.wait(spec.id, timeout=0.3).status == "running"
    runtime.kill(spec.id, signal.SIGKILL)
    state = runtime.wait(spec.id, timeout=10)
    assert (state.status, state.exit_code) == ("stopped", 137)


def test_stdout_and_stderr_in_json_log(runtime: Runtime, rootfs: Path) -> None:
    """Each stream's lines are separate json-file entries with the right stream name."""
    code, out, err, _ = run(runtime, make_spec(rootfs, "sh", "-c",
                                               "echo out1; echo err1 >&2; echo out2"))
    assert code == 0
    assert out == "out1\nout2\n"
    assert err == "err1\n"


def test_hostname_pid1_and_isolated_pids(runtime: Runtime, rootfs: Path) -> None:
    """The UTS hostname is set, the command is PID 1, host processes are invisible."""
    code, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c",
                                             "hostname; echo pid=$$; ls /proc | grep -c '^[0-9]'",
                                             hostname="web-1"))
    assert code == 0
    lines = out.split()
    assert lines[0] == "web-1"
    assert lines[1] == "pid=1"
    assert int(lines[2]) <= 3  # sh, ls, grep: nothing of the host's hundreds


def test_docker_default_capabilities(runtime: Runtime, rootfs: Path) -> None:
    """Bounding = effective = permitted = Docker's 14; inheritable and ambient empty."""
    _, out, _, _ = run(runtime, make_spec(rootfs, "grep", "^Cap", "/proc/self/status"))
    caps = dict(line.split(":\t") for line in out.splitlines())
    assert caps["CapBnd"] == caps["CapEff"] == caps["CapPrm"] == DOCKER_CAPS
    assert caps["CapInh"] == caps["CapAmb"] == "0000000000000000"


def test_mount_and_unshare_refused(runtime: Runtime, rootfs: Path) -> None:
    """Without CAP_SYS_ADMIN (and with seccomp) mount and unshare fail."""
    _, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c",
                                          "mkdir /mnt; mount -t tmpfs none /mnt; echo mount=$?; "
                                          "unshare -n true; echo unshare=$?"))
    assert "mount=1" in out
    assert "unshare=1" in out


def test_masked_and_readonly_paths(runtime: Runtime, rootfs: Path) -> None:
    """Masked /proc files read empty (kcore if present), /proc/sys and /sys are read-only."""
    script = ("wc -c < /proc/keys; wc -c < /proc/timer_list; "
              "[ -e /proc/kcore ] && wc -c < /proc/kcore; "
              "ls /sys/firmware | wc -l; "
              "echo x > /proc/sys/kernel/domainname; echo procsys=$?; "
              "touch /sys/kernel/wharf; echo sys=$?; "
              "grep -E ' /(proc/sys|sys) ' /proc/mounts")
    _, out, err, _ = run(runtime, make_spec(rootfs, "sh", "-c", script))
    lines = out.splitlines()
    assert lines[0] == "0" and lines[1] == "0"  # masked behind /dev/null
    assert "procsys=1" in out and "sys=1" in out
    assert "Read-only file system" in err
    for line in out.splitlines():
        if line.startswith(("proc /proc/sys ", "sysfs /sys ")):
            assert line.split()[3].startswith("ro")
    if os.path.exists("/proc/kcore"):
        assert lines[2] == "0"


def test_user_and_groups_from_container_passwd(runtime: Runtime, rootfs: Path) -> None:
    """``app`` resolves in the container's own /etc/passwd and /etc/group, with its sgid."""
    _, out, _, _ = run(runtime, make_spec(rootfs, "id", proc_user="app"))
    assert out.strip() == "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)"
    _, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c", "id -u; id -g; echo $HOME",
                                          proc_user="65534"))
    assert out.split() == ["65534", "65534", "/nonexistent"]
    _, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c", "id -u; id -G",
                                          proc_user="4242:2000"))
    assert out.split() == ["4242", "2000"]


def test_non_root_user_has_no_effective_caps(runtime: Runtime, rootfs: Path) -> None:
    """As in Docker, a non-root user keeps the bounding set but no effective capabilities."""
    _, out, _, _ = run(runtime, make_spec(rootfs, "grep", "^Cap", "/proc/self/status",
                                          proc_user="app"))
    caps = dict(line.split(":\t") for line in out.splitlines())
    assert caps["CapBnd"] == DOCKER_CAPS
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapInh"] == "0000000000000000"


def test_unknown_user_is_a_clear_error(runtime: Runtime, rootfs: Path) -> None:
    """An unknown user name fails the create with the name in the message."""
    spec = make_spec(rootfs, "true", proc_user="ghost")
    with pytest.raises(InvalidSpec, match="unable to find user ghost"):
        runtime.create(spec)
    assert runtime.state(spec.id).status == "stopped"


def test_command_not_found(runtime: Runtime, rootfs: Path) -> None:
    """A missing command: CommandNotFound, exit 127 and Docker's message on stderr."""
    spec = make_spec(rootfs, "no-such-cmd")
    with pytest.raises(CommandNotFound) as info:
        runtime.create(spec)
    message = 'exec: "no-such-cmd": executable file not found in $PATH'
    assert message in str(info.value)
    state = runtime.wait(spec.id, timeout=5)
    assert state.exit_code == 127
    from runtime.rthelpers import logs
    assert message in logs(runtime, spec.id)[1]


def test_bind_mounts_ro_and_rw(runtime: Runtime, rootfs: Path, tmp_path: Path) -> None:
    """A rw bind is writable from inside; a ro bind is not."""
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "given").write_text("hello")
    spec = make_spec(rootfs, "sh", "-c",
                     "echo data > /data/out; cat /conf/given; echo; "
                     "touch /conf/new; echo ro=$?",
                     mounts=[MountSpec("/data", source=str(rw)),
                             MountSpec("/conf", source=str(ro), readonly=True)])
    code, out, _, _ = run(runtime, spec)
    assert (rw / "out").read_text() == "data\n"
    assert "hello" in out and "ro=1" in out
    assert not (ro / "new").exists()


def test_bind_source_missing(runtime: Runtime, rootfs: Path, tmp_path: Path) -> None:
    """A bind whose source does not exist is refused before anything starts."""
    spec = make_spec(rootfs, "true", mounts=[MountSpec("/data", source=str(tmp_path / "nope"))])
    with pytest.raises(InvalidSpec, match="bind source path does not exist"):
        runtime.create(spec)


def test_mount_destination_escaping_by_symlink(runtime: Runtime, rootfs: Path,
                                                tmp_path: Path) -> None:
    """A destination that climbs out of the rootfs through a symlink is refused."""
    (rootfs / "evil").symlink_to("../../../../../../tmp")
    src = tmp_path / "src"
    src.mkdir()
    spec = make_spec(rootfs, "true", mounts=[MountSpec("/evil/x", source=str(src))])
    with pytest.raises(InvalidSpec, match="escapes the container's root"):
        runtime.create(spec)


def test_absolute_symlink_destination_stays_inside(runtime: Runtime, rootfs: Path,
                                                   tmp_path: Path) -> None:
    """An absolute symlink (``/var/run -> /run``) is followed inside the rootfs, not the host."""
    (rootfs / "run").mkdir()
    (rootfs / "var").mkdir()
    (rootfs / "var" / "run").symlink_to("/run")
    src = tmp_path / "sock"
    src.mkdir()
    (src / "marker").write_text("m")
    spec = make_spec(rootfs, "cat", "/run/app/marker",
                     mounts=[MountSpec("/var/run/app", source=str(src))])
    code, out, _, _ = run(runtime, spec)
    assert (code, out) == (0, "m")
    assert (rootfs / "run" / "app").is_dir()
    assert not Path("/run/app").exists() or not (Path("/run/app") / "marker").exists()


def test_tmpfs_and_etc_files(runtime: Runtime, rootfs: Path, tmp_path: Path) -> None:
    """A tmpfs mount and the per-container /etc/hosts and /etc/hostname binds."""
    hosts, hostname = tmp_path / "hosts", tmp_path / "hostname"
    hosts.write_text("127.0.0.1 localhost\n10.0.0.2 box\n")
    hostname.write_text("box\n")
    spec = make_spec(rootfs, "sh", "-c", "cat /etc/hosts /etc/hostname; "
                     "grep ' /scratch ' /proc/mounts",
                     mounts=[MountSpec("/scratch", type="tmpfs", options=["size=1m"])],
                     etc_files={"/etc/hosts": str(hosts), "/etc/hostname": str(hostname)})
    code, out, _, _ = run(runtime, spec)
    assert code == 0
    assert "10.0.0.2 box" in out and "box\n" in out
    assert "tmpfs /scratch tmpfs" in out


def test_init_tini(runtime: Runtime, rootfs: Path) -> None:
    """``init=True`` runs tini as PID 1 with the command as its child."""
    if not Path("/usr/bin/tini-static").exists():
        pytest.skip("needs tini-static")
    code, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c", "cat /proc/1/comm; echo $$",
                                             init=True))
    assert code == 0
    comm, pid = out.split()
    assert comm.startswith("docker-init") or comm.startswith("tini")
    assert pid != "1"


def test_readonly_rootfs(runtime: Runtime, rootfs: Path) -> None:
    """``readonly_rootfs`` makes / read-only while /dev/shm stays writable."""
    code, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c",
                                             "touch /x; echo root=$?; touch /dev/shm/y; "
                                             "echo shm=$?", readonly_rootfs=True))
    assert "root=1" in out and "shm=0" in out


def test_seccomp_and_no_new_privileges_flags(runtime: Runtime, rootfs: Path) -> None:
    """Seccomp filter mode by default; off when asked; NNP only when asked."""
    grep = ("grep", "-E", "^(Seccomp|NoNewPrivs):", "/proc/self/status")
    _, out, _, _ = run(runtime, make_spec(rootfs, *grep))
    assert "Seccomp:\t2" in out and "NoNewPrivs:\t0" in out
    _, out, _, _ = run(runtime, make_spec(rootfs, *grep, proc_seccomp=False,
                                          proc_no_new_privileges=True))
    assert "Seccomp:\t0" in out and "NoNewPrivs:\t1" in out


def test_privileged(runtime: Runtime, rootfs: Path) -> None:
    """Privileged: all capabilities, no seccomp, /sys writable, no masks, mount allowed."""
    from engine.runtime import caps  # noqa: PLC0415
    spec = make_spec(rootfs, "sh", "-c", "grep -E '^(CapEff|Seccomp):' /proc/self/status; "
                     "grep -c . /proc/timer_list; mkdir -p /mnt; "
                     "mount -t tmpfs t /mnt && echo mounted",
                     privileged=True, proc_capabilities=caps.all_capabilities())
    code, out, _, _ = run(runtime, spec)
    assert f"CapEff:\t{caps.mask(caps.all_capabilities()):016x}" in out
    assert "Seccomp:\t0" in out
    assert "mounted" in out
    assert int(out.split("\n")[2]) > 0  # /proc/timer_list is not masked


def test_rlimits_applied(runtime: Runtime, rootfs: Path) -> None:
    """rlimits from the spec are in force in the container."""
    from engine.runtime.spec import Rlimit  # noqa: PLC0415
    _, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c", "ulimit -n; ulimit -Hn",
                                          proc_rlimits=[Rlimit("nofile", 256, 512)]))
    assert out.split() == ["256", "512"]


def test_env_cwd_and_default_path(runtime: Runtime, rootfs: Path) -> None:
    """PATH defaults to Docker's, HOSTNAME and HOME are set, env overrides, cwd is created."""
    _, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c", "echo $PATH; echo $HOSTNAME; "
                                          "echo $HOME; echo $GREETING; pwd",
                                          hostname="envbox", proc_env=["GREETING=hi"],
                                          proc_cwd="/work/dir"))
    assert out.split() == ["/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "envbox", "/root", "hi", "/work/dir"]


def test_host_network_and_joined_netns(runtime: Runtime, rootfs: Path) -> None:
    """net="host" shares the engine's netns; a path joins another container's netns."""
    from engine.runtime.spec import NamespaceSpec  # noqa: PLC0415
    first = make_spec(rootfs, "sleep", "1000")
    made = runtime.create(first)
    runtime.start(first.id)
    joined = make_spec(rootfs, "sleep", "1000", namespaces=NamespaceSpec(net=made.netns_path))
    other = runtime.create(joined)
    assert other.namespaces["net"] == made.namespaces["net"]
    assert other.namespaces["mnt"] != made.namespaces["mnt"]
    host = runtime.create(make_spec(rootfs, "true", namespaces=NamespaceSpec(net="host")))
    assert host.namespaces["net"] == os.stat("/proc/self/ns/net").st_ino


def test_init_runs_from_sealed_memfd(runtime: Runtime, rootfs: Path) -> None:
    """CVE-2019-5736: the waiting init's /proc/<pid>/exe is a sealed memfd, not host Python."""
    made = runtime.create(make_spec(rootfs, "true"))
    exe = os.readlink(f"/proc/{made.pid}/exe")
    assert exe.startswith("/memfd:wharf-python")
    with pytest.raises(OSError):
        with open(f"/proc/{made.pid}/exe", "r+b") as f:
            f.write(b"\0")
    status = Path(f"/proc/{made.pid}/status").read_text()
    assert "\nTracerPid:\t0" in status


def test_log_rotation_from_spec(runtime: Runtime, rootfs: Path) -> None:
    """max_size/max_file from the spec rotate the container's json log."""
    from engine.runtime.logs import read_log  # noqa: PLC0415
    from engine.runtime.spec import LogSpec  # noqa: PLC0415
    spec = make_spec(rootfs, "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line$i; "
                     "i=$((i+1)); done", log=LogSpec(max_size=2000, max_file=2))
    run(runtime, spec)
    log = runtime.paths(spec.id).log
    assert log.with_name(log.name + ".1").exists()
    entries = list(read_log(log, max_file=2))
    assert entries[-1]["log"] == "line199\n"
    assert len(entries) < 200


def test_proc_symlink_in_image_refused(runtime: Runtime, rootfs: Path) -> None:
    """An image whose /proc is a symlink (CVE-2019-19921 class) is refused, not followed."""
    (rootfs / "elsewhere").mkdir()
    (rootfs / "proc").symlink_to("/elsewhere")
    with pytest.raises(InvalidSpec, match="/proc in the image is a symlink"):
        runtime.create(make_spec(rootfs, "true"))


def test_host_pid_namespace(runtime: Runtime, rootfs: Path) -> None:
    """pid=False (Docker --pid=host): the command is not PID 1 and sees host processes."""
    from engine.runtime.spec import NamespaceSpec  # noqa: PLC0415
    code, out, _, _ = run(runtime, make_spec(rootfs, "sh", "-c", "echo $$; ls /proc/1/ >/dev/null"
                                             " && echo sees-host-init",
                                             namespaces=NamespaceSpec(pid=False)))
    assert code == 0
    pid, seen = out.split()
    assert int(pid) > 1 and seen == "sees-host-init"


def test_oom_score_adj_not_inherited_from_shim(runtime: Runtime, rootfs: Path) -> None:
    """The shim protects itself (-999); the container gets its own value (default 0)."""
    _, out, _, _ = run(runtime, make_spec(rootfs, "cat", "/proc/self/oom_score_adj"))
    assert out.strip() == "0"
    _, out, _, _ = run(runtime, make_spec(rootfs, "cat", "/proc/self/oom_score_adj",
                                          oom_score_adj=500))
    assert out.strip() == "500"
