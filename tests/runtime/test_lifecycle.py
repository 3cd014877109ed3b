"""Lifecycle of real containers: limits, OOM, exec, tty, attach, pause, re-adoption, cycles."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from runtime.rthelpers import logs, make_spec, new_id, run

from engine.errors import CommandNotFound, InvalidStateTransition
from engine.jobs import Component, EventBus
from engine.runtime import cgroups
from engine.runtime.runtime import Runtime
from engine.runtime.spec import ProcessSpec, ResourceSpec
from engine.runtime.statefiles import start_time
from engine.runtime.stats import StatsSampler, cpu_percent

REPO = Path(__file__).resolve().parents[2]


def _running(runtime: Runtime, rootfs: Path, *args: str, **kwargs: object) -> str:
    spec = make_spec(rootfs, *(args or ("sleep", "1000")), **kwargs)
    runtime.create(spec)
    runtime.start(spec.id)
    return spec.id


def test_create_waits_for_start_and_publishes_steps(runtime: Runtime, rootfs: Path) -> None:
    """After create the init exists (netns ready) but the command has not run yet."""
    spec = make_spec(rootfs, "sh", "-c", "echo ran")
    sub = runtime.bus.subscribe(replay=True)
    created = runtime.create(spec)
    assert runtime.state(spec.id).status == "created"
    assert os.stat(created.netns_path).st_ino == created.namespaces["net"]
    assert os.stat(created.netns_path).st_ino != os.stat("/proc/self/ns/net").st_ino
    time.sleep(0.2)
    assert logs(runtime, spec.id) == ("", "")
    runtime.start(spec.id)
    assert runtime.wait(spec.id, timeout=10).exit_code == 0
    assert logs(runtime, spec.id)[0] == "ran\n"
    steps = [e for e in sub_events(sub) if e.kind == "step"]
    actions = [e.action for e in steps]
    for wanted in ("cgroup files written", "namespaces created", "pid launched", "start"):
        assert wanted in actions
    assert all(e.component is Component.EXEC_DRIVER for e in steps)
    ns_step = next(e for e in steps if e.action == "namespaces created")
    assert ns_step.detail["pid"] == created.namespaces["pid"]


def sub_events(sub) -> list:  # noqa: ANN001 — a Subscription
    events = []
    while (event := sub.get(timeout=0.05)) is not None:
        events.append(event)
    sub.close()
    return events


def test_memory_limit_oom_kill(runtime: Runtime, rootfs: Path) -> None:
    """Filling memory past --memory gets the container OOM-killed: exit 137, oom_killed."""
    spec = make_spec(rootfs, "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo $x",
                     resources=ResourceSpec(memory=32 * 1024 * 1024))
    code, _, _, state = run(runtime, spec, timeout=60)
    limit = (cgroups.for_container(spec.id).read("memory", "memory.limit_in_bytes") or "").strip()
    assert limit == str(32 * 1024 * 1024)
    assert code == 137
    assert state.oom_killed


def test_fork_bomb_contained_by_pids_limit(runtime: Runtime, rootfs: Path) -> None:
    """A real fork bomb under pids_limit=20: the cgroup refuses forks past 20, the host is fine."""
    cid = _running(runtime, rootfs, "sh", "-c", "b() { b | b & }; b; sleep 1000",
                   resources=ResourceSpec(pids_limit=20))
    cg = runtime.cgroup(cid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        refused = int((cg.read("pids", "pids.events") or "max 0").split()[1])
        if refused > 0:
            break
        time.sleep(0.05)
    assert refused > 0
    assert int(cg.read("pids", "pids.current")) <= 20
    runtime.kill(cid, signal.SIGKILL)
    assert runtime.wait(cid, timeout=10).exit_code == 137
    assert cg.pids() == []


def test_cpu_quota_and_shares_written(runtime: Runtime, rootfs: Path) -> None:
    """--cpus 0.5 → cfs quota 50000 / period 100000; shares as given."""
    quota, period = ResourceSpec.from_cpus(0.5)
    cid = _running(runtime, rootfs, resources=ResourceSpec(cpu_quota=quota, cpu_period=period,
                                                           cpu_shares=512))
    cg = runtime.cgroup(cid)
    assert cg.read("cpu", "cpu.cfs_quota_us").strip() == "50000"
    assert cg.read("cpu", "cpu.cfs_period_us").strip() == "100000"
    assert cg.read("cpu", "cpu.shares").strip() == "512"
    init_pid = runtime.state(cid).pid
    assert str(init_pid) in cg.read("cpu", "cgroup.procs").split()


def test_exec_exit_code_and_output(runtime: Runtime, rootfs: Path) -> None:
    """exec joins the container's namespaces: same hostname, PID namespace, exit code."""
    cid = _running(runtime, rootfs, hostname="exec-box")
    proc = runtime.exec(cid, ProcessSpec(args=["sh", "-c", "hostname; cat /proc/1/cmdline; "
                                                  "echo oops >&2; exit 5"]))
    out, err = proc.output(timeout=10)
    assert proc.exit_code == 5
    assert out.splitlines()[0] == b"exec-box"
    assert b"sleep" in out
    assert err == b"oops\n"
    assert logs(runtime, cid) == ("", "")  # exec output is not in the container's log


