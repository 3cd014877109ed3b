"""MainScreen: header, banner, the four panes in tabs, footer; it wires siblings together."""

from __future__ import annotations


from textual import on, work
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import get_current_worker

from tui import clock
from tui.data.errors import EngineGone
from tui.screens.container_views import TerminalReady
from tui.data.models import EngineInfo, Health
from tui.messages import EngineLost, Notice, RefreshRequested, ShowContainer
from tui.widgets.banner import ConnectionBanner
from tui.widgets.containers import ContainersPane
from tui.widgets.engine_view import EngineView
from tui.widgets.header import EngineHeader
from tui.widgets.images import ImagesPane
from tui.widgets.repository import RepositoryPane
from tui.widgets.stats_feed import StatsFeed
from tui.widgets.worker_errors import ReportsWorkerErrors

PANES = ("repository", "images", "containers", "engine")
"""Tab IDs, in the order of the digit keys."""


class MainScreen(ReportsWorkerErrors, Screen[None]):
    """The console's home: Repository, Images, Containers and Engine panes."""

    BINDINGS = [
        Binding("1", "pane('repository')", "Repository", show=False),
        Binding("2", "pane('images')", "Images", show=False),
        Binding("3", "pane('containers')", "Containers", show=False),
        Binding("4", "pane('engine')", "Engine", show=False),
        Binding("right_square_bracket", "next_pane", "Next pane", show=False, key_display="]"),
        Binding("left_square_bracket", "previous_pane", "Previous pane", show=False, key_display="["),
        Binding("escape", "back", "Back", show=False),
    ]

    health_every = 5.0
    """Seconds between pings while the engine answers."""
    retry_first = 0.5
    """First reconnect delay; it doubles up to :attr:`retry_most`."""
    retry_most = 8.0
    """Longest reconnect delay."""

    def __init__(self) -> None:
        super().__init__()
        self.feed = StatsFeed()
        """The one stats source."""
        self.info: EngineInfo | None = None
        """What the engine said about itself."""

    def compose(self):
        """Header, banner, tabs, footer."""
        yield EngineHeader(id="engine-header")
        yield ConnectionBanner(id="banner")
        yield self.feed
        with TabbedContent(initial="containers", id="panes"):
            with TabPane("1 Repository", id="repository"):
                yield RepositoryPane(id="repository-pane")
            with TabPane("2 Images", id="images"):
                yield ImagesPane(id="images-pane")
            with TabPane("3 Containers", id="containers"):
                yield ContainersPane(self.feed, id="containers-pane")
            with TabPane("4 Engine", id="engine"):
                yield EngineView(id="engine-view")
        yield Footer()

    def on_mount(self) -> None:
        """Connect and start every pane."""
        self.query_one(EngineHeader).target = self.app.target
        self.query_one(ContainersPane).table.focus()
        self._connect()

    # -- connection -------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="connect",
          description="connect to the engine")
    def _connect(self) -> None:
        """Fetch the engine's identity, then start the panes; on failure, keep retrying."""
        worker = get_current_worker()
        port = self.app.port
        delay, attempt = self.retry_first, 0
        while not worker.is_cancelled:
            try:
                info = port.info()
            except EngineGone as exc:
                attempt += 1
                self.post_message(self.Unreachable(exc.message, delay, attempt))
                if clock.nap(delay, lambda: worker.is_cancelled):
                    return
                delay = min(delay * 2, self.retry_most)
                continue
            self.post_message(self.Connected(info))
            break
        while not worker.is_cancelled:
            if clock.nap(self.health_every, lambda: worker.is_cancelled):
                return
            health = port.ping()
            if not health.ok:
                self.post_message(EngineLost(health.message))
                return
            self.post_message(self.Pinged(health))

    class Connected(Message):
        """The engine answered ``version``/``info``."""

        def __init__(self, info: EngineInfo) -> None:
            super().__init__()
            self.info = info

    class Pinged(Message):
        """A ping came back."""

        def __init__(self, health: Health) -> None:
            super().__init__()
            self.health = health

    class Unreachable(Message):
        """A reconnect attempt failed."""

        def __init__(self, reason: str, retry: float, attempt: int) -> None:
            super().__init__()
            self.reason, self.retry, self.attempt = reason, retry, attempt

    def on_main_screen_unreachable(self, message: Unreachable) -> None:
        """Keep the banner current."""
        self._show_gone(message.reason, message.retry, message.attempt)

    def _show_gone(self, reason: str, retry: float, attempt: int) -> None:
        banner = self.query_one(ConnectionBanner)
        banner.reason, banner.retry_in, banner.attempt = reason, retry, attempt
        self.query_one(EngineHeader).health = Health(False, 0.0, reason)

    def on_main_screen_connected(self, message: Connected) -> None:
        """Show who answered and start the panes."""
        self.info = message.info
        self.query_one(EngineHeader).info = message.info
        self.query_one(EngineHeader).health = Health(True, 0.0)
        self.query_one(ConnectionBanner).reason = ""
        self.feed.start(message.info.ncpu)
        self.query_one(ContainersPane).start()
        self.query_one(ImagesPane).reload()
        self.query_one(EngineView).start(message.info)
        self.query_one(RepositoryPane).start()

    def on_main_screen_pinged(self, message: Pinged) -> None:
        """Update the health dot."""
        self.query_one(EngineHeader).health = message.health

    def on_engine_lost(self, message: EngineLost) -> None:
        """Show the banner and reconnect (once, however many workers noticed)."""
        message.stop()
        banner = self.query_one(ConnectionBanner)
        if banner.reason:
            return
        self._show_gone(message.reason, self.retry_first, 0)
        self.workers.cancel_group(self.feed, "stats")
        self._connect()

    # -- fan-in from panes ------------------------------------------------

    def on_notice(self, message: Notice) -> None:
        """Notify."""
        message.stop()
        self.notify(message.text, markup=False, severity=message.severity, timeout=5)  # type: ignore[arg-type]

    def on_refresh_requested(self, message: RefreshRequested) -> None:
        """The containers list changed: give the images pane the usage counts."""
        message.stop()
        self.query_one(ImagesPane).containers = list(self.query_one(ContainersPane).rows.values())

    def on_show_container(self, message: ShowContainer) -> None:
        """Go to a container (after run)."""
        message.stop()
        self.show_pane("containers")
        pane = self.query_one(ContainersPane)
        pane.reload()
        pane.pending_select = message.container_id

    @on(ContainersPane.Opened)
    def _open_container_view(self, message: ContainersPane.Opened) -> None:
        from tui.screens.container_views import open_view  # noqa: PLC0415
        open_view(self, message.view, message.row)

    @on(EngineView.AnatomyWanted)
    def _anatomy_of_cursor(self, message: EngineView.AnatomyWanted) -> None:
        row = self.query_one(ContainersPane).current()
        if row is None:
            self.notify("Put the cursor on a container in the Containers pane first", markup=False, severity="warning")
            return
        from tui.screens.container_views import open_view  # noqa: PLC0415
        open_view(self, "anatomy", row)

    # -- navigation -------------------------------------------------------

    def show_pane(self, pane: str) -> None:
        """Switch tabs and focus the pane."""
        tabs = self.query_one(TabbedContent)
        tabs.active = pane
        self.call_after_refresh(self._focus_pane, pane)

    def _focus_pane(self, pane: str) -> None:
        tab = self.query_one(f"#{pane}", TabPane)
        for widget in tab.query("DataTable, OptionList, RichLog"):
            if widget.display and widget.focusable:
                widget.focus()
                return

    def action_pane(self, pane: str) -> None:
        """Show a pane by name."""
        self.show_pane(pane)

    def action_next_pane(self) -> None:
        """The next tab."""
        active = self.query_one(TabbedContent).active
        self.show_pane(PANES[(PANES.index(active) + 1) % len(PANES)])

    def action_previous_pane(self) -> None:
        """The previous tab."""
        active = self.query_one(TabbedContent).active
        self.show_pane(PANES[(PANES.index(active) - 1) % len(PANES)])

    def action_back(self) -> None:
        """Esc on the main screen: clear marks and filters."""
        pane = self.query_one(ContainersPane)
        if pane.marked:
            pane.clear_marks()

    def on_terminal_ready(self, message: TerminalReady) -> None:
        """Suspend the app and relay the terminal to the container."""
        from tui.screens.container_views import relay  # noqa: PLC0415
        message.stop()
        relay(self, message)
