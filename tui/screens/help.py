"""HelpScreen: every key binding of the view it was opened from."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


NODE_NAMES = {"SyncTable": "table", "DataTable": "table", "KeyList": "list", "OptionList": "list",
              "Input": "text input", "FilterBar": "filter", "RichLog": "log", "VerticalScroll": "scroll"}
"""Generic widgets, listed after the view's own keys."""


def _outer_bindings(screen: Screen) -> dict[str, tuple[DOMNode, Binding]]:
    """Bindings of the focused widget's ancestors, for keys the widget itself shadows."""
    found: dict[str, tuple[DOMNode, Binding]] = {}
    focused = screen.focused
    if focused is None:
        return found
    for node in focused.ancestors:
        for key, bindings in node._bindings.key_to_bindings.items():
            found.setdefault(key, (node, bindings[0]))
    return found


def binding_rows(screen: Screen) -> list[tuple[str, str, str]]:
    """``(key, description, where)`` for every active binding of ``screen``, focused widget first."""
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    outer = _outer_bindings(screen)
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.action == "select_cursor" and key in outer:
            # the table selects, and the pane reacts to the selection: show what that does
            node, binding = outer[key]
            active = active._replace(node=node, binding=binding)
        if binding.action in ("help",) and key in seen:
            continue
        where = type(active.node).__name__.removesuffix("Pane").removesuffix("Screen") or "App"
        label = binding.key_display or screen.app.get_key_display(binding)
        description = binding.description or binding.action
        if (label, description) in {(r[0], r[1]) for r in rows}:
            continue
        seen.add(key)
        rows.append((label, description, NODE_NAMES.get(where, where)))
    generic = set(NODE_NAMES.values())
    return [r for r in rows if r[2] not in generic] + [r for r in rows if r[2] in generic]


class HelpScreen(ModalScreen[None]):
    """A table of keys; Esc, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, rows: list[tuple[str, str, str]], title: str) -> None:
        super().__init__()
        self.rows = rows
        """``(key, description, where)``."""
        self.help_title = title
        """What the keys are for."""

    @classmethod
    def for_screen(cls, screen: Screen) -> HelpScreen:
        """The help of ``screen`` as it is now (focused widget's keys included)."""
        focused = screen.focused
        where = type(focused.parent).__name__ if focused is not None and focused.parent is not None else ""
        title = f"Keys · {type(screen).__name__.removesuffix('Screen')}"
        if where and where not in ("TabPane", "ContentSwitcher"):
            title += f" · {where.removesuffix('Pane')}"
        return cls(binding_rows(screen), title)

    def compose(self):
        """The table."""
        table = Table(box=None, padding=(0, 2), header_style="bold", expand=True)
        table.add_column("KEY", style="bold yellow", no_wrap=True)
        table.add_column("ACTION")
        table.add_column("WHERE", style="dim", no_wrap=True)
        for key, description, where in self.rows:
            table.add_row(key, description, where)
        with VerticalScroll(id="help-body") as scroll:
            scroll.border_title = self.help_title
            scroll.border_subtitle = "Esc closes · : or ctrl+p for commands"
            yield Static(table)
            yield Static(Text("Mouse: M toggles capture (off lets the terminal select text). "
                              "T toggles the high-contrast theme.", style="dim"))

    def action_close(self) -> None:
        """Close."""
        self.dismiss()
