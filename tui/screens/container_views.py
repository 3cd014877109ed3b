"""Open a container's view (logs, stats, inspect, top, diff, anatomy) or a terminal session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from textual.message import Message
from textual.screen import Screen

from tui.data.errors import PortError
from tui.data.models import ContainerRow


@dataclass
class TerminalReady(Message):
    """An exec (or attach) socket is ready; the screen suspends the app and relays."""

    row: ContainerRow
    sock: Any
    exec_id: str = ""
    what: str = "shell"


def open_view(screen: Screen, view: str, row: ContainerRow) -> None:
    """Push the view named ``view`` for ``row`` (or start a shell/attach)."""
    app = screen.app
    if view == "logs":
        from tui.screens.logs import LogsScreen  # noqa: PLC0415
        app.push_screen(LogsScreen(row))
    elif view == "stats":
        from tui.screens.stats import StatsScreen  # noqa: PLC0415
        app.push_screen(StatsScreen(row, screen.feed))  # type: ignore[attr-defined]
    elif view == "inspect":
        from tui.screens.inspect import InspectScreen  # noqa: PLC0415
        port = app.port  # type: ignore[attr-defined]
        app.push_screen(InspectScreen(f"Container {row.name} ({row.short_id})", lambda: port.inspect_container(row.id)))
    elif view == "top":
        from tui.screens.tables import TopScreen  # noqa: PLC0415
        app.push_screen(TopScreen(row))
    elif view == "diff":
        from tui.screens.tables import DiffScreen  # noqa: PLC0415
        app.push_screen(DiffScreen(row))
    elif view == "anatomy":
        from tui.screens.anatomy import AnatomyScreen  # noqa: PLC0415
        app.push_screen(AnatomyScreen(row))
    elif view in ("shell", "attach"):
        if row.state != "running":
            app.notify(f"{row.name} is {row.state}: start it first (u)", markup=False, severity="warning")
            return
        if view == "attach":
            start_attach(screen, row)
            return
        from tui.dialogs.shell import ShellDialog  # noqa: PLC0415
        app.push_screen(ShellDialog(getattr(app, "last_shell", "/bin/sh")),
                        lambda shell: start_shell(screen, row, shell) if shell else None)


def start_shell(screen: Screen, row: ContainerRow, shell: str) -> None:
    """Create the exec in a worker; :func:`relay` runs when it is ready."""
    screen.app.last_shell = shell  # type: ignore[attr-defined]
    screen.run_worker(lambda: _exec_body(screen, row, shell), thread=True, exclusive=True,
                      exit_on_error=False, group="terminal", name="shell", description=f"shell {shell}")


def _exec_body(screen: Screen, row: ContainerRow, shell: str) -> None:
    size = os.get_terminal_size() if os.isatty(1) else os.terminal_size((80, 24))
    exec_id, sock = screen.app.port.exec_shell(row.id, shell, (size.columns, size.lines))  # type: ignore[attr-defined]
    screen.post_message(TerminalReady(row, sock, exec_id, shell))


def start_attach(screen: Screen, row: ContainerRow) -> None:
    """Get an attach socket in a worker; :func:`relay` runs when it is ready."""
    def body() -> None:
        sock = screen.app.port.attach_socket(row.id)  # type: ignore[attr-defined]
        screen.post_message(TerminalReady(row, sock, "", "attach"))
    screen.run_worker(body, thread=True, exclusive=True, exit_on_error=False, group="terminal",
                      name="attach", description="attach")


def relay(screen: Screen, message: TerminalReady) -> None:
    """Suspend the app and hand the terminal to the session (called on the UI thread)."""
    from tui.terminal import pump  # noqa: PLC0415
    app = screen.app
    port = app.port  # type: ignore[attr-defined]
    banner = (f"\r\n[wharf] {message.what} in {message.row.name} — exit the shell to come back"
              + (" · ctrl+p ctrl+q detaches" if message.what == "attach" else "") + "\r\n")
    outcome = ""
    try:
        with app.suspend():
            os.write(1, banner.encode())
            outcome = pump(message.sock, (lambda size: port.resize_exec(message.exec_id, size))
                           if message.exec_id else None)
    except (PortError, OSError, TypeError) as exc:
        app.notify(f"{message.what}: {exc}", markup=False, severity="error")
        return
    except Exception as exc:  # noqa: BLE001 - SuspendNotSupported (textual-serve), …
        app.notify(f"{message.what} needs a real terminal: {exc}", markup=False, severity="error")
        return
    app.notify(f"{message.what} in {message.row.name}: {outcome}", markup=False)
