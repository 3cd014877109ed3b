"""Container start benchmark: Wharf against dockerd and runc, in the same run.

    sudo .venv/bin/python bench/run.py [--count 50]

Each engine runs ``true`` in busybox ``--count`` times (create + start +
wait + remove: ``docker run --rm``), through the same docker CLI:

- Wharf: ``wharf daemon`` on a temporary socket and root;
- dockerd: Debian's dockerd on its own socket (started with ``--iptables=false``);
- runc: ``runc run`` of a bundle unpacked by umoci (the floor: no engine at all);

first with ``--network none``, then with the default bridge. Then, inside
this process (no CLI, no API):

- engine: ``Engine.containers`` create → start → exit recorded → remove;
- runtime: ``Runtime.run()`` of the same rootfs (its timestamps);
- stats: CPU time of one ``StatsSampler.sample()`` over 100 running containers
  (the median of 20 samples).

Prints the mean seconds per container and the ratios. Targets: Wharf ≤ 0.3 ×
dockerd (CLI, ``--network none``), bridge networking adding ≤ 15 ms to Wharf's
start, engine create→exit-recorded ≤ 2 × ``runc run``, one stats sample of 100
containers < 20 ms CPU.
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


def _unpacked_bundle(work: Path) -> Path:
    bundle = work / "bundle"
    if not bundle.exists():
        run("umoci", "unpack", "--image", f"{busybox_layout()}:latest", bundle)
    return bundle


def _engine_runs(work: Path, reference: str, count: int) -> list[float]:
    """create → start → exit recorded (the manager's record) → remove, through the engine's own objects."""
    from engine.model import ContainerCreateSpec  # noqa: PLC0415
    from engine.engine import Engine  # noqa: PLC0415

    engine = Engine(work / "engine-root")
    try:
        for _ in engine.pull_image(reference):
            pass
        times = []
        for _ in range(count + 1):
            start = time.perf_counter()
            record = engine.containers.create(ContainerCreateSpec(image=reference, cmd=["true"], network_mode="none"))
            engine.containers.start(record.id)
            code = engine.containers.wait(record.id, "not-running", timeout=30)
            times.append(time.perf_counter() - start)
            assert code == 0, code
            engine.containers.remove(record.id, force=True, volumes=True)
        return times[1:]  # the first one warms caches
    finally:
        engine.close()
        from engine.network.driver import NetworkDriver  # noqa: PLC0415
        from engine.jobs import EventBus  # noqa: PLC0415

        NetworkDriver(work / "engine-root", EventBus()).teardown()
        subprocess.run(["umount", "-R", "-l", str(work / "engine-root")], capture_output=True, check=False)


def _runtime_runs(work: Path, count: int) -> list[float]:
    """``Runtime.run()`` of the unpacked busybox rootfs: create → exit recorded, from its timestamps."""
    from engine.jobs import EventBus  # noqa: PLC0415
    from engine.runtime.runtime import Runtime  # noqa: PLC0415
    from engine.runtime.spec import ProcessSpec, RuntimeSpec  # noqa: PLC0415

    runtime = Runtime(work / "runtime-root", EventBus())
    rootfs = _unpacked_bundle(work) / "rootfs"
    times = []
    for index in range(count + 1):
        cid = f"whbench{index}"
        begun = time.time()
        state = runtime.run(RuntimeSpec(id=cid, rootfs=str(rootfs), process=ProcessSpec(args=["true"]),
                                        hostname="bench"), timeout=30)
        assert state.exit_code == 0, state
        times.append((state.exit_recorded_at or time.time()) - begun)
        runtime.delete(cid, force=True)
    return times[1:]


def _stats_cost(work: Path, count: int = 100, repeats: int = 20) -> tuple[float, float]:
    """CPU seconds and wall seconds of one sample of ``count`` running containers
    (the median of ``repeats`` samples, after a warm-up one; the sampler is
    single-threaded, so the calling thread's CPU clock sees all of its work,
    system time in the kernel's cgroup and /proc readers included)."""
    import signal  # noqa: PLC0415

    from engine.jobs import EventBus  # noqa: PLC0415
    from engine.runtime.runtime import Runtime  # noqa: PLC0415
    from engine.runtime.spec import ProcessSpec, RuntimeSpec  # noqa: PLC0415
    from engine.runtime.stats import StatsSampler  # noqa: PLC0415

    runtime = Runtime(work / "stats-root", EventBus())
    rootfs = _unpacked_bundle(work) / "rootfs"
    ids = [f"whstat{index}" for index in range(count)]
    sampler = StatsSampler()
    try:
        for cid in ids:
            runtime.create(RuntimeSpec(id=cid, rootfs=str(rootfs), process=ProcessSpec(args=["sleep", "600"]),
                                       hostname="stats"))
            runtime.start(cid)
            sampler.track(cid, runtime.cgroup(cid), runtime.state(cid).pid)
        sampler.sample()  # warm
        cpus, walls = [], []
        for _ in range(repeats):
            cpu, wall = time.thread_time(), time.perf_counter()
            samples = sampler.sample()
            cpus.append(time.thread_time() - cpu)
            walls.append(time.perf_counter() - wall)
            assert len(samples) == count and all(s.pids == 1 for s in samples.values())
        return statistics.median(cpus), statistics.median(walls)
    finally:
        sampler.close()
        for cid in ids:
            try:
                runtime.kill(cid, signal.SIGKILL)
                runtime.wait(cid, timeout=10)
                runtime.delete(cid, force=True)
            except Exception:  # noqa: BLE001 - clean up what can be
                continue


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--skip-dockerd", action="store_true", help="leave dockerd out")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-run-"))
    registry = start_registry(work / "registry")
    results: dict[str, list[float]] = {}
    try:
        reference = push_layout(busybox_layout(), registry.host, "busybox", "latest").reference
        with WharfDaemon() as wharf:
            results["wharf none"] = _cli_runs(wharf.host, reference, args.count, "none")
            results["wharf bridge"] = _cli_runs(wharf.host, reference, args.count, "bridge")
        if not args.skip_dockerd:
            with PeerDocker(insecure_registries=[registry.host]) as peer:
                results["dockerd none"] = _cli_runs(peer.host, reference, args.count, "none")
                results["dockerd bridge"] = _cli_runs(peer.host, reference, args.count, "bridge")
        results["runc run"] = _runc_runs(work, args.count)
        results["engine internal"] = _engine_runs(work, reference, args.count)
        results["runtime.run()"] = _runtime_runs(work, args.count)
        stats_cpu, stats_wall = _stats_cost(work)
    finally:
        registry.remove()
        shutil.rmtree(work, ignore_errors=True)

    mean = {name: statistics.mean(values) for name, values in results.items()}
    print(f"{args.count} x `docker run --rm busybox true` (mean seconds per container)")
    for name, seconds in mean.items():
        print(f"  {name:15s} {seconds * 1000:8.1f} ms   (median {statistics.median(results[name]) * 1000:.1f} ms)")
    if "dockerd none" in mean:
        print(f"wharf / dockerd (--network none)  = {mean['wharf none'] / mean['dockerd none']:.2f}   "
              "(target <= 0.3)")
        print(f"bridge cost: dockerd {1000 * (mean['dockerd bridge'] - mean['dockerd none']):+.1f} ms")
    print(f"bridge cost: wharf {1000 * (mean['wharf bridge'] - mean['wharf none']):+.1f} ms (target <= 15)")
    print(f"engine create->exit recorded / runc run = {mean['engine internal'] / mean['runc run']:.2f}   "
          f"(target <= 2); Runtime.run() / runc run = {mean['runtime.run()'] / mean['runc run']:.2f}")
    median = {name: statistics.median(values) for name, values in results.items()}
    if "dockerd none" in median:  # medians: less swayed by a noisy machine than the means
        print(f"  medians: wharf / dockerd (--network none) = "
              f"{median['wharf none'] / median['dockerd none']:.2f}; engine / runc = "
              f"{median['engine internal'] / median['runc run']:.2f}")
    print(f"one stats sample of 100 running containers: {stats_cpu * 1000:.1f} ms CPU, {stats_wall * 1000:.1f} ms wall"
          "   (median of 20; target < 20 ms CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