def test_exec_user_caps_and_stdin(runtime: Runtime, rootfs: Path) -> None:
    """An exec as ``app`` with stdin: the same user rules and capability bounding set."""
    cid = _running(runtime, rootfs)
    proc = runtime.exec(cid, ProcessSpec(args=["sh", "-c", "id -u; grep CapBnd /proc/self/status;"
                                                  " cat"], user="app", open_stdin=True))
    proc.write(b"from stdin\n")
    proc.close_stdin()
    out, _ = proc.output(timeout=10)
    assert proc.exit_code == 0
    lines = out.decode().splitlines()
    assert lines[0] == "1000"
    assert lines[1].split()[1] == "00000000a80425fb"
    assert lines[2] == "from stdin"


def test_exec_command_not_found(runtime: Runtime, rootfs: Path) -> None:
    """exec of a missing command raises CommandNotFound."""
    cid = _running(runtime, rootfs)
    with pytest.raises(CommandNotFound, match="executable file not found"):
        runtime.exec(cid, ProcessSpec(args=["nope"]))


def _read_until(stream, marker: bytes, timeout: float = 10) -> bytes:  # noqa: ANN001
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        item = stream.read(timeout=max(0.01, deadline - time.monotonic()))
        assert item is not None, f"stream ended before {marker!r}: {seen!r}"
        seen += item[1]
    return seen


def test_tty_exec(runtime: Runtime, rootfs: Path) -> None:
    """A tty exec gets a pty from the container's own devpts, sized, then resized."""
    cid = _running(runtime, rootfs)
    proc = runtime.exec(cid, ProcessSpec(args=["sh", "-c", "tty; stty size; read x; stty size"],
                                         tty=True, open_stdin=True, console_size=(30, 100)))
    assert proc.tty
    first = _read_until(proc, b"30 100")
    proc.resize(40, 120)
    proc.write(b"\n")
    out, err = proc.output(timeout=10)
    assert proc.exit_code == 0 and err == b""
    text = (first + out).decode().replace("\r", "")
    assert text.splitlines()[0].startswith("/dev/pts/")
    assert "40 120" in text


def test_tty_container_with_attach(runtime: Runtime, rootfs: Path) -> None:
    """A tty container: attach before start, type into it, see the echo; log has stdout only."""
    spec = make_spec(rootfs, "sh", proc_tty=True, proc_open_stdin=True)
    runtime.create(spec)
    stream = runtime.attach(spec.id, stdin=True)
    runtime.start(spec.id)
    stream.write(b"echo hello-$((40+2)); [ -t 0 ] && echo is-tty; exit 4\n")
    out, _ = stream.output(timeout=10)
    assert b"hello-42" in out and b"is-tty" in out
    state = runtime.wait(spec.id, timeout=10)
    assert state.exit_code == 4
    stdout, stderr = logs(runtime, spec.id)
    assert "hello-42" in stdout and stderr == ""


def test_attach_stdin_pipe(runtime: Runtime, rootfs: Path) -> None:
    """Without a tty, attach with stdin_once: closing our stdin ends the container's input."""
    spec = make_spec(rootfs, "sh", "-c", "tr a-z A-Z", proc_open_stdin=True)
    runtime.create(spec)
    stream = runtime.attach(spec.id, stdin=True, stdin_once=True)
    runtime.start(spec.id)
    stream.write(b"shout\n")
    stream.close_stdin()
    out, _ = stream.output(timeout=10)
    assert out == b"SHOUT\n"
    assert stream.exit_code == 0


