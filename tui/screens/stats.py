"""StatsScreen: one container's CPU, memory, network, block I/O and PIDs over time.

It reads the :class:`StatsFeed`'s history when the feed ticks: no requests of
its own. CPU is labelled in both conventions: Docker's (100% = one core)
and the share of the whole host.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.containers import Grid, Vertical
from textual.widgets import Sparkline, Static

from tui import fmt
from tui.data.models import ContainerRow, StatsSample
from tui.data.stats import rate
from tui.screens.base import ViewScreen
from tui.widgets.stats_feed import StatsFeed

METRICS = (
    ("cpu", "CPU"),
    ("mem", "Memory"),
    ("rx", "Network in"),
    ("tx", "Network out"),
    ("read", "Block read"),
    ("write", "Block write"),
    ("pids", "PIDs"),
)
"""Plot ID and title."""


class StatsScreen(ViewScreen):
    """Plots over the last two minutes, one sample a second."""

    def __init__(self, row: ContainerRow, feed: StatsFeed) -> None:
        super().__init__(f"Stats of {row.name} ({row.short_id}) · 1 sample/s · last 2 min")
        self.row = row
        """The container."""
        self.feed = feed
        """The one stats source."""

    def body(self):
        """A label and a sparkline per metric."""
        with Grid(id="stats-grid"):
            for key, title in METRICS:
                with Vertical(classes=f"plot plot-{key}"):
                    yield Static(title, id=f"label-{key}", classes="plot-label")
                    yield Sparkline([], id=f"spark-{key}", summary_function=max)

    def on_mount(self) -> None:
        """Pin the container in the feed and draw what the history has."""
        self.feed.pinned = self.row.id
        self.feed.ticked.subscribe(self, self._on_tick)
        self._draw()

    def on_unmount(self) -> None:
        """Unpin."""
        if self.feed.pinned == self.row.id:
            self.feed.pinned = ""

    def _on_tick(self, samples: Mapping[str, StatsSample]) -> None:
        if self.row.id in samples:
            self._draw()

    def _draw(self) -> None:
        series = self.feed.history.series(self.row.id)
        if not series:
            for key, title in METRICS:
                self.query_one(f"#label-{key}", Static).update(f"{title}: waiting for samples …")
            return
        last = series[-1]
        cpus = last.online_cpus
        labels = {
            "cpu": (f"CPU {fmt.percent(last.cpu_percent)} (100% = 1 core) · "
                    f"{fmt.percent(last.cpu_host_percent)} of host ({cpus} CPUs, 100% = all)"),
            "mem": (f"Memory {fmt.mib(last.mem_usage)} / {fmt.mib(last.mem_limit)} ({last.mem_percent:.1f}%) · "
                    "usage − inactive_file"),
            "rx": f"Network in {fmt.rate((rate(series, 'net_rx') or [0.0])[-1])} · total {fmt.size(last.net_rx)}",
            "tx": f"Network out {fmt.rate((rate(series, 'net_tx') or [0.0])[-1])} · total {fmt.size(last.net_tx)}",
            "read": f"Block read {fmt.rate((rate(series, 'blk_read') or [0.0])[-1])} · total {fmt.size(last.blk_read)}",
            "write": (f"Block write {fmt.rate((rate(series, 'blk_write') or [0.0])[-1])} · "
                      f"total {fmt.size(last.blk_write)}"),
            "pids": f"PIDs {last.pids}",
        }
        data = {
            "cpu": [s.cpu_percent or 0.0 for s in series],
            "mem": [float(s.mem_usage) for s in series],
            "rx": rate(series, "net_rx"),
            "tx": rate(series, "net_tx"),
            "read": rate(series, "blk_read"),
            "write": rate(series, "blk_write"),
            "pids": [float(s.pids) for s in series],
        }
        for key, _ in METRICS:
            self.query_one(f"#label-{key}", Static).update(labels[key])
            self.query_one(f"#spark-{key}", Sparkline).data = data[key] or [0.0]
