"""Console benchmark: Wharf's console against an engine holding 200 containers, stats at 1 Hz.

    sudo .venv/bin/python bench/console.py [--containers 200] [--running 50] [--seconds 60]

Setup: a ``wharf daemon`` on a temporary root (a separate process, so the
console's CPU is the console's alone), a local registry with the busybox
test image, ``--running`` containers running ``sleep`` and the rest created
or exited, all ``--network none``.

Measured:

- CPU: the console (``python -m tui.launch --host …``) in a real terminal
  (tmux, 200x50) on the containers pane, stats sampling at 1 Hz; user+system
  CPU of its process over ``--seconds`` after it has listed every container.
  Target < 15 % of one core.
- The engine's CPU over the same window: what serving that console costs
  (one batched ``/wharf/stats`` stream and ``/events``; no polling).
- Latency: keypress → updated screen, with Textual's Pilot on a headless app
  driven against the same engine (stats running): ``down``/``up`` in the
  containers table, timed from the key event entering the app until the
  first frame with the cursor on the next row has been composed and rendered
  to terminal bytes (Pilot's own ``press`` waits for the process to go idle,
  which stats threads delay, so the key is posted to the driver directly). Target median < 50 ms. Also measured in
  tmux: ``send-keys`` until ``capture-pane`` shows the change (includes tmux's
  own round trips).

Everything made is removed at the end (containers, daemon, its networking,
tmux server, registry).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))
from wharfd import WharfDaemon  # noqa: E402

from harness.images import busybox_layout, push_layout  # noqa: E402  # type: ignore[import-not-found]
from harness.registry import start_registry  # noqa: E402  # type: ignore[import-not-found]

CPU_TARGET = 15.0
"""Percent of one core."""
LATENCY_TARGET = 0.050
"""Seconds, median."""
TICKS = os.sysconf("SC_CLK_TCK")
ANSI = re.compile(r"\x1b\[[0-9;:]*m")


def populate(client, reference: str, total: int, running: int) -> None:  # noqa: ANN001 - DockerClient
    """``running`` containers sleeping, half the rest exited, the others only created."""
    client.images.pull(reference)
    began = time.perf_counter()
    for index in range(total):
        name = f"bench-{index:03d}"
        if index < running:
            client.containers.run(reference, ["sleep", "3600"], name=name, network_mode="none", detach=True)
        elif index % 2:
            container = client.containers.run(reference, ["true"], name=name, network_mode="none", detach=True)
            container.wait()
        else:
            client.containers.create(reference, ["true"], name=name, network_mode="none")
    print(f"setup: {total} containers ({running} running) in {time.perf_counter() - began:.1f} s", flush=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (every thread), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Tmux:
    """A private tmux server running one command in a 200x50 window."""

    def __init__(self, command: str) -> None:
        self.socket = f"wharf-bench-{os.getpid()}"
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-s", "bench",
                        "-x", "200", "-y", "50", f"env TERM=tmux-256color {command}"], check=True)

    def run(self, *args: str) -> str:
        """A tmux command on this server; its stdout."""
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True,
                              text=True).stdout

    def pid(self) -> int:
        """The pane's process."""
        return int(self.run("display-message", "-p", "-t", "bench", "#{pane_pid}").strip())

    def screen(self, styles: bool = False) -> str:
        """The pane's text (with its escape sequences if ``styles``)."""
        return self.run("capture-pane", "-p", *(["-e"] if styles else []), "-t", "bench")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """Wait until the pane shows ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise SystemExit(f"bench: the console never showed {text!r}:\n{self.screen()}")

    def kill(self) -> None:
        """Stop this tmux server only, and remove its socket file."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)
        path = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / self.socket
        path.unlink(missing_ok=True)


def cursor_moved(before: list[str], after: list[str]) -> bool:
    """Whether a line kept its text but changed its styles (the cursor row's highlight moved)."""
    return any(old != new and ANSI.sub("", old) == ANSI.sub("", new) for old, new in zip(before, after))


def measure_cpu(host: str, total: int, seconds: float, engine_pid: int) -> tuple[float, float, list[float]]:
    """CPU percent of the console in tmux and of the engine over ``seconds``, and tmux key→screen latencies."""
    tmux = Tmux(f"{sys.executable} -m tui.launch --host {host}")
    try:
        tmux.wait_for(f"{total}/{total}")
        pid = tmux.pid()
        time.sleep(3)  # the first stats ticks, the table fully built
        wall0, cpu0, engine0 = time.monotonic(), cpu_seconds(pid), cpu_seconds(engine_pid)
        time.sleep(seconds)
        wall1, cpu1, engine1 = time.monotonic(), cpu_seconds(pid), cpu_seconds(engine_pid)
        percent = 100.0 * (cpu1 - cpu0) / (wall1 - wall0)
        engine_percent = 100.0 * (engine1 - engine0) / (wall1 - wall0)
        latencies = []
        for index in range(20):
            before = tmux.screen(styles=True).splitlines()
            began = time.perf_counter()
            tmux.run("send-keys", "-t", "bench", "Down" if index % 2 == 0 else "Up")
            while not cursor_moved(before, tmux.screen(styles=True).splitlines()):
                if time.perf_counter() - began > 5:
                    raise SystemExit("bench: the cursor did not move in tmux within 5 s")
            latencies.append(time.perf_counter() - began)
            time.sleep(0.2)
        tmux.run("send-keys", "-t", "bench", "q")
        time.sleep(1)
        return percent, engine_percent, latencies
    finally:
        tmux.kill()


