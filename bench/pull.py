"""Pull benchmark: Wharf against dockerd and skopeo, in the same run.

    sudo .venv/bin/python bench/pull.py [--rounds N]

Pushes the benchmark image (about 180 MB compressed, 4 layers, thousands of
small files plus some large ones; see ``bench/images.py``) into a loopback
registry, then, each round into an empty state root:

- Wharf: ``docker pull`` through the docker CLI against ``wharf daemon``
  (download, verify, unpack);
- dockerd: the same CLI against Debian's dockerd on its own socket;
- skopeo: ``skopeo copy`` to a folder (download only, no unpack).

Prints seconds, MB/s and the ratios. Targets (issue 3): Wharf ≤ 0.5 × dockerd
and ≤ 2.5 × skopeo. The median of the rounds is compared.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer import PeerDocker  # noqa: E402
from wharfd import WharfDaemon  # noqa: E402

from harness.images import push_layout  # noqa: E402  # type: ignore[import-not-found]
from harness.registry import start_registry  # noqa: E402  # type: ignore[import-not-found]
from images import bench_layout  # noqa: E402


def _compressed_size(layout: Path) -> int:
    return sum(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir())


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    layout = bench_layout()
    size_mb = _compressed_size(layout) / 1e6
    work = Path(tempfile.mkdtemp(prefix="bench-pull-"))
    registry = start_registry(work / "registry")
    try:
        image = push_layout(layout, registry.host, "bench", "latest")
        reference = image.reference
        times: dict[str, list[float]] = {"wharf": [], "dockerd": [], "skopeo": []}
        for _ in range(args.rounds):
            with WharfDaemon() as wharf:
                times["wharf"].append(_time(["docker", "-H", wharf.host, "pull", "-q", reference]))
            with PeerDocker(insecure_registries=[registry.host]) as peer:
                times["dockerd"].append(_time(["docker", "-H", peer.host, "pull", "-q", reference]))
            target = work / "skopeo-dir"
            times["skopeo"].append(_time(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                                          f"docker://{reference}", f"dir:{target}"]))
            shutil.rmtree(target, ignore_errors=True)
    finally:
        registry.remove()
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"image: {size_mb:.1f} MB compressed, 4 layers; {args.rounds} rounds, median seconds")
    for name, seconds in median.items():
        rounds = ", ".join(f"{v:.2f}" for v in times[name])
        print(f"  {name:8s} {seconds:6.2f} s  {size_mb / seconds:7.1f} MB/s   ({rounds})")
    print(f"wharf / dockerd = {median['wharf'] / median['dockerd']:.2f}   (target <= 0.5)")
    print(f"wharf / skopeo  = {median['wharf'] / median['skopeo']:.2f}   (target <= 2.5, skopeo does not unpack)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
