"""The benchmark image: a 4-layer image of about 180 MB compressed, made by real tools.

Layers: a debootstrap Debian root (the test harness's cached one), a layer of
15,000 small files (thousands of inodes), a layer of a few large files, and
a small config-like layer. File contents are seeded pseudo-random bytes,
so they do not compress and the sizes are stable between runs.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from harness.images import cached_layout, debian_layout, run  # type: ignore[import-not-found]

SMALL_FILES = 15_000
SMALL_SIZES = (512, 8192)
LARGE_FILES = 3
LARGE_SIZE = 20 * 1024 * 1024


def _tar(staging: Path, out: Path) -> None:
    run("tar", "--numeric-owner", "--sort=name", "-C", staging, "-cf", out, ".")


def build_bench_image(layout: Path) -> None:
    """Copy the Debian layout and add three layers of seeded random content."""
    shutil.copytree(debian_layout(), layout, symlinks=True)
    image = f"{layout}:latest"
    rng = random.Random(20261201)
    with tempfile.TemporaryDirectory(dir=layout.parent) as work:
        small = Path(work) / "small"
        for index in range(SMALL_FILES):
            folder = small / "srv" / "small" / f"{index // 500:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"file-{index:05d}.bin").write_bytes(rng.randbytes(rng.randint(*SMALL_SIZES)))
        _tar(small, Path(work) / "small.tar")
        run("umoci", "raw", "add-layer", "--image", image,
            "--history.created_by", f"bench: {SMALL_FILES} small files", Path(work) / "small.tar")
        shutil.rmtree(small)

        large = Path(work) / "large"
        (large / "srv" / "large").mkdir(parents=True)
        for index in range(LARGE_FILES):
            (large / "srv" / "large" / f"blob-{index}.bin").write_bytes(rng.randbytes(LARGE_SIZE))
        _tar(large, Path(work) / "large.tar")
        run("umoci", "raw", "add-layer", "--image", image,
            "--history.created_by", f"bench: {LARGE_FILES} large files", Path(work) / "large.tar")
        shutil.rmtree(large)

        config = Path(work) / "config"
        (config / "etc" / "bench").mkdir(parents=True)
        (config / "etc" / "bench" / "settings.conf").write_text("mode = bench\n" * 100)
        _tar(config, Path(work) / "config.tar")
        run("umoci", "raw", "add-layer", "--image", image,
            "--history.created_by", "bench: settings", Path(work) / "config.tar")
    run("umoci", "config", "--image", image, "--config.cmd", "/bin/bash", "--no-history")
    run("umoci", "gc", "--layout", layout)


def bench_layout() -> Path:
    """The cached benchmark layout (built on first use: a minute or two)."""
    return cached_layout("bench-pull", build_bench_image)
