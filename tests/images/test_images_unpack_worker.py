"""Unpacking in a child process: same tree and result as in-process, errors relayed, kills on failure."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
from images.layer_tars import Member, make_tar, sha256, snapshot

from engine.errors import DigestMismatch, LayerError, UnsafeLayer
from engine.images.unpack import apply_layer
from engine.images.unpackworker import apply_layer_in_worker


def _layer() -> bytes:
    return make_tar([
        Member("etc/", tarfile.DIRTYPE, mode=0o755),
        Member("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
        Member("bin/", tarfile.DIRTYPE, mode=0o755),
        Member("bin/su", data=b"su" * 1000, mode=0o4755, gid=42),
        Member("bin/sh", tarfile.SYMTYPE, linkname="busybox", uid=7),
        Member("big", data=os.urandom(3 << 20), pax={"SCHILY.xattr.user.k": "v"}),
    ])


def test_worker_gives_the_same_tree_and_result(tmp_path: Path) -> None:
    data = _layer()
    blob = gzip.compress(data, 1)
    ours, inline = tmp_path / "worker", tmp_path / "inline"
    ours.mkdir()
    inline.mkdir()
    seen: list[int] = []
    result = apply_layer_in_worker(io.BytesIO(blob), ours, expected_diff_id=sha256(data),
                                   compressed_digest=sha256(blob), on_progress=seen.append)
    reference = apply_layer(io.BytesIO(blob), inline)
    assert snapshot(ours) == snapshot(inline)
    assert (result.diff_id, result.size, result.entries, result.compression) == (
        reference.diff_id, reference.size, reference.entries, "gzip")
    assert seen and seen[-1] == len(blob)


@pytest.mark.parametrize(("members", "error", "match"), [
    ([Member("../escaped", data=b"x")], UnsafeLayer, "climbs out"),
    ([Member("hl", tarfile.LNKTYPE, linkname="/etc/passwd")], UnsafeLayer, "hardlinks"),
])
def test_unsafe_layers_are_refused_with_the_same_error(members: list[Member], error: type,
                                                       match: str, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(error, match=match):
        apply_layer_in_worker(io.BytesIO(make_tar(members)), dest)
    assert not (tmp_path / "escaped").exists()


def test_wrong_digests_are_relayed(tmp_path: Path) -> None:
    data = _layer()
    for kwargs, error in (({"expected_diff_id": "sha256:" + "0" * 64}, DigestMismatch),
                          ({"compressed_digest": "sha256:" + "0" * 64}, LayerError)):
        dest = tmp_path / error.__name__
        dest.mkdir()
        with pytest.raises(error):
            apply_layer_in_worker(io.BytesIO(data), dest, **kwargs)  # type: ignore[arg-type]


class _FailingSource:
    """A blob stream that breaks after some bytes, like a dropped download."""

    def __init__(self, data: bytes, fail_at: int) -> None:
        self.data = io.BytesIO(data)
        self.fail_at = fail_at

    def read(self, n: int) -> bytes:
        if self.data.tell() >= self.fail_at:
            raise LayerError("layer download failed: connection reset")
        return self.data.read(min(n, self.fail_at - self.data.tell()))


def test_a_failing_source_kills_the_worker_and_raises_its_error(tmp_path: Path) -> None:
    data = make_tar([Member(f"f{i}", data=os.urandom(4096)) for i in range(600)])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError, match="connection reset"):
        apply_layer_in_worker(_FailingSource(data, len(data) // 2), dest)  # type: ignore[arg-type]
    assert _workers_of(os.getpid()) == []  # killed and waited for, not a zombie


def _workers_of(pid: int) -> list[int]:
    """PIDs of unpack workers (zombies included) whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat_line = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat_line.rsplit(")", 1)[1].split()[1])
        if ppid == pid and (b"unpackworker" in cmdline or "(python" in stat_line):
            found.append(int(entry))
    return found


def test_a_truncated_blob_is_a_layer_error(tmp_path: Path) -> None:
    data = gzip.compress(_layer(), 1)[:20000]
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LayerError, match="truncated"):
        apply_layer_in_worker(io.BytesIO(data), dest)


_PARENT = """
import sys
sys.path.insert(0, {repo!r})
from engine.images.unpackworker import apply_layer_in_worker
apply_layer_in_worker(sys.stdin.buffer, {dest!r})
"""


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_the_worker_dies_with_the_engine(tmp_path: Path) -> None:
    """A SIGKILLed engine leaves no unpacker writing into the folder its next start removes."""
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    dest = tmp_path / "layer"
    dest.mkdir()
    repo = str(Path(__file__).resolve().parents[2])
    parent = subprocess.Popen([sys.executable, "-c", _PARENT.format(repo=repo, dest=str(dest))],
                              stdin=subprocess.PIPE)
    try:
        assert parent.stdin is not None
        parent.stdin.write(gzip.compress(_layer(), 1)[:100_000])  # a layer that never ends
        parent.stdin.flush()
        deadline = time.monotonic() + 20
        while not (workers := _children(parent.pid)):
            assert time.monotonic() < deadline, "the unpack worker did not start"
            time.sleep(0.05)
        time.sleep(0.5)  # well into its unpacking
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 5
        while any(os.path.exists(f"/proc/{w}") and "Z" not in Path(f"/proc/{w}/stat").read_text().split()[2]
                  for w in workers if os.path.exists(f"/proc/{w}/stat")):
            assert time.monotonic() < deadline, f"the unpack worker {workers} outlived the engine"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if parent.stdin is not None:
            try:
                parent.stdin.close()
            except BrokenPipeError:
                pass
