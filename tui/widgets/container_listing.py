"""How the containers pane keeps its list current: re-list when the engine says something changed.

A mixin, so ContainersPane stays small. Two thread workers cooperate:

- the **watcher** follows Docker's ``/events`` (on Wharf and on a real
  dockerd alike) and raises a flag on every container or network event;
- the **lister** lists once at start, then again whenever the flag goes up
  (after a short settle, so a burst — a prune of 50 containers — costs one
  listing), and at the latest every :attr:`refresh_every` seconds as a
  resynchronisation.

So an idle engine with 200 containers costs one listing every half minute,
not one every two seconds, and a change shows within a few tens of
milliseconds. Uptime cells tick with the stats feed, without a listing.
"""

from __future__ import annotations

import threading
import time

from textual import work
from textual.worker import Worker, get_current_worker

from tui import clock
from tui.data.errors import EngineGone, PortError
from tui.data.models import JournalEntry
from tui.data.port import EnginePort
from tui.messages import EngineLost
from tui.widgets.open_streams import OpenStreams

WATCHED = ("container", "network")
"""Docker event types that can change a row (state, name, ports, networks)."""


def changes_rows(entry: JournalEntry) -> bool:
    """Whether a Docker event can change what the containers table shows."""
    kind = entry.subject.split(" ", 1)[0]
    return kind in WATCHED


class ContainerListing:
    """The list and event workers: mixed into ContainersPane (needs ``Listed`` and ``post_message``)."""

    refresh_every = 30.0
    """Seconds between re-lists when no event arrives (resynchronisation)."""
    settle = 0.05
    """Seconds to let a burst of events gather before listing."""
    events_retry = 2.0
    """Seconds before following the events again after the stream ended."""

    def init_listing(self) -> None:
        """Set up the workers' shared state (call from the widget's ``__init__``)."""
        self._changed = threading.Event()
        self._event_streams = OpenStreams()

    def start(self) -> None:
        """Begin (or resume) listing and following the engine's events."""
        self._event_streams.close_all()
        self._list_loop()
        self._watch_events()

    def on_unmount(self) -> None:
        """End the events stream so its reader thread stops, and wake the lister."""
        self._event_streams.close_all()
        self._changed.set()

    @work(thread=True, exclusive=True, exit_on_error=False, group="containers-list",
          description="list containers")
    def _list_loop(self) -> None:
        worker = get_current_worker()
        port: EnginePort = self.app.port  # type: ignore[attr-defined]
        changed = self._changed
        while not worker.is_cancelled:
            changed.clear()
            try:
                rows = port.containers()
            except EngineGone as exc:
                self.post_message(EngineLost(exc.message))  # type: ignore[attr-defined]
                return
            self.post_message(self.Listed(rows))  # type: ignore[attr-defined]
            if self._wait_for_change(worker, changed):
                return

    def _wait_for_change(self, worker: Worker[None], changed: threading.Event) -> bool:
        """Block until an event, the resync time or cancellation; ``True`` once cancelled."""
        # Real time, not clock.monotonic (which tests make run fast for rates): a deadline
        # that passes on every read would turn this wait into a busy loop of listings.
        deadline = time.monotonic() + self.refresh_every
        while not worker.is_cancelled:
            if changed.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
                return clock.nap(self.settle, lambda: worker.is_cancelled)
            if time.monotonic() >= deadline:
                return False
        return True

    @work(thread=True, exclusive=True, exit_on_error=False, group="containers-events",
          description="follow container events")
    def _watch_events(self) -> None:
        worker = get_current_worker()
        port: EnginePort = self.app.port  # type: ignore[attr-defined]
        changed = self._changed
        while not worker.is_cancelled:
            try:
                with self._event_streams.held(port.events(), worker) as stream:
                    for entry in stream:
                        if worker.is_cancelled:
                            return
                        if changes_rows(entry):
                            changed.set()
            except EngineGone:
                changed.set()  # the lister finds out and says so
                return
            except PortError:
                pass  # a refused or broken stream: follow again after a pause
            changed.set()  # events may have been missed while the stream was down
            if clock.nap(self.events_retry, lambda: worker.is_cancelled):
                return
