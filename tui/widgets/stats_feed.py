"""StatsFeed: ONE stats stream for every container, fanned out by a signal.

Widgets never ask for stats themselves. The feed reads in a single thread
worker, keeps a bounded history (:class:`StatsHistory`) and publishes one
:class:`StatsFeed.Tick` per second to every subscriber (the containers
table, an open stats view).

On Wharf it reads the engine's batched stream (``GET /wharf/stats``): one
connection, one line a second holding every running container. A real
dockerd has no such stream, so there the feed falls back to sampling: per
tick it asks only for what is worth drawing — the pinned container (an open
stats view), then visible rows, then a round-robin share of the rest, within
:attr:`budget` one-shot requests — 200 containers cost ~``budget`` requests
a second, not 200 streams.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from textual import work
from textual.message import Message
from textual.signal import Signal
from textual.widget import Widget
from textual.worker import Worker, get_current_worker

from tui import clock
from tui.data.errors import EngineGone, Missing, PortError
from tui.data.models import StatsSample
from tui.data.port import EnginePort
from tui.data.stats import StatsHistory
from tui.messages import EngineLost
from tui.widgets.open_streams import OpenStreams


class StatsFeed(Widget):
    """The one stats source; invisible."""

    DEFAULT_CSS = "StatsFeed { display: none; }"

    interval = 1.0
    """Seconds between ticks."""
    budget = 40
    """Most one-shot stats requests per tick."""
    parallel = 4
    """Requests in flight at once."""

    @dataclass
    class Tick(Message):
        """Fresh samples (container ID → newest sample); newer ticks replace queued ones."""

        samples: Mapping[str, StatsSample]

        def can_replace(self, message: Message) -> bool:
            """Only the newest tick matters: history already holds the rest."""
            return isinstance(message, StatsFeed.Tick)

    def __init__(self) -> None:
        super().__init__()
        self.history = StatsHistory()
        """Every container's recent samples."""
        self.ticked: Signal[Mapping[str, StatsSample]] = Signal(self, "stats-ticked")
        """Published once per tick with the fresh samples."""
        self.running: Sequence[str] = ()
        """IDs of running containers, visible ones first (set by the containers pane)."""
        self.pinned: str = ""
        """A container sampled every tick (an open stats view)."""
        self.batched: bool | None = None
        """Whether the engine's batched stream feeds us (``None`` until known)."""
        self._cursor = 0
        self._streams = OpenStreams()

    def start(self, host_cpus: int) -> None:
        """Begin sampling (again); ``host_cpus`` scales samples without ``online_cpus``."""
        self.history.host_cpus = host_cpus
        self._streams.close_all()
        self._loop()

    def on_unmount(self) -> None:
        """End the stream so its reader thread stops."""
        self._streams.close_all()

    def choose(self) -> list[str]:
        """The containers to sample this tick, at most :attr:`budget`."""
        running = list(self.running)
        chosen: list[str] = [self.pinned] if self.pinned and self.pinned in running else []
        if len(running) <= self.budget:
            return list(dict.fromkeys(chosen + running))
        visible = running[: self.budget // 2]
        rest = running[self.budget // 2:]
        share = self.budget - len(visible) - len(chosen)
        start = self._cursor % max(1, len(rest))
        rotated = (rest[start:] + rest[:start])[:max(0, share)]
        self._cursor = start + len(rotated)
        return list(dict.fromkeys(chosen + visible + rotated))

    @work(thread=True, exclusive=True, exit_on_error=False, group="stats", name="stats-feed",
          description="container stats once a second")
    def _loop(self) -> None:
        worker = get_current_worker()
        port = self.app.port
        cancelled = lambda: worker.is_cancelled  # noqa: E731
        try:
            while not worker.is_cancelled:
                try:
                    self._follow(worker, port)
                except Missing:
                    self.batched = False
                    self._poll(worker, port)
                    return
                except EngineGone:
                    raise
                except PortError:
                    pass  # a refused or broken stream: open it again after a pause
                if clock.nap(self.interval, cancelled):
                    return
        except EngineGone as exc:
            self.post_message(EngineLost(exc.message))

    def _follow(self, worker: Worker[None], port: EnginePort) -> None:
        """Read the engine's batched stream until it ends or the worker is cancelled."""
        with self._streams.held(port.stats_stream(self.interval), worker) as stream:
            self.batched = True
            for batch in stream:
                if worker.is_cancelled:
                    return
                samples = {cid: self.history.ingest(cid, raw) for cid, raw in batch.items()}
                self.history.forget(samples)
                if not worker.is_cancelled:
                    self.post_message(self.Tick(samples))

    def _poll(self, worker: Worker[None], port: EnginePort) -> None:
        """Sample chosen containers with one-shot requests each tick (no batched stream)."""
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="wharf-stats") as pool:
            while not worker.is_cancelled:
                began = time.monotonic()
                ids = self.choose()
                samples: dict[str, StatsSample] = {}
                results = pool.map(lambda cid: (cid, self._one(port, cid)), ids)
                for cid, raw in results:
                    if raw is not None:
                        samples[cid] = self.history.ingest(cid, raw)
                self.history.forget(self.running)
                if samples and not worker.is_cancelled:
                    self.post_message(self.Tick(samples))
                if clock.nap(max(0.05, self.interval - (time.monotonic() - began)), lambda: worker.is_cancelled):
                    return

    @staticmethod
    def _one(port: object, container_id: str) -> Mapping[str, object] | None:
        try:
            return port.stats_once(container_id)  # type: ignore[attr-defined]
        except EngineGone:
            raise
        except PortError:
            return None

    def on_stats_feed_tick(self, tick: Tick) -> None:
        """Fan the tick out to subscribers."""
        tick.stop()
        self.ticked.publish(tick.samples)
