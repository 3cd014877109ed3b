"""WharfApp: the console's shell; behaviour lives in screens, widgets and dialogs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.data.models import EngineTarget
from tui.data.port import EnginePort
from tui.data.registry import NoRegistryBrowser, Registry, RegistryBrowser, default_registries
from tui.theme import DEFAULT_THEME, HIGH_CONTRAST

Connector = Callable[[EngineTarget], Any]
"""Builds a docker-py-shaped client for an engine target."""


class WharfApp(App[int]):
    """The Wharf console.

    Args:
        connect: makes a client for an :class:`EngineTarget` (``DockerClient(base_url=…)``).
        engines: the engines the picker offers; the first is opened.
        browser: registry browsing for the repository pane.
        registries: the registries listed at start (default: Docker Hub + ``WHARF_REGISTRIES``).
        mouse: whether the app starts with mouse capture on.
    """

    CSS_PATH = "wharf.tcss"
    TITLE = "Wharf"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("colon", "command_palette", "Commands", key_display=":", show=False),
        Binding("M", "toggle_mouse", "Mouse on/off", show=False),
        Binding("T", "toggle_contrast", "High contrast", show=False),
        Binding("e", "pick_engine", "Engine", show=False),
    ]

    def __init__(self, connect: Connector, engines: Sequence[EngineTarget],
                 browser: RegistryBrowser | None = None, registries: Iterable[Registry] | None = None,
                 mouse: bool = True) -> None:
        super().__init__()
        if not engines:
            raise ValueError("at least one engine target is needed")
        self.connect = connect
        """Builds a client for an engine target."""
        self.engines = list(engines)
        """The engines the picker offers."""
        self.browser: RegistryBrowser = browser or NoRegistryBrowser()
        """Registry browsing for the repository pane."""
        self.registries = list(registries) if registries is not None else default_registries()
        """The repository pane's registries."""
        self.target = self.engines[0]
        """The engine being managed."""
        self.port = EnginePort(connect(self.target), self.target.url)
        """The engine, seen through the console's adapter."""
        self.mouse_enabled = mouse
        """Whether the app owns the mouse (off: the terminal selects text)."""

    def on_mount(self) -> None:
        """Register the themes and open the main screen."""
        self.register_theme(HIGH_CONTRAST)
        self.theme = DEFAULT_THEME
        from tui.screens.main import MainScreen  # noqa: PLC0415 - keeps import order simple
        self.push_screen(MainScreen())
        if not self.mouse_enabled:
            self.call_after_refresh(self._apply_mouse)

    def switch_engine(self, target: EngineTarget) -> None:
        """Manage another engine: a new client, and every pane starts over."""
        self.target = target
        self.port = EnginePort(self.connect(target), target.url)
        from tui.screens.main import MainScreen  # noqa: PLC0415
        self.switch_screen(MainScreen())

    def action_help(self) -> None:
        """Show every binding of the current view."""
        from tui.screens.help import HelpScreen  # noqa: PLC0415
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen.for_screen(self.screen))

    def action_toggle_mouse(self) -> None:
        """Give the mouse to the terminal (to select text) or take it back."""
        self.mouse_enabled = not self.mouse_enabled
        self._apply_mouse()
        state = "on" if self.mouse_enabled else "off: select text with the mouse, M turns it back on"
        self.notify(f"Mouse {state}", markup=False, timeout=3)

    def _apply_mouse(self) -> None:
        driver = self._driver
        method = "_enable_mouse_support" if self.mouse_enabled else "_disable_mouse_support"
        if driver is not None and hasattr(driver, method):
            getattr(driver, method)()

    def action_toggle_contrast(self) -> None:
        """Switch between the default and the high-contrast theme."""
        self.theme = DEFAULT_THEME if self.theme == HIGH_CONTRAST.name else HIGH_CONTRAST.name

    def action_pick_engine(self) -> None:
        """Choose another engine."""
        from tui.dialogs.engine_picker import EnginePicker  # noqa: PLC0415

        def chosen(target: EngineTarget | None) -> None:
            if target is not None and target != self.target:
                self.switch_engine(target)

        self.push_screen(EnginePicker(self.engines, self.target), chosen)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette: Textual's commands plus the console's."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Every key of this view", self.action_help)
        yield SystemCommand("Engine", "Manage another engine", self.action_pick_engine)
        yield SystemCommand("Mouse capture", "Toggle mouse capture (off to select text)", self.action_toggle_mouse)
        yield SystemCommand("High contrast", "Toggle the high-contrast theme", self.action_toggle_contrast)
        for pane in ("repository", "images", "containers", "engine"):
            yield SystemCommand(f"Go to {pane}", f"Show the {pane} pane",
                                lambda pane=pane: self._go(pane))

    def _go(self, pane: str) -> None:
        from tui.screens.main import MainScreen  # noqa: PLC0415
        while len(self.screen_stack) > 2 and not isinstance(self.screen, MainScreen):
            self.pop_screen()
        if isinstance(self.screen, MainScreen):
            self.screen.show_pane(pane)