def test_pause_unpause_and_top(runtime: Runtime, rootfs: Path) -> None:
    """pause freezes (state paused), unpause thaws; top lists host and container pids."""
    cid = _running(runtime, rootfs)
    runtime.pause(cid)
    assert runtime.state(cid).status == "paused"
    with pytest.raises(InvalidStateTransition):
        runtime.pause(cid)
    runtime.unpause(cid)
    assert runtime.state(cid).status == "running"
    top = runtime.top(cid)
    assert [(p.container_pid, p.command) for p in top] == [(1, "sleep 1000")]
    assert top[0].host_pid == runtime.state(cid).pid
    runtime.kill(cid, signal.SIGKILL)
    assert runtime.wait(cid, timeout=10).exit_code == 137


def test_stats_sample(runtime: Runtime, rootfs: Path) -> None:
    """One sampler pass reads CPU, memory, pids and network counters of several containers."""
    busy = _running(runtime, rootfs, "sh", "-c", "while :; do :; done")
    idle = _running(runtime, rootfs)
    sampler = StatsSampler()
    try:
        for cid in (busy, idle):
            sampler.track(cid, runtime.cgroup(cid), runtime.state(cid).pid)
        first = sampler.sample()
        time.sleep(0.5)
        second = sampler.sample()
    finally:
        sampler.close()
    assert set(second) == {busy, idle}
    assert cpu_percent(first[busy], second[busy]) > 20
    assert cpu_percent(first[idle], second[idle]) < 5
    assert second[busy].pids == 1 and second[idle].pids == 1
    assert 0 < second[idle].memory_usage <= second[idle].memory_limit
    assert "lo" in second[idle].networks
    assert second[idle].online_cpus == os.cpu_count()


def test_delete_refuses_running_unless_forced(runtime: Runtime, rootfs: Path) -> None:
    """delete of a running container needs force; afterwards nothing is left."""
    cid = _running(runtime, rootfs)
    with pytest.raises(InvalidStateTransition):
        runtime.delete(cid)
    pid = runtime.state(cid).pid
    runtime.delete(cid, force=True)
    assert not Path(f"/proc/{pid}").exists()
    assert not (runtime.state_root / cid).exists()
    assert not any(p.exists() for p in cgroups.for_container(cid).dirs.values())


_ENGINE_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from engine.jobs import EventBus
    from engine.runtime.runtime import Runtime
    from engine.runtime.spec import ProcessSpec, RuntimeSpec
    rt = Runtime(Path(sys.argv[1]), EventBus())
    ids = sys.argv[3:]
    for cid, cmd in zip(ids, (["sleep", "1000"], ["sh", "-c", "sleep 0.5; exit 7"])):
        rt.create(RuntimeSpec(id=cid, rootfs=sys.argv[2], process=ProcessSpec(args=cmd)))
        rt.start(cid)
    print(json.dumps({"launcher": rt.launcher.pid}), flush=True)
    sys.stdin.read()
