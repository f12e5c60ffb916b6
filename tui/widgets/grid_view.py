"""A scrollable stack of report grids whose label columns stay put while the values scroll.

Each block is a DataTable with ``fixed_columns`` set to its label columns and every
column as wide as its widest cell, so a number, its ± and its rank marker are never
cut. ←/→ step all blocks sideways one column at a time (Home/End: first/last column);
↑/↓ and the page keys scroll the stack.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowKey

from tui.grid import Grid, grids_of


class GridTable(DataTable):
    """One grid; it never takes focus (the stack scrolls every block together).

    Its value columns go into the table as they come near the screen, not all at once.
    A DataTable renders every cell of a line to draw any part of it
    (``DataTable._render_line_in_row`` renders the whole row, then the line is cropped to
    the scroll window), and renders the lines again whenever its caches go stale (rows
    measured on idle, focus or hover changed, a resize). A config diff of 100 runs has
    101 columns of which one screen shows about eight: rendering all of them took half a
    second before its first frame. The table holds the label columns and the value
    columns up to ``LOOKAHEAD`` terminal widths beyond the screen; scrolling
    there (keys, wheel or scrollbar) brings in the next ones, and End brings in all.
    """

    can_focus = False
    LOOKAHEAD = 1  # terminal widths of value columns kept in the table right of the view
    DEFAULT_CSS = """
    GridTable {
        height: auto;
        margin-bottom: 1;
    }
    """

    def __init__(self, grid: Grid) -> None:
        super().__init__(cursor_type="none", show_cursor=False, zebra_stripes=False)
        self.grid = grid
        self.fixed_columns = grid.fixed
        self.styles.max_height = None  # as tall as its rows: the stack scrolls, not the block
        self.widths = [_width(Text(label)) for label in grid.header]  # content widths
        for row in grid.rows:
            for i, cell in enumerate(row[:len(self.widths)]):
                self.widths[i] = max(self.widths[i], _width(cell))
        self.loaded = 0  # columns in the table so far (labels first)
        self._row_keys: list[RowKey] = []
        self._target_x: int | None = None  # a scroll waiting for its columns' dimensions

    def on_mount(self) -> None:
        count = self._columns_to(self._reach(0))
        for label in self.grid.header[:count]:
            self.add_column(Text(label, style="bold"))  # Text: a label is never markup
        self._row_keys = self.add_rows(row[:count] for row in self.grid.rows)
        self.loaded = count

    @property
    def total(self) -> int:
        return len(self.grid.header)

    def _reach(self, x: int) -> int:
        """Width of value columns wanted in the table when scrolled to ``x``."""
        return x + (self.LOOKAHEAD + 1) * self.app.size.width  # the table is never wider

    def _columns_to(self, reach: int) -> int:
        """How many columns (labels included) cover ``reach`` cells of value columns."""
        count, x = self.grid.fixed, 0
        while count < self.total and x < reach:
            x += self.widths[count] + 2 * self.cell_padding
            count += 1
        return max(count, min(self.loaded, self.total))

    def load_to(self, x: int) -> None:
        """Put in the value columns that scrolling to ``x`` may bring near the screen."""
        count = self._columns_to(self._reach(x))
        if not self.loaded or count <= self.loaded:
            return  # not mounted yet (on_mount loads), or already in
        for i in range(self.loaded, count):
            # A column of pre-existing rows can only be filled with one default value;
            # update_cell puts each row's cell in. The width is given, so the column
            # stops are right at once (auto widths are measured on idle).
            column = self.add_column(Text(self.grid.header[i], style="bold"),
                                     width=self.widths[i])
            for row_key, row in zip(self._row_keys, self.grid.rows, strict=True):
                self.update_cell(row_key, column, row[i] if i < len(row) else "")
        self.loaded = count

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        self.load_to(round(new_value))

    def watch_virtual_size(self) -> None:
        """The added columns are in the virtual size (DataTable sets it on idle): finish a
        scroll that waited for them."""
        if self._target_x is not None:
            x, self._target_x = self._target_x, None
            self.scroll_to(x=x, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.load_to(round(self.scroll_x))  # a wider terminal shows more columns

    def full_max_scroll_x(self) -> int:
        """``max_scroll_x`` once every column is in (``Widget.max_scroll_x``'s formula)."""
        width = sum(self.column_width(i) for i in range(self.total))
        return max(0, width - (self.container_size.width - self.scrollbar_size_vertical))

    def column_width(self, i: int) -> int:
        """Render width of column ``i``, in the table or not."""
        if i < self.loaded:
            return self.ordered_columns[i].get_render_width(self)
        return self.widths[i] + 2 * self.cell_padding

    def scroll_columns(self, x: int) -> None:
        """Scroll to ``x``, putting in the columns it needs first."""
        self.load_to(x)
        if x > self.max_scroll_x:  # the new columns are not in the virtual size yet
            self._target_x = x
        self.scroll_to(x=x, animate=False, immediate=True)

    def column_stops(self) -> list[int]:
        """Scroll offsets at which each scrolling column starts (in the table or not)."""
        stops, x = [], 0
        for i in range(self.grid.fixed, self.total):
            stops.append(x)
            x += self.column_width(i)
        return stops

    def step(self, direction: int) -> None:
        """Scroll one column right (+1) or left (-1)."""
        end = self.full_max_scroll_x()
        stops = [min(s, end) for s in self.column_stops()] or [0]
        x = round(self.scroll_x if self._target_x is None else self._target_x)
        if direction > 0:
            target = next((s for s in stops if s > x), end)
        else:
            target = next((s for s in reversed(stops) if s < x), 0)
        self.scroll_columns(target)

    def edge(self, end: int) -> None:
        """Scroll to the first (0) or the last (1) column."""
        self.scroll_columns(self.full_max_scroll_x() if end else 0)


def _width(cell: Text) -> int:
    """The content width DataTable gives a cell (its longest line)."""
    return max((cell_len(line) for line in cell.plain.splitlines()), default=0)


class GridView(VerticalScroll):
    """The blocks of one view (or a sentence saying why there are none)."""

    BINDINGS = [
        Binding("right,l", "step(1)", "Next column", show=False, id="grid.right"),
        Binding("left,h", "step(-1)", "Previous column", show=False, id="grid.left"),
        Binding("home", "edge(0)", "First column", show=False, id="grid.home"),
        Binding("end", "edge(1)", "Last column", show=False, id="grid.end"),
    ]

    def show(self, view: Any) -> None:
        """Replace the blocks with those of ``view`` (a table, matrix(es) or a diff)."""
        self.remove_children()
        widgets: list[Any] = []
        for grid in grids_of(view):
            if grid.title:
                widgets.append(Static(Text(grid.title, style="bold"), classes="grid-title"))
            if grid.legend is not None:
                widgets.append(Static(grid.legend, classes="grid-legend"))
            widgets.append(GridTable(grid))
            if grid.notes:
                widgets.append(Static(Text("\n".join(grid.notes), style="dim"),
                                      classes="grid-notes"))
        self.mount_all(widgets)

    def show_text(self, text: str, style: str = "dim") -> None:
        """A message instead of blocks (as Text: it may quote user strings)."""
        self.remove_children()
        self.mount(Static(Text(text, style=style)))

    @property
    def tables(self) -> list[GridTable]:
        return list(self.query(GridTable))

    def action_step(self, direction: int) -> None:
        for table in self.tables:
            table.step(direction)

    def action_edge(self, end: int) -> None:
        for table in self.tables:
            table.edge(end)
