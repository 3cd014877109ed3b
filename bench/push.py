"""Push benchmark: Wharf against dockerd, in the same run.

    sudo .venv/bin/python bench/push.py [--rounds N]

The benchmark image (about 180 MB compressed, 4 layers; see ``bench/images.py``)
is put into a loopback source registry. Each round, each engine pulls it into
an empty state root (not timed), tags it for a second, empty registry, and
pushes it there (timed):

- Wharf: ``docker push`` through the docker CLI against ``wharf daemon`` when
  the daemon can push; otherwise the engine's own ``Pusher`` in this process
  (the output says which);
- dockerd: the same CLI against Debian's dockerd on its own socket.

Each push goes to its own fresh registry, so nothing is already there and no
cross-repository mount is possible. Prints seconds, MB/s and the ratio of the
medians. Target: Wharf ≤ 0.7 × dockerd.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from peer import PeerDocker  # noqa: E402
from wharfd import WharfDaemon  # noqa: E402

from harness.images import push_layout  # noqa: E402  # type: ignore[import-not-found]
from harness.registry import start_registry  # noqa: E402  # type: ignore[import-not-found]
from images import bench_layout  # noqa: E402


def _compressed_size(layout: Path) -> int:
    return sum(p.stat().st_size for p in (layout / "blobs" / "sha256").iterdir())


def _timed_cli(host: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(["docker", "-H", host, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def wharf_daemon_push(reference: str, target: str) -> float | str:
    """Seconds for ``docker push`` against ``wharf daemon``, or why it could not push."""
    with WharfDaemon() as wharf:
        pulled = wharf.docker("pull", "-q", reference, check=False)
        if pulled.returncode != 0:
            return f"pull failed: {pulled.stderr.strip()[:200]}"
        tagged = wharf.docker("tag", reference, target, check=False)
        if tagged.returncode != 0:
            return f"tag failed: {tagged.stderr.strip()[:200]}"
        start = time.perf_counter()
        pushed = wharf.docker("push", target, check=False)
        seconds = time.perf_counter() - start
        if pushed.returncode != 0:
            return f"push failed: {(pushed.stderr or pushed.stdout).strip()[:200]}"
        return seconds


def wharf_engine_push(reference: str, target: str, work: Path) -> float:
    """Seconds for the engine-internal Pusher (after a Puller pull into a fresh root)."""
    from engine.images.content import ContentStore  # noqa: PLC0415
    from engine.images.layers import LayerStore  # noqa: PLC0415
    from engine.images.pull import Puller  # noqa: PLC0415
    from engine.images.push import Pusher  # noqa: PLC0415
    from engine.images.store import ImageStore  # noqa: PLC0415
    from engine.jobs import EventBus, Job  # noqa: PLC0415
    from engine.registry.client import RegistryClient  # noqa: PLC0415
    from engine.state import StateRoot  # noqa: PLC0415

    root = StateRoot.at(Path(tempfile.mkdtemp(prefix="wharf-push-", dir=work)))
    root.create()
    content = ContentStore(root.content)
    layers = LayerStore(root)
    images = ImageStore(root, content, layers)
    bus = EventBus()
    with RegistryClient(credentials={}) as client:
        with Job(bus, "pull", reference) as job:
            Puller(client, content, layers, images).pull(reference, job)
        images.tag(reference, target)
        start = time.perf_counter()
        with Job(bus, "push", target) as job:
            result = Pusher(client, content, images).push(target, job)
        seconds = time.perf_counter() - start
    if result.pushed != 4:
        raise SystemExit(f"bench: the Wharf push uploaded {result.pushed} layers, expected 4")
    return seconds


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    layout = bench_layout()
    size_mb = _compressed_size(layout) / 1e6
    work = Path(tempfile.mkdtemp(prefix="bench-push-"))
    source = start_registry(work / "source")
    targets = []
    times: dict[str, list[float]] = {"wharf": [], "dockerd": []}
    how = "wharf daemon (docker CLI)"
    try:
        reference = push_layout(layout, source.host, "bench", "latest").reference
        probe = start_registry(work / "probe")
        targets.append(probe)
        daemon = wharf_daemon_push(reference, f"{probe.host}/wharf/bench:latest")
        if isinstance(daemon, str):
            how = f"engine-internal Pusher (wharf daemon cannot push yet: {daemon})"
        for index in range(args.rounds):
            wharf_target = start_registry(work / f"wharf-{index}")
            dockerd_target = start_registry(work / f"dockerd-{index}")
            targets += [wharf_target, dockerd_target]
            if isinstance(daemon, str):
                times["wharf"].append(wharf_engine_push(reference, f"{wharf_target.host}/wharf/bench:latest", work))
            else:
                result = wharf_daemon_push(reference, f"{wharf_target.host}/wharf/bench:latest")
                if isinstance(result, str):
                    raise SystemExit(f"bench: wharf daemon push failed: {result}")
                times["wharf"].append(result)
            dockerd_tag = f"{dockerd_target.host}/dockerd/bench:latest"
            with PeerDocker(insecure_registries=[source.host, dockerd_target.host]) as peer:
                peer.docker("pull", "-q", reference)
                peer.docker("tag", reference, dockerd_tag)
                times["dockerd"].append(_timed_cli(peer.host, "push", dockerd_tag))
    finally:
        for registry in [source, *targets]:
            registry.remove()
        subprocess.run(["rm", "-rf", str(work)], check=False)

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"image: {size_mb:.1f} MB compressed, 4 layers; {args.rounds} rounds, median seconds")
    print(f"wharf pushed with: {how}")
    for name, seconds in median.items():
        rounds = ", ".join(f"{v:.2f}" for v in times[name])
        print(f"  {name:8s} {seconds:6.2f} s  {size_mb / seconds:7.1f} MB/s   ({rounds})")
    print(f"wharf / dockerd = {median['wharf'] / median['dockerd']:.2f}   (target <= 0.7)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
