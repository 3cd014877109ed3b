"""ContainersPane: every container with live CPU and memory, marks and lifecycle keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events, on, work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input

from tui import fmt
from tui.data.errors import EngineGone, PortError
from tui.data.models import ContainerRow, StatsSample
from tui.messages import EngineLost, Notice, RefreshRequested
from tui.widgets.container_commit import ContainerCommitKey
from tui.widgets.container_listing import ContainerListing
from tui.widgets.container_columns import NARROW, SORTS, STATE_STYLE, WIDE, WIDE_FROM, uptime
from tui.widgets.filter_bar import FilterBar
from tui.widgets.stats_feed import StatsFeed
from tui.widgets.table import SyncTable
from tui.widgets.worker_errors import ReportsWorkerErrors

class ContainersPane(ContainerListing, ContainerCommitKey, ReportsWorkerErrors, Vertical):
    """The containers table, its filter prompt and every container key."""

    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("enter", "stats", "Stats"),
        Binding("l", "logs", "Logs"),
        Binding("s", "shell", "Shell"),
        Binding("a", "attach", "Attach", show=False),
        Binding("i", "inspect", "Inspect", show=False),
        Binding("t", "top", "Top", show=False),
        Binding("f", "diff", "Diff", show=False),
        Binding("A", "anatomy", "Anatomy", show=False),
        Binding("u", "act('start')", "Start", show=False),
        Binding("x", "act('stop')", "Stop"),
        Binding("r", "act('restart')", "Restart", show=False),
        Binding("K", "act('kill')", "Kill", show=False),
        Binding("p", "pause", "Pause/unpause", show=False),
        Binding("d", "act('remove')", "Remove", show=False),
        Binding("c", "commit", "Commit", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("o", "sort", "Sort", show=False),
        Binding("ctrl+r", "reload", "Refresh", show=False),
    ]

    @dataclass
    class Listed(Message):
        """A fresh list of containers."""

        rows: Sequence[ContainerRow]

    @dataclass
    class Opened(Message):
        """The user asked for a view of a container (``logs``, ``stats``, ``shell``, …)."""

        view: str
        row: ContainerRow

    @dataclass
    class ActionDone(Message):
        """A lifecycle action finished on some containers."""

        action: str
        done: Sequence[str]
        failed: Mapping[str, str]

    def __init__(self, feed: StatsFeed, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.init_listing()
        self.feed = feed
        """The stats source (a sibling, handed down by the screen)."""
        self.rows: dict[str, ContainerRow] = {}
        """Every container, by ID, in the engine's order."""
        self.marked: set[str] = set()
        """IDs marked with space."""
        self.filter_text = ""
        """What the ``/`` prompt holds."""
        self.sort = "engine"
        """The current order, one of :data:`SORTS`."""
        self.pending_select = ""
        """A container to put the cursor on once it is listed (after run)."""
        self._wide: bool | None = None

    def compose(self):
        """The table and its filter prompt."""
        yield SyncTable(id="containers-table")
        yield FilterBar(id="containers-filter")

    @property
    def table(self) -> SyncTable:
        """The table."""
        return self.query_one(SyncTable)

    def on_mount(self) -> None:
        """Pick columns for the width and subscribe to stats."""
        self._layout(self.app.size.width)
        self.feed.ticked.subscribe(self, self._on_stats)
        self.border_title = "Containers"

    def on_resize(self, event: events.Resize) -> None:
        """Switch between narrow and wide columns."""
        self._layout(self.app.size.width)

    def _layout(self, width: int) -> None:
        wide = width >= WIDE_FROM
        if wide == self._wide:
            return
        self._wide = wide
        self.table.set_columns(WIDE if wide else NARROW)
        self._render_rows()

    # -- data -------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="containers-once",
          description="list containers")
    def reload(self) -> None:
        """List once now (after an action)."""
        self.post_message(self.Listed(self.app.port.containers()))

    def on_containers_pane_listed(self, message: Listed) -> None:
        """Update the table in place."""
        message.stop()
        self.rows = {row.id: row for row in message.rows}
        self.marked &= set(self.rows)
        self._render_rows()
        if self.pending_select in self.rows:
            self.select(self.pending_select)
            self.pending_select = ""
        self.post_message(RefreshRequested())

    def _render_rows(self) -> None:
        if not self.is_mounted:
            return
        shown = [row for row in self.rows.values() if self._matches(row)]
        shown = self._sorted(shown)
        columns = self.table.column_keys
        self.table.sync({row.id: self._cells(row, columns) for row in shown})
        running = [r.id for r in shown if r.state == "running"]
        visible = set(self.table.visible_keys())
        self.feed.running = [i for i in running if i in visible] + [i for i in running if i not in visible]
        self.border_subtitle = self._subtitle(len(shown))

    def _subtitle(self, shown: int) -> str:
        parts = [f"{shown}/{len(self.rows)}"]
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        if self.filter_text:
            parts.append(f"filter “{self.filter_text}”")
        parts.append(f"sort {self.sort}")
        parts.append("CPU% 100% = 1 core")
        return " · ".join(parts)

    def _matches(self, row: ContainerRow) -> bool:
        needle = self.filter_text.lower()
        return not needle or any(needle in field.lower() for field in (row.name, row.image, row.state, row.id))

    def _sorted(self, rows: list[ContainerRow]) -> list[ContainerRow]:
        history = self.feed.history
        keys = {
            "name": lambda r: r.name,
            "state": lambda r: (r.state != "running", r.state, r.name),
            "image": lambda r: (r.image, r.name),
            "cpu": lambda r: -((history.latest(r.id) or _ZERO).cpu_percent or 0.0),
            "memory": lambda r: -(history.latest(r.id) or _ZERO).mem_usage,
        }
        key = keys.get(self.sort)
        return sorted(rows, key=key) if key else rows

    def _cells(self, row: ContainerRow, columns: Sequence[str]) -> list[object]:
        sample = self.feed.history.latest(row.id) if row.state == "running" else None
        values: dict[str, object] = {
            "mark": Text("●", style="bold yellow") if row.id in self.marked else " ",
            "id": row.short_id,
            "name": row.name,
            "state": Text(row.state, style=STATE_STYLE.get(row.state, ""), justify="left"),
            "image": row.image,
            "ports": row.ports or "–",
            "up": uptime(row),
        }
        values.update(self._stat_cells(row.id, sample))
        return [values.get(column, "") for column in columns]

    def _stat_cells(self, container_id: str, sample: StatsSample | None) -> dict[str, object]:
        if sample is None:
            return {"cpu": "–", "mem": "–", "cpuspark": "", "memspark": "", "pids": "–"}
        series = self.feed.history.series(container_id)
        return {
            "cpu": fmt.percent(sample.cpu_percent),
            "mem": fmt.mib(sample.mem_usage),
            "cpuspark": Text(fmt.spark([s.cpu_percent for s in series], 12,
                                       max(100.0, *(s.cpu_percent or 0.0 for s in series))),
                             style="green"),
            "memspark": Text(fmt.spark([float(s.mem_usage) for s in series], 10, float(sample.mem_limit) or None),
                             style="cyan"),
            "pids": str(sample.pids),
        }

    def _on_stats(self, samples: Mapping[str, StatsSample]) -> None:
        table = self.table
        columns = table.column_keys
        for container_id, sample in samples.items():
            row = self.rows.get(container_id)
            if row is None or row.state != "running":
                continue
            for column, value in self._stat_cells(container_id, sample).items():
                if column in columns:
                    table.set_cell(container_id, column, value)
            if "up" in columns:
                table.set_cell(container_id, "up", uptime(row))  # uptime ticks without a re-list

    # -- selection --------------------------------------------------------

    def targets(self) -> list[ContainerRow]:
        """The marked containers, or the one under the cursor."""
        if self.marked:
            return [self.rows[i] for i in self.rows if i in self.marked]
        key = self.table.cursor_key
        return [self.rows[key]] if key in self.rows else []

    def current(self) -> ContainerRow | None:
        """The container under the cursor."""
        key = self.table.cursor_key
        return self.rows.get(key) if key else None

    def select(self, container_id: str) -> None:
        """Put the cursor on a container."""
        self.table.move_to(container_id)

    # -- actions ----------------------------------------------------------

    def action_mark(self) -> None:
        """Mark or unmark the row under the cursor and move down."""
        key = self.table.cursor_key
        if key is None:
            return
        self.marked.symmetric_difference_update({key})
        self.table.set_cell(key, "mark", Text("●", style="bold yellow") if key in self.marked else " ")
        self.table.action_cursor_down()
        self.border_subtitle = self._subtitle(self.table.row_count)

    @on(DataTable.RowSelected, "#containers-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_stats()

    def clear_marks(self) -> None:
        """Unmark every row."""
        for key in list(self.marked):
            self.marked.discard(key)
            self.table.set_cell(key, "mark", " ")
        self.border_subtitle = self._subtitle(self.table.row_count)

    def action_filter(self) -> None:
        """Open the filter prompt."""
        self.query_one(FilterBar).open()

    @on(Input.Changed, "#containers-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._render_rows()

    @on(Input.Submitted, "#containers-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_sort(self) -> None:
        """Cycle the order."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.table.clear()
        self.table._cells.clear()
        self._render_rows()

    def action_reload(self) -> None:
        """Re-list now."""
        self.reload()

    def _open(self, view: str) -> None:
        row = self.current()
        if row is None:
            self.notify("No container under the cursor", markup=False, severity="warning")
            return
        self.post_message(self.Opened(view, row))

    def action_stats(self) -> None:
        """Stats plots of the container under the cursor."""
        self._open("stats")

    def action_logs(self) -> None:
        """Logs of the container under the cursor."""
        self._open("logs")

    def action_shell(self) -> None:
        """A shell in the container under the cursor."""
        self._open("shell")

    def action_attach(self) -> None:
        """Attach to the container's own stdio."""
        self._open("attach")

    def action_inspect(self) -> None:
        """Inspect JSON."""
        self._open("inspect")

    def action_top(self) -> None:
        """Processes."""
        self._open("top")

    def action_diff(self) -> None:
        """Changed files."""
        self._open("diff")

    def action_anatomy(self) -> None:
        """Namespaces, cgroup, overlay and network of the container."""
        self._open("anatomy")

    def action_pause(self) -> None:
        """Pause running containers, unpause paused ones."""
        targets = self.targets()
        if targets and all(row.state == "paused" for row in targets):
            self.action_act("unpause")
        else:
            self.action_act("pause")

    def action_act(self, action: str) -> None:
        """Run a lifecycle action on the targets; kill and remove ask first."""
        targets = self.targets()
        if not targets:
            self.notify("No container under the cursor", markup=False, severity="warning")
            return
        if action in ("kill", "remove"):
            from tui.dialogs.confirm import ConfirmDialog  # noqa: PLC0415
            names = ", ".join(row.name for row in targets[:6]) + (" …" if len(targets) > 6 else "")
            force = " (running ones are stopped first)" if action == "remove" else ""
            self.app.push_screen(
                ConfirmDialog(f"{action.capitalize()} {len(targets)} container(s)?", f"{names}{force}", action),
                lambda yes: self._act([r.id for r in targets], action) if yes else None,
            )
            return
        self._act([row.id for row in targets], action)

    @work(thread=True, exclusive=True, exit_on_error=False, group="containers-act",
          description="container action")
    def _act(self, ids: Sequence[str], action: str) -> None:
        port = self.app.port
        done: list[str] = []
        failed: dict[str, str] = {}
        for container_id in ids:
            try:
                if action == "remove" and self.rows.get(container_id, _GONE).state in ("running", "paused"):
                    port.container_action(container_id, "kill")
                port.container_action(container_id, action)
                done.append(container_id)
            except EngineGone as exc:
                self.post_message(EngineLost(exc.message))
                return
            except PortError as exc:
                failed[container_id] = exc.message
        self.post_message(self.ActionDone(action, done, failed))

    def on_containers_pane_action_done(self, message: ActionDone) -> None:
        """Say what happened and re-list."""
        message.stop()
        names = [self.rows[i].name if i in self.rows else i[:12] for i in message.done]
        if names:
            self.post_message(Notice(f"{message.action}: {', '.join(names)}"))
        for container_id, reason in message.failed.items():
            name = self.rows[container_id].name if container_id in self.rows else container_id[:12]
            self.post_message(Notice(f"{message.action} {name}: {reason}", "error"))
        self.marked.clear()
        self.reload()


_ZERO = StatsSample("", 0.0, None, None, 1, 0, 0, 0.0)
_GONE = ContainerRow("", "", "", "", "", "")
