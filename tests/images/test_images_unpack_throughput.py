"""A big layer (thousands of small files in hundreds of folders, a few big files): correct and fast.

The unpack throughput (MB of tar per second) is printed; run with ``-s`` to see it.
The assertion floor is far below what this machine does, to stay robust on a busy CI box.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from images.layer_tars import sha256, snapshot

from engine.images.unpack import apply_layer


def build_layer(src: Path, folders: int, files_per_folder: int, big_mib: int) -> None:
    rng = random.Random(7)
    for d in range(folders):
        folder = src / f"usr/share/pkg{d:03d}"
        folder.mkdir(parents=True)
        for f in range(files_per_folder):
            size = rng.randint(50, 6000)
            (folder / f"file{f}.txt").write_bytes(rng.randbytes(size // 2) + b"a" * (size // 2))
        os.link(folder / "file0.txt", src / f"usr/share/pkg{d:03d}.hardlink")
        os.symlink(f"pkg{d:03d}/file1.txt", src / f"usr/share/pkg{d:03d}.symlink")
    for index in range(3):
        (src / f"big{index}.bin").write_bytes(os.urandom(big_mib << 19) + bytes(big_mib << 19))


@pytest.fixture(scope="module")
def big_layer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    base = tmp_path_factory.mktemp("big-layer")
    src = base / "src"
    build_layer(src, folders=200, files_per_folder=20, big_mib=8)
    archive = base / "layer.tar"
    subprocess.run(["tar", "--format=posix", "-C", str(src), "-cf", str(archive), "."],
                   check=True)
    return src, archive.read_bytes()


def test_big_layer_matches_gnu_tar(big_layer, tmp_path: Path) -> None:
    """More folders than the fd cache holds, hardlinks across folders: identical to ``tar -x``."""
    _src, data = big_layer
    ours, gnu = tmp_path / "ours", tmp_path / "gnu"
    ours.mkdir()
    gnu.mkdir()
    result = apply_layer(io.BytesIO(gzip.compress(data, 1)), ours, expected_diff_id=sha256(data))
    subprocess.run(["tar", "-xpf", "-", "-C", str(gnu)], input=data, check=True)
    assert snapshot(ours) == snapshot(gnu)
    assert result.entries > 4000


def _rate(payload: bytes, dest: Path) -> float:
    dest.mkdir()
    started = time.monotonic()
    result = apply_layer(io.BytesIO(payload), dest)
    return result.tar_size / (time.monotonic() - started) / 1e6


def test_unpack_throughput(big_layer, tmp_path: Path) -> None:
    """Measure MB/s of tar for plain and gzip input, in memory (tmpfs: our code's speed)
    and on the disk of the tests (what a pull sees; ext4 here varies a lot run to run)."""
    _src, data = big_layer
    blob = gzip.compress(data, 6)
    memory = Path(tempfile.mkdtemp(prefix="wharf-unpack-", dir="/dev/shm"))
    try:
        rates = {f"{where} {label}": _rate(payload, base / f"{where}-{label}")
                 for where, base in (("tmpfs", memory), ("disk", tmp_path))
                 for label, payload in (("tar", data), ("gzip", blob))}
    finally:
        shutil.rmtree(memory)
    print(f"\nunpack throughput of a {len(data) / 1e6:.0f} MB tar: "
          + ", ".join(f"{k} {v:.0f} MB/s" for k, v in rates.items()))
    assert min(rates["tmpfs tar"], rates["tmpfs gzip"]) > 30
