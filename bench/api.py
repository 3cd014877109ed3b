"""API read-path benchmark: ``docker ps`` and ``docker inspect`` with 100 containers, Wharf against dockerd.

    sudo .venv/bin/python bench/api.py [--containers 100] [--runs 9]

Both engines run at once in the same invocation, each with ``--containers``
busybox ``sleep`` containers (``--network none``, started a few at a time):

- Wharf: ``wharf daemon`` on a temporary socket and root (bench/wharfd.py);
- dockerd: Debian's dockerd on its own socket, ``--iptables=false`` (bench/peer.py).

They take turns, so machine noise hits both alike. Each is timed ``--runs``
times after three warm-ups: the docker CLI (``docker ps``, ``docker ps -a``,
``docker inspect <one>``) and (3 × ``--runs``) the bare
HTTP requests behind them (``GET /containers/json``, ``GET
/containers/{id}/json`` over the unix socket with httpx), and prints medians
and the Wharf/dockerd ratios.

The docker CLI's own cost is measured twice: start-up and a ping to a socket
nobody serves (a lower bound), and the CLI against a canned engine
(bench/canned.py) that answers with the very bytes the engine gave, at no
cost: start-up, connection, ping, decoding and formatting of that body. What
an engine takes above its canned twin is its server time; those are compared
too. Target: Wharf ≤ 0.5 × dockerd for ``docker ps`` and ``docker inspect``.
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
from canned import CannedEngine, record  # noqa: E402
from peer import PeerDocker, docker_cli  # noqa: E402
from wharfd import WharfDaemon  # noqa: E402

from harness.images import busybox_layout, push_layout  # noqa: E402  # type: ignore[import-not-found]
from harness.registry import start_registry  # noqa: E402  # type: ignore[import-not-found]


def _docker(host: str, *args: str) -> str:
    done = subprocess.run([docker_cli(), "-H", host, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: docker -H {host} {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


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


def _timed_ms(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _cli_floor() -> Callable[[], object]:
    """The docker CLI's own cost: ``docker ps`` failing at once on a socket nobody serves."""
    dead = f"unix://{tempfile.gettempdir()}/bench-api-nobody-{time.monotonic_ns()}.sock"
    return lambda: subprocess.run([docker_cli(), "-H", dead, "ps"], capture_output=True, check=False)


class _Engine:
    """One engine's actions to time: the CLI and the bare HTTP requests behind it."""

    def __init__(self, host: str, socket_path: Path, ids: list[str], canned: CannedEngine) -> None:
        self.host, self.ids, self.one, self.canned = host, ids, ids[len(ids) // 2], canned
        self.http = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)), base_url="http://docker")

    def actions(self) -> dict[str, Callable[[], object]]:
        return {
            "docker ps": lambda: _docker(self.host, "ps"),
            "docker ps (canned)": lambda: _docker(self.canned.host, "ps"),
            "docker ps -a": lambda: _docker(self.host, "ps", "-a"),
            "docker inspect": lambda: _docker(self.host, "inspect", self.one),
            "docker inspect (canned)": lambda: _docker(self.canned.host, "inspect", self.one),
            "GET /containers/json": self._listed,
            "GET /containers/{id}/json": lambda: self.http.get(f"/containers/{self.one}/json").raise_for_status(),
        }

    def _listed(self) -> None:
        response = self.http.get("/containers/json")
        response.raise_for_status()
        assert len(response.json()) == len(self.ids)


def _measure(engines: dict[str, _Engine], runs: int) -> dict[str, dict[str, float]]:
    """Medians per engine and action; the engines take turns, so machine noise hits both alike."""
    times: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    actions = {name: engine.actions() for name, engine in engines.items()}
    for label in next(iter(actions.values())):
        count = runs if label.startswith("docker") else runs * 3
        for round_ in range(count + 3):
            for name in engines:
                elapsed = _timed_ms(actions[name][label])
                if round_ >= 3:  # three warm-ups
                    times[name].setdefault(label, []).append(elapsed)
    return {name: {label: statistics.median(v) for label, v in per.items()} for name, per in times.items()}


