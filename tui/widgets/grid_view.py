"""A scrollable stack of report grids whose label columns stay put while the values scroll.

Each block is a DataTable with ``fixed_columns`` set to its label columns and every
column as wide as its widest cell, so a number, its ± and its rank marker are never
cut. ←/→ step all blocks sideways one column at a time (Home/End: first/last column);
↑/↓ and the page keys scroll the stack.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from tui.grid import Grid, grids_of


class GridTable(DataTable):
    """One grid; it never takes focus (the stack scrolls every block together)."""

    can_focus = False
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

    def on_mount(self) -> None:
        for label in self.grid.header:
            self.add_column(Text(label, style="bold"))  # Text: a label is never markup
        self.add_rows(self.grid.rows)

    def column_stops(self) -> list[int]:
        """Scroll offsets at which each scrolling column starts."""
        stops, x = [], 0
        for column in self.ordered_columns[self.fixed_columns:]:
            stops.append(x)
            x += column.get_render_width(self)
        return stops

    def step(self, direction: int) -> None:
        """Scroll one column right (+1) or left (-1)."""
        stops = [min(s, self.max_scroll_x) for s in self.column_stops()] or [0]
        x = round(self.scroll_x)
        if direction > 0:
            target = next((s for s in stops if s > x), self.max_scroll_x)
        else:
            target = next((s for s in reversed(stops) if s < x), 0)
        self.scroll_to(x=target, animate=False, immediate=True)


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
            table.scroll_to(x=table.max_scroll_x if end else 0, animate=False, immediate=True)
