"""The fast start path keeps its guarantees: cgroups before the command, the cgroup
namespace rooted at the container's own cgroup, the prebuilt seccomp program, default
signal dispositions, atomic state files, and a delete that waits for the shim."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from runtime.rthelpers import logs, make_spec, run

from engine.errors import InvalidSpec
from engine.runtime import cgroups, syscalls
from engine.runtime.runtime import Runtime
from engine.runtime.seccomp_profile import compile_profile
from engine.runtime.spec import DEFAULT_CAPABILITIES
from engine.runtime.statefiles import read_json, start_time, wait_gone, write_json


def test_init_is_in_its_cgroups_with_its_own_cgroup_namespace(runtime: Runtime,
                                                              rootfs: Path) -> None:
    """The shim joins the init while it mounts its rootfs; the init unshares its cgroup
    namespace only after that, so it sees its own cgroup as ``/`` in every hierarchy."""
    spec = make_spec(rootfs, "cat", "/proc/self/cgroup")
    runtime.create(spec)
    pid = runtime.state(spec.id).pid
    cgroup = runtime.cgroup(spec.id)
    assert cgroup.dirs
    for directory in cgroup.dirs.values():  # before start: nothing of the user's has run
        assert pid in [int(x) for x in (directory / "cgroup.procs").read_text().split()]
    runtime.start(spec.id)
    state = runtime.wait(spec.id, timeout=20)
    assert state.exit_code == 0
    out, _ = logs(runtime, spec.id)
    lines = [line for line in out.splitlines() if line]
    assert len(lines) >= len(cgroup.dirs)
    for line in lines:
        assert line.split(":", 2)[2] == "/", line


def test_failure_before_the_join_reports_the_real_error(runtime: Runtime, rootfs: Path) -> None:
    """An init that fails while it builds its rootfs (before the shim has joined it)
    reports its own error; delete then leaves no cgroup behind."""
    if (rootfs / "proc").is_dir():
        (rootfs / "proc").rmdir()
    (rootfs / "proc").symlink_to("/tmp")
    spec = make_spec(rootfs, "true")
    with pytest.raises(InvalidSpec, match="symlink"):
        runtime.create(spec)
    if runtime.paths(spec.id).state.exists():
        assert runtime.state(spec.id).status == "stopped"
        runtime.delete(spec.id, force=True)
    for directory in cgroups.for_container(spec.id).dirs.values():
        assert not directory.exists()


def test_default_signal_dispositions_and_mask(tmp_path: Path, rootfs: Path) -> None:
    """Signals an engine ignores (inherited by the launcher through exec) are default again
    in the container; nothing is blocked."""
    script = f"""
import signal, sys
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
from pathlib import Path
from engine.jobs import EventBus
from engine.runtime.runtime import Runtime
from engine.runtime.spec import ProcessSpec, RuntimeSpec
rt = Runtime(Path({str(tmp_path / "containers")!r}), EventBus())
try:
    state = rt.run(RuntimeSpec(id="whsig", rootfs={str(rootfs)!r},
                               process=ProcessSpec(args=["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]),
                               hostname="sig"), timeout=20)
    print(state.exit_code)
    print(Path(rt.paths("whsig").log).read_text())
    rt.delete("whsig", force=True)
finally:
    rt.close()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0\n"), done.stdout
    assert "SigIgn:\\t0000000000000000" in done.stdout, done.stdout
    assert "SigBlk:\\t0000000000000000" in done.stdout, done.stdout


def test_prebuilt_seccomp_program_is_libseccomps_own() -> None:
    """The program loaded by ``prctl`` is exactly what libseccomp exports for the filter."""
    profile = compile_profile(list(DEFAULT_CAPABILITIES), no_new_privileges=False)
    assert profile.program and len(profile.program) % 8 == 0
    with tempfile.TemporaryFile() as out:
        profile.filter.export_bpf(out)
        out.seek(0)
        assert out.read() == profile.program
    pid = os.fork()
    if pid == 0:  # load it in a child and check a default-profile refusal
        code = 1
        try:
            profile.load()
            with open("/proc/self/status") as f:
                mode = [line for line in f if line.startswith("Seccomp:")][0].split()[1]
            try:
                syscalls.unshare(syscalls.CLONE_NEWUTS)
                refused = False
            except OSError:
                refused = True
            code = 0 if (mode == "2" and refused) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_state_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    """Temp file + rename: the old or the new content, never a stray temp file."""
    target = tmp_path / "state.json"
    write_json(target, {"status": "created"})
    write_json(target, {"status": "running", "n": list(range(1000))})
    assert read_json(target)["status"] == "running"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_wait_gone_returns_when_a_process_exits() -> None:
    """``wait_gone`` sleeps on a pidfd: it returns at the exit, not at a polling tick."""
    child = subprocess.Popen(["sleep", "0.2"])
    started = start_time(child.pid)
    try:
        begun = time.monotonic()
        assert not wait_gone(child.pid, started, timeout=0.05)
        assert wait_gone(child.pid, started, timeout=5)
        assert time.monotonic() - begun < 2
    finally:
        child.kill()
        child.wait()
    assert wait_gone(child.pid, started, timeout=0)


def test_many_quick_containers_in_a_row(runtime: Runtime, rootfs: Path) -> None:
    """Back-to-back create → exit → delete: every exit code recorded, no cgroup left."""
    ids = []
    for index in range(10):
        spec = make_spec(rootfs, "sh", "-c", f"exit {index}")
        code, _, _, _ = run(runtime, spec)
        assert code == index
        runtime.delete(spec.id)
        ids.append(spec.id)
    for cid in ids:
        for directory in cgroups.for_container(cid).dirs.values():
            assert not directory.exists()


def _spares_of(runtime: Runtime) -> list[int]:
    """PIDs of the spare shims of this runtime's launcher (their stderr is its log)."""
    log = str(runtime.state_root / "launcher.log")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "wharf-spare" \
                    and os.readlink(entry / "fd" / "2") == log:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_one_spare_shim_waits_and_ends_with_its_launcher(runtime: Runtime, rootfs: Path) -> None:
    """The launcher keeps one shim forked ahead of the next request; it becomes that
    request's shim, and it exits when the launcher does (it never outlives it)."""
    first = make_spec(rootfs, "true")
    assert run(runtime, first)[0] == 0
    spares = _spares_of(runtime)
    assert len(spares) == 1
    second = make_spec(rootfs, "true")
    made = runtime.create(second)
    assert made.shim_pid == spares[0]  # the spare became this container's shim
    runtime.start(second.id)
    assert runtime.wait(second.id, timeout=20).exit_code == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(_spares_of(runtime)) != 1:
        time.sleep(0.02)
    assert len(_spares_of(runtime)) == 1  # and a new one waits
    runtime.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _spares_of(runtime):
        time.sleep(0.02)
    assert _spares_of(runtime) == []
