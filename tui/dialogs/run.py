"""RunDialog: name, command, env, ports, volumes, network, limits, restart policy → a RunSpec."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from tui.data.errors import InvalidInput
from tui.data.runspec import RESTART_POLICIES, RunSpec, build_spec

FIELDS = (
    ("image", "Image", "nginx:1.27"),
    ("name", "Name", "leave empty for a generated name"),
    ("command", "Command", "the image's CMD unless given"),
    ("env", "Env", "KEY=VALUE, KEY2=VALUE2"),
    ("ports", "Ports", "8080:80, 5353:53/udp"),
    ("volumes", "Volumes", "/srv/data:/data:ro, cache:/cache"),
    ("network", "Network", "bridge"),
    ("memory", "Memory", "256m"),
    ("cpus", "CPUs", "0.5"),
)
"""Input ID, label, placeholder."""


class RunDialog(ModalScreen[RunSpec | None]):
    """Fill in and press ctrl+s (or Run): the container is created, started and shown."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "run", "Run")]

    def __init__(self, image: str = "") -> None:
        super().__init__()
        self.image = image
        """The image to run."""

    def compose(self):
        """A form."""
        with Vertical(classes="dialog", id="run-dialog"):
            yield Static(f"Run a container{' from ' + self.image if self.image else ''}", classes="dialog-title")
            with Grid(id="run-form"):
                for field_id, label, placeholder in FIELDS:
                    yield Label(label)
                    yield Input(self.image if field_id == "image" else "", placeholder=placeholder,
                                id=f"run-{field_id}", compact=True)
                yield Label("Restart")
                yield Select([(p, p) for p in RESTART_POLICIES], value="no", allow_blank=False,
                             id="run-restart", compact=True)
            yield Static("", id="run-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run (ctrl+s)", variant="primary", id="run", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Focus the first empty field."""
        self.query_one("#run-name" if self.image else "#run-image", Input).focus()

    def spec(self) -> RunSpec:
        """The form as a :class:`RunSpec`; raises :class:`InvalidInput`."""
        values = {field_id: self.query_one(f"#run-{field_id}", Input).value for field_id, _, _ in FIELDS}
        restart = self.query_one("#run-restart", Select).value
        return build_spec(restart=str(restart), **values)

    def action_run(self) -> None:
        """Check the form; close with the spec, or say what is wrong."""
        try:
            spec = self.spec()
        except InvalidInput as exc:
            self.query_one("#run-error", Static).update(Text(f"✖ {exc.message}"))
            return
        self.dismiss(spec)

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.action_run()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.focus_next()

    def action_cancel(self) -> None:
        """Give up."""
        self.dismiss(None)
