"""SyncTable: a DataTable that is updated in place, cell by cell, never rebuilt per tick."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist


class SyncTable(DataTable[Any]):
    """A table whose rows are keyed and synchronised with :meth:`sync`.

    ``j``/``k``/``g``/``G`` move like vi; rows that did not change cost nothing.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._cells: dict[str, tuple[Any, ...]] = {}
        self._column_keys: list[str] = []

    def set_columns(self, columns: Sequence[tuple[str, str, int | None]]) -> None:
        """Replace the columns (``key, label, width``); rows go too (call :meth:`sync` after)."""
        self.clear(columns=True)
        self._cells.clear()
        self._column_keys = [key for key, _, _ in columns]
        for key, label, width in columns:
            self.add_column(label, key=key, width=width)

    @property
    def column_keys(self) -> list[str]:
        """The keys of the current columns, in order."""
        return list(self._column_keys)

    def sync(self, rows: Mapping[str, Sequence[Any]]) -> None:
        """Make the table show ``rows`` (key → cells in column order), touching only what changed."""
        for key in [k for k in self._cells if k not in rows]:
            self.remove_row(key)
            del self._cells[key]
        for key, cells in rows.items():
            cells = tuple(cells)
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            elif old != cells:
                for column, (before, after) in enumerate(zip(old, cells)):
                    if before != after:
                        self.update_cell(key, self._column_keys[column], after)
            self._cells[key] = cells

    def set_cell(self, key: str, column: str, value: Any) -> None:
        """Update one cell if the row exists and the value changed."""
        old = self._cells.get(key)
        if old is None or column not in self._column_keys:
            return
        index = self._column_keys.index(column)
        if old[index] == value:
            return
        try:
            self.update_cell(key, column, value)
        except CellDoesNotExist:
            return
        self._cells[key] = old[:index] + (value,) + old[index + 1:]

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except (CellDoesNotExist, RowDoesNotExist):
            return None

    def move_to(self, key: str) -> None:
        """Put the cursor on a row, if it is shown."""
        try:
            self.move_cursor(row=self.get_row_index(key))
        except RowDoesNotExist:
            pass

    def visible_keys(self) -> list[str]:
        """Keys of the rows currently on screen, top to bottom."""
        first = int(self.scroll_y)
        keys = list(self._cells)
        return keys[first:first + max(1, self.size.height)]
