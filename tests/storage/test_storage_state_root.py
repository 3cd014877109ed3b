"""The state root layout, atomic writes and the one-engine-per-root lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.errors import EngineLocked
from engine.state import EngineLock, StateRoot, atomic_write_json, read_json

MAIN = Path(__file__).resolve().parents[2]


def test_layout_is_created(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path / "wharf")
    for rel in ("content/blobs/sha256", "content/ingest", "layers", "l", "images",
                "containers", "networks", "volumes"):
        assert (tmp_path / "wharf" / rel).is_dir(), rel
    assert root.lock_path == tmp_path / "wharf" / "engine.lock"


def test_atomic_write_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert read_json(target) == {"a": 2}
    assert os.listdir(tmp_path) == ["record.json"]
    assert read_json(tmp_path / "missing.json", "default") == "default"


HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {main!r})
    from engine.state import EngineLock, StateRoot
    lock = EngineLock(StateRoot.at({root!r}), "/run/other.sock")
    lock.acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


def test_second_engine_is_refused_naming_the_pid(tmp_path: Path) -> None:
    """Another process holds the root: EngineLocked names its pid and socket; SIGKILL frees it."""
    root = StateRoot.at(tmp_path / "wharf")
    proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(main=str(MAIN),
                                                                  root=str(root.path))],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"  # type: ignore[union-attr]
        with pytest.raises(EngineLocked) as caught:
            EngineLock(root, "/run/mine.sock").acquire()
        message = str(caught.value)
        assert f"pid {proc.pid}" in message and "/run/other.sock" in message
        assert str(root.path) in message
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]
    with EngineLock(root, "/run/mine.sock") as lock:
        assert lock.held and lock.owner() == {"pid": os.getpid(), "socket": "/run/mine.sock"}
    assert not lock.held


def test_lock_in_the_same_process_is_exclusive(tmp_path: Path) -> None:
    root = StateRoot.at(tmp_path / "wharf")
    first = EngineLock(root, "a.sock")
    first.acquire()
    try:
        with pytest.raises(EngineLocked, match=f"pid {os.getpid()}"):
            EngineLock(root, "b.sock").acquire()
    finally:
        first.release()
    with EngineLock(root) as again:
        assert again.held