async def measure_pilot(host: str, total: int, presses: int) -> list[float]:
    """Key → refreshed screen with the cursor moved, on a headless app against the engine."""
    from textual import events  # noqa: PLC0415
    from textual._compositor import CompositorUpdate  # noqa: PLC0415

    from engine.client import DockerClient  # noqa: PLC0415
    from tui.app import WharfApp  # noqa: PLC0415
    from tui.data.models import EngineTarget  # noqa: PLC0415
    from tui.widgets.containers import ContainersPane  # noqa: PLC0415

    client = DockerClient(base_url=host)
    target = EngineTarget("bench", host, "the benchmark's daemon")
    app = WharfApp(lambda _target: client, [target], registries=[])
    latencies: list[float] = []
    try:
        async with app.run_test(size=(200, 50)) as pilot:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while True:
                panes = app.screen.query(ContainersPane)
                if panes and panes.first().table.row_count == total:
                    break
                if loop.time() > deadline:
                    raise SystemExit("bench: the headless console never listed every container")
                await pilot.pause(0.1)
            table = app.screen.query_one(ContainersPane).table
            frames: list[tuple[float, int]] = []
            display = app._display

            def timed_display(screen, update) -> None:  # noqa: ANN001 - Textual's internals
                if update is not None and isinstance(update, CompositorUpdate):
                    update.render_segments(app.console)  # the bytes a terminal would get
                    frames.append((time.perf_counter(), table.cursor_row))
                display(screen, update)

            app._display = timed_display  # type: ignore[method-assign]
            await pilot.pause(2.5)  # stats ticking
            for index in range(presses):
                row = table.cursor_row
                began = time.perf_counter()
                app._driver.send_message(events.Key("down" if index % 2 == 0 else "up", None))
                while not any(at > began and cursor != row for at, cursor in frames):
                    if time.perf_counter() - began > 5:
                        raise SystemExit("bench: the key did not move the cursor within 5 s")
                    await asyncio.sleep(0.0005)
                latencies.append(next(at for at, cursor in frames if at > began and cursor != row) - began)
                frames.clear()
                await asyncio.sleep(0.1)
            await app.action_quit()
    finally:
        client.close()
    return latencies


def describe(values: list[float]) -> str:
    """Median, p95 and max in milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms"


def main() -> int:
    """Set up, measure, print, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=200)
    parser.add_argument("--running", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--presses", type=int, default=60)
    args = parser.parse_args()
    from engine.client import DockerClient  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="wharf-bench-console-"))
    registry = start_registry(work / "registry")
    try:
        reference = push_layout(busybox_layout(), registry.host, "busybox", "latest").reference
        with WharfDaemon() as daemon:
            client = DockerClient(base_url=daemon.host)
            try:
                populate(client, reference, args.containers, args.running)
            finally:
                client.close()
            latencies = asyncio.run(measure_pilot(daemon.host, args.containers, args.presses))
            assert daemon.process is not None
            percent, engine_percent, tmux_latencies = measure_cpu(daemon.host, args.containers, args.seconds,
                                                                  daemon.process.pid)
    finally:
        registry.remove()
        subprocess.run(["rm", "-rf", str(work)], check=False)
    cpu_ok = "ok" if percent < CPU_TARGET else "OVER TARGET"
    latency_ok = "ok" if statistics.median(latencies) < LATENCY_TARGET else "OVER TARGET"
    print(f"console CPU over {args.seconds:.0f} s ({args.containers} containers, {args.running} running, "
          f"stats 1 Hz, tmux 200x50): {percent:.1f} % of one core (target < {CPU_TARGET:.0f} %: {cpu_ok})")
    print(f"engine CPU in the same window (serving the console: one batched stats stream, events): "
          f"{engine_percent:.1f} % of one core")
    print(f"keypress → updated screen, Pilot headless, {len(latencies)} presses: {describe(latencies)} "
          f"(target median < {LATENCY_TARGET * 1000:.0f} ms: {latency_ok})")
    print(f"keypress → updated screen, tmux send-keys → capture-pane, {len(tmux_latencies)} presses: "
          f"{describe(tmux_latencies)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
