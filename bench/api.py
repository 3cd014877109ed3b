"""API read-path benchmark: ``docker ps`` and ``docker inspect`` with 100 containers, Wharf against dockerd.

    sudo .venv/bin/python bench/api.py [--containers 100] [--runs 9]

Both engines run in the same invocation, each with ``--containers``
busybox ``sleep`` containers (``--network none``, started a few at a time):

- Wharf: ``wharf daemon`` on a temporary socket and root (bench/wharfd.py);
- dockerd: Debian's dockerd on its own socket, ``--iptables=false`` (bench/peer.py).

For each engine it times, ``--runs`` times after three warm-ups, the docker
CLI (``docker ps``, ``docker ps -a``, ``docker inspect <one>``) and the bare
HTTP requests behind them (``GET /containers/json``, ``GET
/containers/{id}/json`` over the unix socket with httpx), and prints medians
and the Wharf/dockerd ratios, also with the docker CLI's own cost (start-up
and a ping to a socket nobody serves) taken off both sides. Target: Wharf ≤
0.5 × dockerd for ``docker ps`` and ``docker inspect``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer import PeerDocker, docker_cli  # noqa: E402
from wharfd import WharfDaemon  # noqa: E402

from harness.images import busybox_layout, push_layout  # noqa: E402  # type: ignore[import-not-found]
from harness.registry import start_registry  # noqa: E402  # type: ignore[import-not-found]


def _docker(host: str, *args: str) -> str:
    return subprocess.run([docker_cli(), "-H", host, *args], check=True, capture_output=True, text=True).stdout


def _populate(host: str, reference: str, count: int) -> list[str]:
    """Pull ``reference`` and start ``count`` sleeping containers; their IDs."""
    _docker(host, "pull", "-q", reference)

    def start(index: int) -> str:
        return _docker(host, "run", "-d", "--network", "none", "--name", f"bench-api-{index:03d}", reference,
                       "sleep", "3600").strip()

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(start, range(count)))
    listed = _docker(host, "ps", "-q", "--no-trunc").split()
    if len(listed) != count:
        raise SystemExit(f"bench: {host} lists {len(listed)} running containers, expected {count}")
    return ids


def _median_ms(action: Callable[[], object], runs: int) -> float:
    for _ in range(3):
        action()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _cli_floor_ms(runs: int) -> float:
    """The docker CLI's own cost: ``docker ps`` failing at once on a socket nobody serves."""
    dead = f"unix://{tempfile.gettempdir()}/bench-api-nobody-{time.monotonic_ns()}.sock"

    def fail() -> None:
        subprocess.run([docker_cli(), "-H", dead, "ps"], capture_output=True, check=False)

    return _median_ms(fail, runs)


def _measure(host: str, socket_path: Path, ids: list[str], runs: int) -> dict[str, float]:
    one = ids[len(ids) // 2]
    time.sleep(2)  # let the engine settle after starting them all
    figures = {
        "docker ps": _median_ms(lambda: _docker(host, "ps"), runs),
        "docker ps -a": _median_ms(lambda: _docker(host, "ps", "-a"), runs),
        "docker inspect": _median_ms(lambda: _docker(host, "inspect", one), runs),
    }
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://docker") as http:
        def listed() -> None:
            response = http.get("/containers/json")
            response.raise_for_status()
            assert len(response.json()) == len(ids)

        def inspected() -> None:
            http.get(f"/containers/{one}/json").raise_for_status()

        figures["GET /containers/json"] = _median_ms(listed, runs * 3)
        figures["GET /containers/{id}/json"] = _median_ms(inspected, runs * 3)
    return figures


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    registry = start_registry(work / "registry")
    results: dict[str, dict[str, float]] = {}
    try:
        reference = push_layout(busybox_layout(), registry.host, "busybox", "latest").reference
        with WharfDaemon() as wharf:
            began = time.perf_counter()
            ids = _populate(wharf.host, reference, args.containers)
            print(f"wharf:   {args.containers} containers started in {time.perf_counter() - began:.1f} s")
            results["wharf"] = _measure(wharf.host, wharf.socket, ids, args.runs)
        with PeerDocker(insecure_registries=[registry.host]) as peer:
            began = time.perf_counter()
            ids = _populate(peer.host, reference, args.containers)
            print(f"dockerd: {args.containers} containers started in {time.perf_counter() - began:.1f} s")
            results["dockerd"] = _measure(peer.host, peer.socket, ids, args.runs)
    finally:
        registry.remove()
        shutil.rmtree(work, ignore_errors=True)

    floor = _cli_floor_ms(args.runs)
    print(f"\n{args.containers} running containers; median of {args.runs} runs (CLI) / {args.runs * 3} (HTTP), ms")
    print(f"docker CLI floor (start-up and a failed ping, no engine): {floor:.1f} ms")
    print(f"  {'':28s} {'wharf':>9s} {'dockerd':>9s} {'ratio':>7s} {'ratio less CLI floor':>21s}")
    for name in results["wharf"]:
        wharf_ms, docker_ms = results["wharf"][name], results["dockerd"][name]
        beyond = ""
        if name.startswith("docker ") and docker_ms > floor:
            beyond = f"{max(wharf_ms - floor, 0) / (docker_ms - floor):21.2f}"
        print(f"  {name:28s} {wharf_ms:9.1f} {docker_ms:9.1f} {wharf_ms / docker_ms:7.2f} {beyond}")
    print("target: ratio <= 0.5 for docker ps and docker inspect")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
