"""Container start benchmark: Wharf against dockerd and runc, in the same run.

    sudo .venv/bin/python bench/run.py [--count 50]

Each engine runs ``true`` in busybox ``--count`` times (create + start +
wait + remove: ``docker run --rm``), through the same docker CLI:

- Wharf: ``wharf daemon`` on a temporary socket and root;
- dockerd: Debian's dockerd on its own socket (started with ``--iptables=false``);
- runc: ``runc run`` of a bundle unpacked by umoci (the floor: no engine at all);

first with ``--network none``, then with the default bridge. Prints the
mean seconds per container and the ratios. Targets: Wharf ≤ 0.3 × dockerd
(CLI, ``--network none``) and bridge networking adding ≤ 15 ms to Wharf's start.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer import PeerDocker, docker_cli  # noqa: E402
from wharfd import WharfDaemon  # noqa: E402

from harness.images import busybox_layout, push_layout, run  # noqa: E402  # type: ignore[import-not-found]
from harness.registry import start_registry  # noqa: E402  # type: ignore[import-not-found]


def _cli_runs(host: str, reference: str, count: int, network: str) -> list[float]:
    subprocess.run([docker_cli(), "-H", host, "pull", "-q", reference], check=True, capture_output=True)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        subprocess.run([docker_cli(), "-H", host, "run", "--rm", "--network", network, reference, "true"],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def _runc_runs(work: Path, count: int) -> list[float]:
    bundle = work / "bundle"
    run("umoci", "unpack", "--image", f"{busybox_layout()}:latest", bundle)
    config_path = bundle / "config.json"
    config = json.loads(config_path.read_text())
    config["process"]["args"] = ["true"]
    config["process"]["terminal"] = False
    config_path.write_text(json.dumps(config))
    times = []
    for index in range(count):
        start = time.perf_counter()
        subprocess.run(["runc", "--root", str(work / "runc-state"), "run", "--bundle", str(bundle),
                        f"bench-{index}"], check=True, capture_output=True, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    registry = start_registry(work / "registry")
    results: dict[str, list[float]] = {}
    try:
        reference = push_layout(busybox_layout(), registry.host, "busybox", "latest").reference
        with WharfDaemon() as wharf:
            results["wharf none"] = _cli_runs(wharf.host, reference, args.count, "none")
            results["wharf bridge"] = _cli_runs(wharf.host, reference, args.count, "bridge")
        with PeerDocker(insecure_registries=[registry.host]) as peer:
            results["dockerd none"] = _cli_runs(peer.host, reference, args.count, "none")
            results["dockerd bridge"] = _cli_runs(peer.host, reference, args.count, "bridge")
        results["runc run"] = _runc_runs(work, args.count)
    finally:
        registry.remove()
        shutil.rmtree(work, ignore_errors=True)

    mean = {name: statistics.mean(values) for name, values in results.items()}
    print(f"{args.count} x `docker run --rm busybox true` (mean seconds per container)")
    for name, seconds in mean.items():
        print(f"  {name:15s} {seconds * 1000:8.1f} ms   (median {statistics.median(results[name]) * 1000:.1f} ms)")
    print(f"wharf / dockerd (--network none)  = {mean['wharf none'] / mean['dockerd none']:.2f}   (target <= 0.3)")
    print(f"bridge cost: wharf {1000 * (mean['wharf bridge'] - mean['wharf none']):+.1f} ms (target <= 15), "
          f"dockerd {1000 * (mean['dockerd bridge'] - mean['dockerd none']):+.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
