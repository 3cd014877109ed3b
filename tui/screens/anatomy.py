"""AnatomyScreen: what a container is made of — namespaces, cgroup, overlay dirs, network, PIDs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from tui import fmt
from tui.data.errors import Missing
from tui.data.models import Anatomy, ContainerRow
from tui.screens.base import ViewScreen

NOT_WHARF = ("This engine has no anatomy endpoint (a real dockerd answers 404). Wharf's engine shows "
             "namespaces with inode numbers, the cgroup with limits and usage, the overlay lower/upper/work "
             "dirs, the network endpoint, and the host PID beside the container PID.")


def _section(title: str, values: Mapping[str, Any], note: str = "") -> Table:
    table = Table(box=None, padding=(0, 1), show_header=False, title=Text(title, style="bold"),
                  title_justify="left", caption=note or None, caption_justify="left", caption_style="dim")
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in values.items():
        if isinstance(value, (list, tuple)):
            value = "\n".join(str(v) for v in value)
        elif isinstance(value, int) and key.startswith("memory") and value > 4096:
            value = f"{value} ({fmt.mib(value)})"
        table.add_row(str(key), str(value))
    return table


def anatomy_view(anatomy: Anatomy) -> Group:
    """The anatomy as sections."""
    pids = _section("Process", {"host PID": anatomy.host_pid, "PID inside": anatomy.container_pid},
                    "the same process, numbered by two PID namespaces")
    namespaces = _section("Namespaces (inode in /proc/<pid>/ns/*)", anatomy.namespaces,
                          "equal inodes = shared namespace; compare with /proc/1/ns on the host")
    cgroup = _section("cgroup", anatomy.cgroup, "limits and usage as the cgroup files say")
    overlay = _section("overlay rootfs", anatomy.overlay,
                       "lowerdir: read-only image layers (top first) · upperdir: the container's writes")
    network = _section("network endpoint", anatomy.network, "the veth pair's host end is on the bridge")
    return Group(pids, Text(""), namespaces, Text(""), cgroup, Text(""), overlay, Text(""), network)


class AnatomyScreen(ViewScreen):
    """The anatomy of one container."""

    @dataclass
    class Loaded(Message):
        """The anatomy arrived (or ``None``: not a Wharf engine)."""

        anatomy: Anatomy | None

    def __init__(self, row: ContainerRow) -> None:
        super().__init__(f"Anatomy of {row.name} ({row.short_id})")
        self.row = row
        """The container."""

    def body(self):
        """The sections."""
        with VerticalScroll(id="anatomy-scroll"):
            yield Static("loading …", id="anatomy")

    def on_mount(self) -> None:
        """Fetch."""
        self.query_one("#anatomy-scroll").focus()
        self._fetch()

    @work(thread=True, exclusive=True, exit_on_error=False, group="anatomy", description="anatomy")
    def _fetch(self) -> None:
        try:
            self.post_message(self.Loaded(self.app.port.anatomy(self.row.id)))
        except Missing:
            self.post_message(self.Loaded(None))

    def on_anatomy_screen_loaded(self, message: Loaded) -> None:
        """Show it."""
        view = self.query_one("#anatomy", Static)
        view.update(NOT_WHARF if message.anatomy is None else anatomy_view(message.anatomy))
