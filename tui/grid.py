"""Report views as grids of cells: label columns that stay in view, value columns that scroll.

A paper table, a matrix (seeds, heatmap, router, predictions) or a config diff becomes
one ``Grid`` per block: its header, rows of rich ``Text`` cells and how many leading
columns are labels. The widget (tui.widgets.grid_view) keeps those columns frozen while
the rest scrolls sideways, so nothing is squeezed or cut to fit an 80-column terminal.
Every user string becomes ``Text`` here, never markup.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from compt import export
from compt.heatmap import Matrix
from compt.report import Table
from tui import shading
from tui.diff import ConfigDiff


@dataclass
class Grid:
    """One block of a view: header labels, rows of cells, the frozen label columns."""

    title: str
    header: list[str]
    rows: list[list[Text]]
    fixed: int = 1  # leading label columns kept in view while the others scroll
    notes: list[str] = field(default_factory=list)
    legend: Text | None = None  # a heatmap's shade scale, shown under its title


def grids_of(view: Any) -> list[Grid]:
    """The blocks of any view the compare and detail screens show."""
    if isinstance(view, Table):
        return [table_grid(view)]
    if isinstance(view, ConfigDiff):
        return [diff_grid(view)]
    if isinstance(view, Matrix):
        return [matrix_grid(view)]
    return [matrix_grid(m) for m in view]


def table_grid(table: Table) -> Grid:
    """The paper table: label columns, then ``mean ± std`` cells with their rank markers.

    The average and ``n`` come right after the labels and stay in view with them (with
    eight tasks at 80 columns they were behind End), and a label column too wide to
    leave room for scores is replaced by letters that a note spells out.
    """
    labels = len(table.label_names)
    rows = []
    for pieces in export._padded_rows(table):  # the exact text the CLI prints (± aligned)
        cells = []
        for text, style, start, end in pieces:
            cell = Text(text)
            if style:
                cell.stylize(style, start, end)
            cells.append(cell)
        tasks, average, count = cells[labels:-2], cells[-2], cells[-1]
        rows.append([*cells[:labels], average, count, *tasks])
    names = list(table.label_names)
    notes = [export.LEGEND, *table.notes]
    for i, name in enumerate(names):
        legend = _lettered(rows, i)
        if legend:
            notes.append(f"{name}: " + "; ".join(f"{letter} = {full}" for letter, full in legend))
    return Grid(table.title or "", [*names, table.columns[-1], "n", *table.columns[:-1]], rows,
                fixed=labels + 2, notes=notes)


MAX_LABEL = 20  # widest frozen label cell before the column becomes letters and a note


def _lettered(rows: list[list[Text]], column: int) -> list[tuple[str, str]]:
    """Replace a too-wide label column's values by A, B, … in place; the legend, or []."""
    values = list(dict.fromkeys(row[column].plain.strip() for row in rows))
    if max(map(len, values), default=0) <= MAX_LABEL or len(values) > 26:
        return []
    letters = {value: chr(ord("A") + i) for i, value in enumerate(values)}
    for row in rows:
        row[column] = Text(letters[row[column].plain.strip()])
    return [(letters[v], v) for v in values]


def matrix_grid(matrix: Matrix) -> Grid:
    """Numbers under row and column labels, shaded by value (the number is always printed)."""
    body = len(matrix.rows) - matrix.footer
    rows = []
    for i, (label, values) in enumerate(zip(matrix.rows, matrix.values, strict=True)):
        cells = [shading.cell(matrix, v, c) for c, v in zip(matrix.columns, values, strict=True)]
        rows.append([Text(str(label), style="bold" if i >= body else ""), *cells])
    return Grid(matrix.title, [matrix.corner, *matrix.columns], rows, notes=list(matrix.notes),
                legend=shading.legend(matrix))


def diff_grid(diff: ConfigDiff) -> Grid:
    """Config keys down, runs across; each column headed by what tells its run apart."""
    names, common = short_names(diff.run_ids)
    rows = [[Text(key), *map(Text, values)] for key, values in
            zip(diff.keys, diff.values, strict=True)]
    rows += [[Text(f"score: {task}", style="bold"), *map(Text, values)]
             for task, values in diff.scores]
    notes = [f"Columns are run ids without their common part '{common}'."] if common else []
    return Grid(f"{len(diff.run_ids)} runs: config keys that differ", ["key", *names], rows,
                notes=notes)


def short_names(run_ids: Sequence[str]) -> tuple[list[str], str]:
    """Run ids without the prefix they all share (cut at a separator), and that prefix.

    ``20261127-013801-ssum-3fa9c1`` and ``20261127-013802-pt-77b0e2`` read as
    ``013801-ssum-3fa9c1`` and ``013802-pt-77b0e2``: every column says which run it is.
    """
    if len(run_ids) < 2:
        return list(run_ids), ""
    prefix = os.path.commonprefix(list(run_ids))
    cut = max(prefix.rfind(sep) for sep in "-_.") + 1
    prefix = prefix[:cut]
    if not prefix or any(len(r) == len(prefix) for r in run_ids):
        return list(run_ids), ""
    return [r[len(prefix):] for r in run_ids], prefix