def _canned_twin(socket_path: Path, one: str) -> CannedEngine:
    """A canned engine answering ping, ``ps`` and ``inspect <one>`` with this engine's own bytes."""
    return CannedEngine({
        "/_ping": record(socket_path, "/_ping", "HEAD"),
        "/containers/json": record(socket_path, "/containers/json"),
        "/containers/": record(socket_path, f"/containers/{one}/json"),
    })


def _teardown_wharf(root: Path) -> None:
    """Undo what the stopped Wharf daemon left on the host: its bridges, chains and mounts."""
    from engine.jobs import EventBus  # noqa: PLC0415
    from engine.network.driver import NetworkDriver  # noqa: PLC0415

    if root.exists():
        NetworkDriver(root, EventBus()).teardown()
        subprocess.run(["umount", "-R", "-l", str(root)], capture_output=True, check=False)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--containers", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    wharf_root = work / "wharf-root"  # ours, so its bridge and chains can be torn down after the daemon stops
    registry = start_registry(work / "registry")
    twins: list[CannedEngine] = []
    try:
        reference = push_layout(busybox_layout(), registry.host, "busybox", "latest").reference
        with WharfDaemon(root=wharf_root) as wharf, PeerDocker(insecure_registries=[registry.host]) as peer:
            engines = {}
            for name, engine in (("wharf", wharf), ("dockerd", peer)):
                began = time.perf_counter()
                ids = _populate(engine.host, reference, args.containers)
                print(f"{name + ':':8s} {args.containers} containers started in {time.perf_counter() - began:.1f} s")
                twins.append(_canned_twin(engine.socket, ids[len(ids) // 2]).__enter__())
                engines[name] = _Engine(engine.host, engine.socket, ids, twins[-1])
            time.sleep(2)  # let both settle after starting them all
            results = _measure(engines, args.runs)
            for measured in engines.values():
                measured.http.close()
            floor = statistics.median(_timed_ms(_cli_floor()) for _ in range(args.runs))
    finally:
        for twin in twins:
            twin.__exit__(None, None, None)
        registry.remove()
        _teardown_wharf(wharf_root)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.containers} running containers; median of {args.runs} runs (CLI) / {args.runs * 3} (HTTP), ms")
    print(f"docker CLI floor (start-up and a failed ping, no engine): {floor:.1f} ms")
    print(f"  {'':28s} {'wharf':>9s} {'dockerd':>9s} {'ratio':>7s} {'ratio less CLI floor':>21s}")
    for name in results["wharf"]:
        wharf_ms, docker_ms = results["wharf"][name], results["dockerd"][name]
        beyond = ""
        if name.startswith("docker ") and docker_ms > floor:
            beyond = f"{max(wharf_ms - floor, 0) / (docker_ms - floor):21.2f}"
        print(f"  {name:28s} {wharf_ms:9.1f} {docker_ms:9.1f} {wharf_ms / docker_ms:7.2f} {beyond}")
    print("\nserver time: the command less the same command against the engine's canned twin, ms")
    print(f"  {'':28s} {'wharf':>9s} {'dockerd':>9s} {'ratio':>7s} {'best wharf can do':>21s}")
    for name in ("docker ps", "docker inspect"):
        served = {engine: results[engine][name] - results[engine][f"{name} (canned)"] for engine in results}
        ratio = f"{served['wharf'] / served['dockerd']:7.2f}" if served["dockerd"] > 0 else f"{'-':>7s}"
        floor_ratio = results["wharf"][f"{name} (canned)"] / results["dockerd"][name]
        print(f"  {name:28s} {served['wharf']:9.1f} {served['dockerd']:9.1f} {ratio} "
              f"{floor_ratio:21.2f}")
    print("target: ratio <= 0.5 for docker ps and docker inspect "
          "(the last column: wharf's canned twin / dockerd, the ratio of an engine that costs nothing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
