"""The runs table: a DataTable keyed by run id that updates in place and keeps its cursor.

Live updates replace only the cells whose text changed, so the cursor, the scroll
position and the focus never move under the user. A full rebuild (new runs, another
filter or sort) puts the cursor back on the same run at the same screen line.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, DuplicateKey, Row, RowKey

from tui.rows import COLUMNS, GROUP_PREFIX, JOB_COLUMN, Cell, Group, RunRow
from tui.widgets.focus import KeysInOrder

Item = RunRow | Group
FIRST_CHUNK = 200  # rows painted at once: several screenfuls
CHUNK = 500  # rows added per refresh after that (keys stay answered in between)
MAX_RUN_WIDTH = 64  # run ids longer than this (user-chosen) are cut with an ellipsis
FREEZE_ROWS = 2000  # from this many rows, full garbage collections would be felt


def item_key(item: Item) -> str:
    return item.key


class RunsTable(KeysInOrder, DataTable):
    """Runs and group headers, one row each; vim keys on top of DataTable's own."""

    BINDINGS = [
        Binding("j", "cursor_down", "Cursor down", show=False, id="runs.down"),
        Binding("k", "cursor_up", "Cursor up", show=False, id="runs.up"),
        # DataTable's own Home/End scroll sideways in a row-cursor table: here they mean
        # the first / last run (a Home then Enter must open the top run)
        Binding("home", "scroll_top", "Top", show=False, id="runs.top"),
        Binding("G,end", "scroll_bottom", "Bottom", show=False, id="runs.bottom"),
        Binding("ctrl+d", "page_down", "Page down", show=False, id="runs.page_down"),
        Binding("ctrl+u", "page_up", "Page up", show=False, id="runs.page_up"),
        # sideways a column at a time: the run id and the columns after it are a few
        # presses away at 80 columns, not dozens
        Binding("right,l", "step_column(1)", "Next column", show=False, id="runs.right"),
        Binding("left,h", "step_column(-1)", "Previous column", show=False, id="runs.left"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._shown: dict[str, dict[str, Cell]] = {}  # rows in the table, as shown
        self._generation = 0  # bumped by show(): a pending fill of an older show() stops
        # the view to put back after show(): (row key, its screen line, horizontal scroll);
        # pending until the scroll is restored, after the rows' first refresh
        self._keep: tuple[str | None, int, float] | None = None
        self._placed = False  # the cursor is back on the kept row
        self.filling = False  # rows of the last show() are still being added

    def on_mount(self) -> None:
        for column in COLUMNS:
            self.add_column(column.label, width=column.width, key=column.key)

    def mark_sort(self, key: str, descending: bool) -> None:
        """An arrow after the label of the column the rows are sorted by (only there)."""
        arrow = "↓" if descending else "↑"
        for column in COLUMNS:
            label = column.label
            if column.key == key:  # the arrow takes the label's last letter if it must
                label = label[:column.width - 1] + arrow if len(label) >= column.width else (
                    label + arrow)
            table_column = self.columns.get(ColumnKey(column.key))
            if table_column is not None and table_column.label.plain != label:
                table_column.label = Text(label)
                self._update_count += 1  # the header's cached rendering is stale
        self.refresh()

    def action_step_column(self, direction: int) -> None:
        """Scroll to the start of the next (+1) or previous (-1) column."""
        stops, x = [], 0
        for column in self.ordered_columns:
            stops.append(x)
            x += column.get_render_width(self)
        now = round(self.scroll_x)
        if direction > 0:
            target = next((s for s in stops if s > now), self.max_scroll_x)
        else:
            target = next((s for s in reversed(stops) if s < now), 0)
        self.scroll_to(x=min(target, self.max_scroll_x), animate=False, immediate=True)

    # -- what the cursor is on ------------------------------------------------------

    @property
    def current_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def current_run_id(self) -> str | None:
        key = self.current_key
        return None if key is None or key.startswith(GROUP_PREFIX) else key

    def visible_keys(self) -> list[str]:
        """Keys of the rows now on screen (where lazy data such as loss curves is wanted)."""
        top = int(self.scroll_y)
        bottom = min(top + self.size.height, self.row_count)
        return [self.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value
                for i in range(top, bottom)]

    # -- filling and updating -------------------------------------------------------

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Skip measuring new rows: every column has a fixed width and every row one line.

        DataTable measures each cell of each new row here (to size auto-width columns and
        auto-height rows) before it settles the scrollable size; with 10,000 runs that is
        most of first paint and tells us nothing. Only the size update is kept. (A private
        hook: should a Textual release rename it, the table is merely slower, not wrong.)
        """
        super()._update_dimensions(())

    def clear(self, columns: bool = False) -> RunsTable:
        """Drop the rows first: DataTable.clear() otherwise builds the line offsets of every
        old row (its ``_y_offsets`` property) only to empty them, ~40 ms at 10,000 rows."""
        self.rows.clear()
        self._data.clear()
        super().clear(columns)
        return self

    def show(self, items: Sequence[Item]) -> None:
        """Replace every row, keeping the cursor on the same run at the same screen line.

        The first screenfuls are added at once and painted; the rest follow in chunks
        after each refresh, so 10,000 runs never freeze the keyboard. The first chunk
        reaches the kept run: until its row is in, the cursor would sit on row 0 and a key
        pressed meanwhile would act on the wrong run.
        """
        if self._keep is None:
            line = self.cursor_row - int(self.scroll_y)
            self._keep = (self.current_key, max(line, 0), self.scroll_x)
        # else an earlier show() has not put the view back yet: the table now shows its
        # cleared state (cursor on row 0, no scroll), so that show()'s target still holds.
        # (Two rebuilds before a repaint, as when a lagging app handles a reload and a
        # live update back to back, used to lose the screen line and the horizontal scroll.)
        self.clear()
        self._shown = {}
        self._generation += 1
        self._placed = False
        self.filling = True
        gc.disable()  # see _filled
        items = list(items)
        keys = list(map(attrgetter("key"), items))  # (C-speed: 20 ms less at 10,000 rows)
        kept = keys.index(self._keep[0]) if self._keep[0] in keys else 0
        self._add_chunk(items, 0, self._generation, kept + FIRST_CHUNK)

    def fit_run_column(self, longest: int) -> None:
        """Widen the run column to the longest id (before rows go in): an id is never cut."""
        column = self.columns.get(ColumnKey("run"))
        if column is not None and longest > column.width:
            column.width = min(longest, MAX_RUN_WIDTH)

    def fit_job_column(self, shown: bool) -> None:
        """Show the job column (before rows go in) while some run has a scheduler's job."""
        key = ColumnKey(JOB_COLUMN.key)
        if shown and key not in self.columns:
            self.add_column(JOB_COLUMN.label, width=JOB_COLUMN.width, key=JOB_COLUMN.key)
        elif not shown and key in self.columns:
            self.remove_column(key)

    def _add_chunk(self, items: list[Item], start: int, generation: int, size: int) -> None:
        if generation != self._generation:
            return  # a newer show() replaced this fill
        self._append_rows(items[start:start + size])
        last = start + size >= len(items)
        if self._keep is not None and not self._placed and self._keep[0] in self._shown:
            keep, line, _x = self._keep
            index = self.get_row_index(keep)
            self.move_cursor(row=index, scroll=False)
            self._placed = True
            self.call_after_refresh(self._restore_view, generation, index - line)
        elif self._keep is not None and not self._placed and (start == 0 or last):
            self.call_after_refresh(self._restore_view, generation, None)  # x for now
        if not last:
            self.call_after_refresh(self._add_chunk, items, start + size, generation, CHUNK)
        else:
            self._filled()

    def _append_rows(self, items: Sequence[Item]) -> None:
        """``DataTable.add_row`` for many rows, its per-row bookkeeping done once.

        add_row re-validates the cursor, bumps the update count and schedules an idle
        check for every row: about half of a rebuild's time when a sort put the kept run
        5,000 rows down (its first chunk reaches it, see ``show``). The rows go into the
        same structures add_row fills (private DataTable state, like ``update_rows``;
        test_sort_keeps_the_run_and_the_table_consistent checks them through the public API).
        """
        if not items:
            return
        columns = [column.key for column in self.ordered_columns]
        locations, data, rows, new = self._row_locations, self._data, self.rows, self._new_rows
        was_empty = not self.row_count
        index = self.row_count
        for item in items:
            key = item_key(item)
            cells = self._shown[key] = dict(item.cells())
            row_key = RowKey(key)
            if row_key in locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            locations[row_key] = index
            data[row_key] = dict(zip(columns, cells.values(), strict=False))
            rows[row_key] = Row(row_key, 1, None, False)
            new.add(row_key)
            index += 1
        self._require_update_dimensions = True
        table: Any = self  # DataTable's reactive, which mypy does not follow into textual
        table.cursor_coordinate = table.cursor_coordinate  # clamped, as add_row does
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

    def _filled(self) -> None:
        """The rows are in: the cyclic collector, paused while they poured in, resumes.

        Each full collection walks every live object: with 10,000 rows that is a 200 ms
        freeze, and while rows are created such collections come one after another. A
        large table therefore goes to the collector's permanent generation (rows dropped
        later are still freed, by reference counting).
        """
        self.filling = False
        if self.row_count >= FREEZE_ROWS:
            gc.freeze()
        gc.enable()

    def on_unmount(self) -> None:
        if self.filling:  # leaving mid-fill: give the collector back
            gc.enable()

    def _restore_view(self, generation: int, top: int | None) -> None:
        """Put back the horizontal scroll and, with ``top``, the kept row's screen line.

        Done once the kept row is placed, or the rows are all in without it (it was
        filtered out or deleted); until then a newer show() keeps the same target.
        """
        if generation != self._generation or self._keep is None:
            return  # a newer show() owns the view
        x = self._keep[2]
        if top is not None or not self.filling:
            self._keep = None
        self.scroll_to(x=x, y=None if top is None else max(top, 0), animate=False,
                       immediate=True)

    def update_rows(self, rows: Iterable[tuple[str, dict[str, Cell]]]) -> int:
        """Put new cells into rows where their text changed, then repaint once.

        ``DataTable.update_cell`` cannot forget one cell's cached rendering: the table's
        caches are keyed by an update counter that every update bumps (the design chosen
        in Textualize/textual#1483). Bumping it also drops the row order and the line
        offsets of every row, which the next paint rebuilds: with 10,000 rows that was
        a third of a refresh tick for the 20 rows that changed. Here the data is put in
        place (``update_cell`` does the same) and only the cache entries of the changed
        cells and rows are dropped; the row order and offsets stay valid, as no row moved
        or changed height. (Private DataTable state: see test_runs_table_repaints_in_place.)
        """
        changed: dict[RowKey, set[ColumnKey]] = {}
        for key, cells in rows:
            shown = self._shown.get(key)
            if shown is None:
                continue
            row_key = RowKey(key)
            data = self._data[row_key]
            for column, cell in cells.items():
                if shown.get(column) != cell:
                    shown[column] = cell
                    column_key = ColumnKey(column)
                    if column_key not in self.columns:
                        continue  # the job column, hidden
                    data[column_key] = cell
                    changed.setdefault(row_key, set()).add(column_key)
        if changed:
            self._forget_rendering(changed)
            self.refresh()
        return sum(map(len, changed.values()))

    def _forget_rendering(self, changed: dict[RowKey, set[ColumnKey]]) -> None:
        """Drop what the table cached of these cells and their rows (not of the others).

        Entries cached under an older update count (rows added, sorted, resized) can never
        be hit again; they go too, so the caches scanned here stay a screenful small.
        """
        count = self._update_count
        cells = self._cell_render_cache  # (row, column, style, cursor, hover, hover shown,
        for key in [k for k in cells.keys()  # update count, pseudo classes)
                    if k[6] != count or k[1] in changed.get(k[0], ())]:
            cells.discard(key)
        rows = self._row_render_cache  # (row, line, style, cursor, hover, cursor type,
        for key in [k for k in rows.keys()  # cursor shown, hover shown, update count, ...)
                    if k[8] != count or k[0] in changed]:
            rows.discard(key)
        for row_key in changed:  # (update count, row index)
            self._row_renderable_cache.discard((count, self._row_locations.get(row_key)))
        self._line_cache.clear()  # by screen line; rebuilt from the caches above
