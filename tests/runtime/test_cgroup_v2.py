"""cgroup v2 on the real kernel: a private ``cgroup2`` mount, a real process group in it.

This host binds every controller to a v1 hierarchy, so the unified tree offers
only the core files (``cgroup.procs``, ``cgroup.events``, ``cgroup.freeze``,
``cgroup.kill``, ``cgroup.subtree_control``). That is enough to drive
:class:`engine.runtime.cgroups.Cgroup` through create, join, freeze and thaw,
kill of the whole group, the populated → empty notification and removal.
Limits (memory.max, cpu.max, pids.max, …) cannot be exercised here: their
controllers are not available in this tree, and writing one fails loudly.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engine.errors import RuntimeFailure
from engine.runtime import cgroups, syscalls
from engine.runtime.spec import ResourceSpec

BUSYBOX = "/bin/busybox"


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def cgroup2_root(tmp_path: Path) -> Iterator[Path]:
    """A private cgroup2 mount; whatever the test left in it is killed and removed, then unmounted."""
    root = tmp_path / "cgroup2"
    root.mkdir()
    try:
        syscalls.mount("none", str(root), "cgroup2")
    except OSError as exc:
        pytest.skip(f"cannot mount cgroup2 here: {exc.strerror}")
    parent = root / f"wharf-v2test-{os.getpid()}"
    try:
        yield root
    finally:
        if parent.exists():
            for child in sorted(parent.iterdir()):
                if child.is_dir():
                    (child / "cgroup.kill").write_text("1")
                    _wait_for(lambda c=child: "populated 0" in (c / "cgroup.events").read_text())
                    child.rmdir()
            parent.rmdir()
        syscalls.umount2(str(root))
        root.rmdir()


def _group(cg: cgroups.Cgroup, ticker: Path) -> subprocess.Popen[bytes]:
    """A shell that waits until it is in ``cg``, then forks a ticker and a sleeper (3 processes)."""
    shell = subprocess.Popen(
        [BUSYBOX, "sh", "-c", f"read go; (i=0; while :; do i=$((i+1)); echo $i > {ticker}; "
                              "sleep 0.01; done) & sleep 300 & wait"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cg.join(shell.pid)
    assert shell.stdin is not None
    shell.stdin.write(b"go\n")
    shell.stdin.close()
    return shell


def test_a_real_process_group_through_a_v2_cgroup(cgroup2_root: Path, tmp_path: Path) -> None:
    """create → join → populated → freeze/thaw → kill the whole group → empty event → destroy."""
    parent = f"wharf-v2test-{os.getpid()}"
    cg = cgroups.for_container("whv2group", root=cgroup2_root, parent=parent)
    assert cg.version == 2  # detected from the mount's filesystem magic
    assert cg.dirs == {"": cgroup2_root / parent / "whv2group"}
    cg.create(ResourceSpec())
    folder = cg.dirs[""]
    for name in ("cgroup.procs", "cgroup.events", "cgroup.freeze", "cgroup.kill"):
        assert (folder / name).exists(), name
    assert not cg.populated()

    ticker = tmp_path / "ticks"
    shell = _group(cg, ticker)
    try:
        assert _wait_for(lambda: len(cg.pids()) == 3), cg.pids()
        assert shell.pid in cg.pids()
        own_line = Path(f"/proc/{shell.pid}/cgroup").read_text().splitlines()[-1]
        assert own_line.startswith("0::") and own_line.endswith(f"/{parent}/whv2group")
        assert cg.populated()
        assert _wait_for(lambda: ticker.exists() and ticker.read_text().strip() != "")

        cg.freeze()  # Runtime.pause on v2
        assert cg.frozen()
        frozen_at = ticker.read_text()
        time.sleep(0.3)
        assert ticker.read_text() == frozen_at, "a frozen group kept running"
        cg.thaw()  # Runtime.unpause
        assert not cg.frozen()
        assert _wait_for(lambda: ticker.read_text() != frozen_at), "the thawed group did not resume"

        events = os.open(folder / "cgroup.events", os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.read(events, 4096)  # arm the notification
            poller = select.poll()
            poller.register(events, select.POLLPRI | select.POLLERR)
            cg.kill_all()  # cgroup.kill: every process, the forked ones too
            assert poller.poll(5000), "no cgroup.events notification after the kill"
            assert _wait_for(lambda: not cg.populated())
            os.lseek(events, 0, os.SEEK_SET)
            assert b"populated 0" in os.read(events, 4096)
        finally:
            os.close(events)
        assert shell.wait(timeout=5) == -signal.SIGKILL
        assert cg.pids() == []
        assert (str(folder / "cgroup.kill"), "1") in cg.written
    finally:
        if shell.poll() is None:
            shell.kill()
            shell.wait()

    cg.destroy()
    assert not folder.exists()
    assert not (cgroup2_root / parent).exists()  # the empty parent goes too


def test_a_limit_without_its_controller_fails_loudly(cgroup2_root: Path) -> None:
    """No memory controller in this tree: memory.max cannot be written, and create says so."""
    cg = cgroups.for_container("whv2limit", root=cgroup2_root, parent=f"wharf-v2test-{os.getpid()}")
    assert "memory" not in (cgroup2_root / "cgroup.controllers").read_text().split()
    with pytest.raises(RuntimeFailure, match="memory.max"):
        cg.create(ResourceSpec(memory=64 * 1024 * 1024))
    cg.destroy()