""")


def test_containers_survive_engine_and_launcher_sigkill(tmp_path: Path, rootfs: Path) -> None:
    """SIGKILL the engine process and its launcher: containers live on, a new Runtime adopts
    them, sees the exit code of one that ended meanwhile, and can exec into the other."""
    root = tmp_path / "containers"
    ids = [new_id(), new_id()]
    engine = subprocess.Popen([sys.executable, "-c", _ENGINE_SCRIPT, str(root), str(rootfs), *ids],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    rt = None
    try:
        launcher = json.loads(engine.stdout.readline())["launcher"]
        os.kill(engine.pid, signal.SIGKILL)
        os.kill(launcher, signal.SIGKILL)
        engine.wait()
        rt = Runtime(root, EventBus())
        assert {s.id for s in rt.list()} == set(ids)
        assert rt.state(ids[0]).status == "running"
        ended = rt.wait(ids[1], timeout=10)
        assert (ended.status, ended.exit_code) == ("stopped", 7)
        proc = rt.exec(ids[0], ProcessSpec(args=["sh", "-c", "exit 9"]))
        assert proc.wait(timeout=10) == 9
        rt.kill(ids[0], signal.SIGKILL)
        assert rt.wait(ids[0], timeout=10).exit_code == 137
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.wait()
        rt = rt or Runtime(root, EventBus())
        for state in rt.list():
            rt.delete(state.id, force=True)
        rt.close()


def test_stale_pid_is_not_trusted(runtime: Runtime, rootfs: Path) -> None:
    """A state file whose PID now belongs to another process (other start time) reads stopped."""
    spec = make_spec(rootfs, "true")
    code, _, _, _ = run(runtime, spec)
    paths = runtime.paths(spec.id)
    paths.exit.unlink()
    state = json.loads(paths.state.read_text())
    state.update(status="running", init_pid=os.getpid(), init_start=1,
                 shim_pid=os.getpid(), shim_start=1)
    paths.state.write_text(json.dumps(state))
    current = runtime.state(spec.id)
    assert current.status == "stopped" and current.exit_code == 255
    runtime.kill  # noqa: B018 — no signal may reach our own PID through the stale record
    with pytest.raises(InvalidStateTransition):
        runtime.kill(spec.id, signal.SIGKILL)


def test_create_start_delete_cycles_leave_nothing(runtime: Runtime, rootfs: Path) -> None:
    """20 create/start/delete cycles: no cgroup, mount, state folder or process left."""
    def our_mounts() -> list[str]:  # other suites may mount things meanwhile: only ours count
        return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                if str(rootfs) in line or str(runtime.state_root) in line]

    assert our_mounts() == []
    ids, pids = [], []
    for _ in range(20):
        spec = make_spec(rootfs, "true", resources=ResourceSpec(memory=64 << 20, pids_limit=50))
        made = runtime.create(spec)
        pids += [made.pid, made.shim_pid]
        runtime.start(spec.id)
        assert runtime.wait(spec.id, timeout=20).exit_code == 0
        runtime.delete(spec.id)
        ids.append(spec.id)
    assert our_mounts() == []
    for cid in ids:
        assert not any(p.exists() for p in cgroups.for_container(cid).dirs.values())
        assert not (runtime.state_root / cid).exists()
    for pid in pids:  # (an exited shim may be a zombie until the host's init reaps it)
        assert start_time(pid) is None, f"process {pid} is still running"


def test_tty_container_resize_and_console(runtime: Runtime, rootfs: Path) -> None:
    """The init's pty starts at console_size, follows Runtime.resize; /dev/console is the pty."""
    spec = make_spec(rootfs, "sh", "-c", "stty size; read x; stty size; "
                     "[ /dev/console -ef $(tty) ] && echo console-ok",
                     proc_tty=True, proc_open_stdin=True, proc_console_size=(24, 80))
    runtime.create(spec)
    stream = runtime.attach(spec.id, stdin=True)
    runtime.start(spec.id)
    _read_until(stream, b"24 80")
    runtime.resize(spec.id, 50, 132)
    stream.write(b"\n")
    assert runtime.wait(spec.id, timeout=10).exit_code == 0
    out = logs(runtime, spec.id)[0].replace("\r", "")
    assert [line for line in out.splitlines() if line] == ["24 80", "50 132", "console-ok"]


def test_illegal_transitions(runtime: Runtime, rootfs: Path) -> None:
    """start twice, exec or pause a stopped container: InvalidStateTransition naming states."""
    spec = make_spec(rootfs, "true")
    run(runtime, spec)
    with pytest.raises(InvalidStateTransition, match="it is stopped"):
        runtime.start(spec.id)
    with pytest.raises(InvalidStateTransition):
        runtime.exec(spec.id, ProcessSpec(args=["true"]))
    with pytest.raises(InvalidStateTransition):
        runtime.pause(spec.id)
    from engine.errors import AlreadyExists, ContainerNotFound  # noqa: PLC0415
    with pytest.raises(AlreadyExists):
        runtime.create(spec)
    runtime.delete(spec.id)
    with pytest.raises(ContainerNotFound):
        runtime.state(spec.id)


