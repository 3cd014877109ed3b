"""EngineView: the engine's live journal of jobs and steps, tagged by component (for teaching).

On Wharf the journal comes from ``api.journal(since=…)``. A real dockerd
answers 404: the view says what is not available and shows Docker's
``/events`` instead, which name objects but not the steps behind them.
"""

from __future__ import annotations

import collections
import datetime
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import RichLog, Static
from textual.worker import get_current_worker

from tui import clock
from tui.data.errors import EngineGone, Missing
from tui.data.models import EngineInfo, JournalEntry
from tui.messages import EngineLost
from tui.widgets.open_streams import OpenStreams
from tui.widgets.worker_errors import ReportsWorkerErrors

COMPONENT_STYLE = {"registry": "bold cyan", "graph driver": "bold magenta", "network driver": "bold blue",
                   "exec driver": "bold yellow", "engine": "bold green", "daemon": "bold white"}
"""One colour per part of Docker's architecture."""
COMPONENTS = ("all", "engine", "registry", "graph driver", "network driver", "exec driver", "daemon")
"""What ``c`` cycles through."""
KEEP = 2000
"""Journal lines kept."""

NO_JOURNAL = (
    "This engine is not Wharf (it answered 404 for /wharf/journal): the step-by-step journal and the "
    "container anatomy view are not available. Showing Docker's /events instead — they name objects "
    "(container start, image pull) but not the registry, graph driver, network driver and exec driver "
    "steps behind them."
)


def journal_line(entry: JournalEntry) -> Text:
    """``08:00:01.250 [registry] step fetch-blob sha256:… bytes=3400000``."""
    stamp = datetime.datetime.fromtimestamp(entry.time, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:12]
    text = Text(no_wrap=False)
    text.append(stamp, style="dim")
    text.append(f" [{entry.component}]", style=COMPONENT_STYLE.get(entry.component, "bold"))
    if entry.job_id:
        text.append(f" {entry.job_id}", style="dim")
    kind_style = "bold" if entry.kind == "job" else ""
    text.append(f" {entry.kind} {entry.action}", style=kind_style)
    if entry.subject:
        text.append(f" {entry.subject}")
    if entry.detail:
        text.append(" " + " ".join(f"{k}={v}" for k, v in entry.detail.items()), style="italic")
    return text


class EngineView(ReportsWorkerErrors, Vertical):
    """The journal, a notice when the engine is not Wharf, and the anatomy key."""

    BINDINGS = [
        Binding("c", "component", "Component filter"),
        Binding("a", "anatomy", "Anatomy"),
        Binding("ctrl+l", "clear", "Clear", show=False),
    ]

    @dataclass
    class Entries(Message):
        """Journal entries arrived."""

        entries: Sequence[JournalEntry]

    class Unavailable(Message):
        """The engine has no journal."""

    class AnatomyWanted(Message):
        """The user asked for the anatomy of the container under the containers pane's cursor."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[JournalEntry] = []
        """What the journal showed so far (at most :data:`KEEP`)."""
        self.component = "all"
        """The component shown, or ``all``."""
        self.available = True
        """Whether the engine has Wharf's journal."""
        self._incoming: collections.deque[JournalEntry] = collections.deque(maxlen=KEEP)
        self._lock = threading.Lock()
        self._streams = OpenStreams()

    def compose(self):
        """The notice and the log."""
        yield Static(NO_JOURNAL, id="journal-notice")
        yield RichLog(id="journal", wrap=True, markup=False, max_lines=KEEP, auto_scroll=True, min_width=20)

    def on_mount(self) -> None:
        """Titles."""
        self.border_title = "Engine journal"
        self.query_one("#journal-notice").display = False
        self._subtitle()
        self.set_interval(0.2, self._drain)

    def on_unmount(self) -> None:
        """End the journal stream so its reader thread stops."""
        self._streams.close_all()

    def _drain(self) -> None:
        with self._lock:
            fresh = list(self._incoming)
            self._incoming.clear()
        if fresh:
            self.post_message(self.Entries(fresh))

    def start(self, info: EngineInfo) -> None:
        """Follow the journal (or Docker's events)."""
        self._follow()

    @work(thread=True, exclusive=True, exit_on_error=False, group="journal", description="engine journal")
    def _follow(self) -> None:
        worker = get_current_worker()
        port = self.app.port
        since = self.entries[-1].seq if self.entries else 0
        while not worker.is_cancelled:
            try:
                with self._streams.held(port.journal(since=since), worker) as stream:
                    for entry in stream:
                        if worker.is_cancelled:
                            return
                        since = max(since, entry.seq)
                        with self._lock:
                            self._incoming.append(entry)
            except Missing:
                self.post_message(self.Unavailable())
                self._events(worker)
                return
            except EngineGone as exc:
                self.post_message(EngineLost(exc.message))
                return
            if clock.nap(1.0, lambda: worker.is_cancelled):
                return

    def _events(self, worker: object) -> None:
        with self._streams.held(self.app.port.events(), worker) as stream:  # type: ignore[arg-type]
            for entry in stream:
                if getattr(worker, "is_cancelled", False):
                    return
                with self._lock:
                    self._incoming.append(entry)

    def on_engine_view_entries(self, message: Entries) -> None:
        """Append entries."""
        message.stop()
        self.entries.extend(message.entries)
        del self.entries[:-KEEP]
        log = self.query_one(RichLog)
        for entry in message.entries:
            if self.component in ("all", entry.component):
                log.write(journal_line(entry))
        self._subtitle()

    def on_engine_view_unavailable(self, message: Unavailable) -> None:
        """Say what a real dockerd does not offer."""
        message.stop()
        self.available = False
        self.query_one("#journal-notice").display = True
        self.border_title = "Docker events (no Wharf journal on this engine)"

    def _subtitle(self) -> None:
        self.border_subtitle = f"{len(self.entries)} entries · component: {self.component} (c)"

    def action_component(self) -> None:
        """Show one component's steps, cycling."""
        self.component = COMPONENTS[(COMPONENTS.index(self.component) + 1) % len(COMPONENTS)]
        log = self.query_one(RichLog)
        log.clear()
        for entry in self.entries:
            if self.component in ("all", entry.component):
                log.write(journal_line(entry))
        self._subtitle()

    def action_clear(self) -> None:
        """Forget what was shown."""
        self.entries.clear()
        self.query_one(RichLog).clear()
        self._subtitle()

    def action_anatomy(self) -> None:
        """The anatomy of the container under the containers pane's cursor."""
        if not self.available:
            self.notify("Container anatomy needs a Wharf engine", markup=False, severity="warning")
            return
        self.post_message(self.AnatomyWanted())
