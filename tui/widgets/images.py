"""ImagesPane: every image tag with size, age and users; inspect, layers, tag, remove, prune, run, push, save, load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Input

from tui import fmt
from tui.data.models import ContainerRow, ImageRow
from tui.data.runspec import RunSpec
from tui.messages import Notice, ShowContainer
from tui.widgets.filter_bar import FilterBar
from tui.widgets.image_archive import ImageArchiveKeys
from tui.widgets.pull_progress import PullProgress
from tui.widgets.table import SyncTable
from tui.widgets.worker_errors import ReportsWorkerErrors

SORTS = ("reference", "size", "created", "used")
"""The orders ``o`` cycles through."""

COLUMNS = [("reference", "REPOSITORY:TAG", 30), ("id", "ID", 12), ("size", "SIZE", 9),
           ("created", "CREATED", 9), ("used", "USED BY", 7)]


class ImagesPane(ImageArchiveKeys, ReportsWorkerErrors, Vertical):
    """The images table and its keys."""

    BINDINGS = [
        Binding("enter", "layers", "Layers"),
        Binding("i", "inspect", "Inspect"),
        Binding("r", "run", "Run"),
        Binding("t", "tag", "Tag", show=False),
        Binding("d", "remove", "Remove", show=False),
        Binding("P", "prune", "Prune", show=False),
        Binding("p", "push", "Push", show=False),
        Binding("s", "save", "Save to file", show=False),
        Binding("L", "load", "Load from file", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("o", "sort", "Sort", show=False),
        Binding("O", "reverse", "Reverse sort", show=False),
        Binding("ctrl+r", "reload", "Refresh", show=False),
    ]

    containers: reactive[list[ContainerRow]] = reactive(list, always_update=True)
    """The containers (set by the screen), to count each image's users."""

    @dataclass
    class Listed(Message):
        """A fresh list of images."""

        rows: Sequence[ImageRow]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[ImageRow] = []
        """Every image tag."""
        self.filter_text = ""
        """What the ``/`` prompt holds."""
        self.sort = "reference"
        """The current order."""
        self.descending = False
        """Whether the order is reversed."""

    def compose(self):
        """The table and its filter."""
        yield SyncTable(id="images-table")
        yield FilterBar(id="images-filter")
        yield PullProgress(id="push-progress")

    @property
    def table(self) -> SyncTable:
        """The table."""
        return self.query_one(SyncTable)

    def on_mount(self) -> None:
        """Set up the columns."""
        self.table.set_columns(COLUMNS)
        self.border_title = "Images"

    def watch_containers(self, containers: list[ContainerRow]) -> None:
        """Recount users when the containers change."""
        if self.rows:
            used: dict[str, int] = {}
            for row in containers:
                used[row.image_id] = used.get(row.image_id, 0) + 1
            self.rows = [ImageRow(**{**r.__dict__, "used_by": used.get(r.id, 0)}) for r in self.rows]
            self._render_rows()

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-list", description="list images")
    def reload(self) -> None:
        """List the images."""
        self.post_message(self.Listed(self.app.port.images(self.containers)))

    def on_images_pane_listed(self, message: Listed) -> None:
        """Show the list."""
        message.stop()
        self.rows = list(message.rows)
        self._render_rows()

    def _render_rows(self, rebuild: bool = False) -> None:
        if rebuild:
            self.table.clear()
            self.table._cells.clear()
        needle = self.filter_text.lower()
        shown = [r for r in self.rows if not needle or needle in r.reference.lower() or needle in r.short_id]
        key = {"reference": lambda r: (r.reference.startswith("<none>"), r.reference), "size": lambda r: r.size,
               "created": lambda r: r.created, "used": lambda r: r.used_by}[self.sort]
        shown.sort(key=key, reverse=self.descending)
        self.table.sync({self._key(r): [
            Text(r.reference, style="dim" if r.reference.startswith("<none>") else ""),
            r.short_id, Text(fmt.size(r.size), justify="right"), fmt.ago(r.created),
            Text(str(r.used_by) if r.used_by else "–", justify="right"),
        ] for r in shown})
        arrow = "↓" if self.descending else "↑"
        total = fmt.size(sum({r.id: r.size for r in self.rows}.values()))
        self.border_subtitle = f"{len(shown)}/{len(self.rows)} · sort {self.sort} {arrow} · {total}"

    @staticmethod
    def _key(row: ImageRow) -> str:
        return f"{row.id}|{row.reference}"

    def current(self) -> ImageRow | None:
        """The image tag under the cursor."""
        key = self.table.cursor_key
        return next((r for r in self.rows if self._key(r) == key), None)

    def _need(self) -> ImageRow | None:
        row = self.current()
        if row is None:
            self.notify("No image under the cursor", markup=False, severity="warning")
        return row

    # -- keys -------------------------------------------------------------

    @on(DataTable.RowSelected, "#images-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_layers()

    def action_filter(self) -> None:
        """Open the filter prompt."""
        self.query_one(FilterBar).open()

    @on(Input.Changed, "#images-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._render_rows(rebuild=True)

    @on(Input.Submitted, "#images-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_sort(self) -> None:
        """Cycle the sort column."""
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._render_rows(rebuild=True)

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.descending = not self.descending
        self._render_rows(rebuild=True)

    def action_reload(self) -> None:
        """Re-list now."""
        self.reload()

    def action_inspect(self) -> None:
        """The image's inspect JSON."""
        row = self._need()
        if row:
            from tui.screens.inspect import InspectScreen  # noqa: PLC0415
            port = self.app.port
            self.app.push_screen(InspectScreen(f"Image {row.reference}", lambda: port.inspect_image(row.id)))

    def action_layers(self) -> None:
        """The image's layer stack."""
        row = self._need()
        if row:
            from tui.screens.layers import LayersScreen  # noqa: PLC0415
            self.app.push_screen(LayersScreen(row))

    def action_tag(self) -> None:
        """Give the image another name."""
        row = self._need()
        if row is None:
            return
        from tui.dialogs.prompt import PromptDialog  # noqa: PLC0415

        def tagged(value: str | None) -> None:
            if value:
                repository, _, tag = value.rpartition(":") if ":" in value.split("/")[-1] else (value, "", "latest")
                self._tag(row.id, repository, tag)

        self.app.push_screen(PromptDialog(f"Tag {row.short_id}", "new REPOSITORY[:TAG]",
                                          row.reference.replace("<none>:<none>", "")), tagged)

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-act", description="tag image")
    def _tag(self, image_id: str, repository: str, tag: str) -> None:
        self.app.port.tag_image(image_id, repository, tag)
        self.post_message(Notice(f"tagged {repository}:{tag}"))
        self.app.call_from_thread(self.reload)

    def action_remove(self) -> None:
        """Remove the tag (the image goes with its last tag); asks first."""
        row = self._need()
        if row is None:
            return
        from tui.dialogs.confirm import ConfirmDialog  # noqa: PLC0415
        users = f"{row.used_by} container(s) use it. " if row.used_by else ""
        target = row.id if row.reference.startswith("<none>") else row.reference
        self.app.push_screen(ConfirmDialog(f"Remove {row.reference}?", f"{users}{row.short_id} · {fmt.size(row.size)}",
                                           "remove"),
                             lambda yes: self._remove(target) if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-act", description="remove image")
    def _remove(self, reference: str) -> None:
        self.app.port.remove_image(reference)
        self.post_message(Notice(f"removed {reference}"))
        self.app.call_from_thread(self.reload)

    def action_prune(self) -> None:
        """Remove dangling images; asks first."""
        from tui.dialogs.confirm import ConfirmDialog  # noqa: PLC0415
        dangling = [r for r in self.rows if r.reference.startswith("<none>")]
        self.app.push_screen(ConfirmDialog("Prune dangling images?",
                                           f"{len(dangling)} untagged image(s) not used by any container.", "prune"),
                             lambda yes: self._prune() if yes else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-act", description="prune images")
    def _prune(self) -> None:
        count, reclaimed = self.app.port.prune_images()
        self.post_message(Notice(f"pruned {count} image(s), reclaimed {fmt.size(reclaimed)}"))
        self.app.call_from_thread(self.reload)

    def action_run(self) -> None:
        """The run dialog for the image under the cursor."""
        row = self.current()
        from tui.dialogs.run import RunDialog  # noqa: PLC0415
        image = row.reference if row and not row.reference.startswith("<none>") else (row.id if row else "")
        self.app.push_screen(RunDialog(image), lambda spec: self._run(spec) if spec else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="images-run", description="run container")
    def _run(self, spec: RunSpec) -> None:
        row = self.app.port.run(spec)
        self.post_message(Notice(f"started {row.name} ({row.short_id}) from {spec.image}"))
        self.post_message(ShowContainer(row.id))