def test_parallel_creates_from_threads(runtime: Runtime, rootfs: Path) -> None:
    """The engine calls the runtime from worker threads: concurrent creates all work."""
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415
    specs = [make_spec(rootfs, "sh", "-c", f"exit {i}") for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        states = list(pool.map(lambda s: runtime.run(s, timeout=20), specs))
    assert [s.exit_code for s in states] == list(range(6))
    assert all(s.exit_recorded_at >= s.finished_at >= s.started_at >= s.created_at > 0
               for s in states)


def test_bad_mount_error_names_destination(runtime: Runtime, rootfs: Path) -> None:
    """A mount the kernel refuses fails the create with the container path in the message."""
    from engine.errors import RuntimeFailure  # noqa: PLC0415
    from engine.runtime.spec import MountSpec  # noqa: PLC0415
    spec = make_spec(rootfs, "true", mounts=[MountSpec("/bad", type="tmpfs",
                                                       options=["size=nonsense"])])
    with pytest.raises(RuntimeFailure, match="cannot mount tmpfs on /bad"):
        runtime.create(spec)


def test_detached_exec_exit_code_recorded(runtime: Runtime, rootfs: Path) -> None:
    """An exec whose stream is dropped (docker exec -d) still gets its exit code recorded."""
    cid = _running(runtime, rootfs)
    proc = runtime.exec(cid, ProcessSpec(args=["sh", "-c", "sleep 1; exit 6"]), exec_id="e1")
    record = runtime.exec_state(cid, "e1")
    assert record["running"] and record["pid"] == proc.pid
    proc.close()
    deadline = time.monotonic() + 10
    while runtime.exec_state(cid, "e1")["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runtime.exec_state(cid, "e1")["exit_code"] == 6
    assert runtime.exec_state(cid, "nope") is None


def test_restart_keeps_log(runtime: Runtime, rootfs: Path) -> None:
    """A restart is delete(keep_log=True) + create + start: the log continues."""
    spec = make_spec(rootfs, "sh", "-c", "echo run")
    run(runtime, spec)
    runtime.delete(spec.id, keep_log=True)
    again = make_spec(rootfs, "sh", "-c", "echo run", id=spec.id)
    run(runtime, again)
    assert logs(runtime, spec.id)[0] == "run\nrun\n"


def test_execs_leak_no_shim_fds(runtime: Runtime, rootfs: Path) -> None:
    """Ten tty and ten pipe execs later the shim holds as many descriptors as before."""
    cid = _running(runtime, rootfs)
    shim = runtime.state(cid).shim_pid

    def fds() -> int:  # settled: the shim handles a hang-up on its next loop turn
        count, deadline = -1, time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = len(os.listdir(f"/proc/{shim}/fd"))
            if now == count:
                return now
            count = now
        return count

    proc = runtime.exec(cid, ProcessSpec(args=["true"]))
    assert proc.wait(timeout=10) == 0
    proc.close()
    before = fds()
    for i in range(20):
        proc = runtime.exec(cid, ProcessSpec(args=["sh", "-c", "echo x"], tty=i % 2 == 0,
                                             open_stdin=i % 4 == 1))
        assert proc.wait(timeout=10) == 0
        proc.close()
    assert fds() == before


def test_container_mounts_do_not_propagate_to_host(runtime: Runtime, rootfs: Path,
                                                   tmp_path: Path) -> None:
    """While a container runs (with a bind and a tmpfs), the host sees none of its mounts."""
    from engine.runtime.spec import MountSpec  # noqa: PLC0415
    src = tmp_path / "vol"
    src.mkdir()
    cid = _running(runtime, rootfs, mounts=[MountSpec("/vol", source=str(src)),
                                            MountSpec("/t", type="tmpfs")])
    pid = runtime.state(cid).pid
    host = Path("/proc/self/mountinfo").read_text()
    assert str(rootfs) not in host
    inside = Path(f"/proc/{pid}/mountinfo").read_text()
    assert " /vol " in inside and " /t " in inside and " /proc " in inside


def test_sigkill_reaches_paused_container(runtime: Runtime, rootfs: Path) -> None:
    """SIGKILL on a paused container thaws it so the kill lands: exit 137."""
    cid = _running(runtime, rootfs)
    runtime.pause(cid)
    runtime.kill(cid, signal.SIGKILL)
    state = runtime.wait(cid, timeout=10)
    assert (state.status, state.exit_code) == ("stopped", 137)
    assert not runtime.cgroup(cid).frozen()
