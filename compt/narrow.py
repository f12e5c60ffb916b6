"""Fit a report into a terminal's width (80 columns by default) without folding numbers.

Two steps, each only when the previous one is not enough: long column names (tasks)
become short ones with a legend underneath, then the columns are split over several
tables that repeat the row labels. Files and pipes get the full width (compt.export).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

from compt.heatmap import Matrix
from compt.report import AVERAGE, Table

SHORT = 7  # column names longer than this are abbreviated

View = Table | Matrix
Measure = Callable[[Sequence[View]], int]  # the widest line the views print


def short_names(names: Sequence[str], keep: Sequence[str] = (AVERAGE,)) -> dict[str, str]:
    """Readable unique abbreviations: ``sent_movies`` -> ``sent_mo``, ``paraphrase`` ->
    ``paraphr``; names of ``SHORT`` characters or fewer stay as they are."""
    out: dict[str, str] = {}
    taken = {n for n in names if len(n) <= SHORT or n in keep}
    for name in names:
        if name in taken:
            out[name] = name
            continue
        parts = [p for p in re.split(r"[_\-./ ]+", name) if p]
        base = (f"{parts[0][:4]}_{parts[1][:2]}" if len(parts) > 1 else name)[:SHORT]
        short, i = base, 2
        while short in taken:
            short, i = f"{base[:SHORT - len(str(i))]}{i}", i + 1
        taken.add(short)
        out[name] = short
    return out


def legend(mapping: dict[str, str]) -> list[str]:
    pairs = [f"{s} = {n}" for n, s in mapping.items() if s != n]
    return [f"Columns: {', '.join(pairs)}."] if pairs else []


def rename_columns(view: View, mapping: dict[str, str]) -> View:
    """The same view with its columns renamed (and a legend note for the new names)."""
    columns = [mapping.get(c, c) for c in view.columns]
    notes = [*view.notes, *legend(mapping)]
    if isinstance(view, Table):
        rows = [dataclasses.replace(r, cells={mapping.get(c, c): v for c, v in r.cells.items()})
                for r in view.rows]
        return dataclasses.replace(view, columns=columns, rows=rows, notes=notes)
    digits = {mapping.get(c, c): d for c, d in view.column_digits.items()}
    return dataclasses.replace(view, columns=columns, column_digits=digits, notes=notes)


def select_columns(view: View, columns: Sequence[str], last: bool) -> View:
    """Only ``columns`` of ``view``; notes go with the ``last`` part."""
    notes = view.notes if last else []
    if isinstance(view, Table):
        return dataclasses.replace(view, columns=list(columns), notes=notes)
    index = [view.columns.index(c) for c in columns]
    pick = [[row[i] for i in index] for row in view.values]
    std = [[row[i] for i in index] for row in view.std] if view.std else None
    return dataclasses.replace(view, columns=list(columns), values=pick, std=std, notes=notes)


def split_columns(view: View, parts: int) -> list[View]:
    """``view`` as ``parts`` views of consecutive columns (as even as possible)."""
    columns = view.columns
    size = -(-len(columns) // parts)
    chunks = [columns[i:i + size] for i in range(0, len(columns), size)]
    return [select_columns(view, chunk, i == len(chunks) - 1) for i, chunk in enumerate(chunks)]


def fit(view: View, width: int, measure: Measure) -> list[View]:
    """``view`` as one or more views that each print within ``width`` where possible."""
    if measure([view]) <= width:
        return [view]
    view = rename_columns(view, short_names(view.columns))
    for parts in range(1, len(view.columns) + 1):
        pieces = split_columns(view, parts) if parts > 1 else [view]
        if all(measure([p]) <= width for p in pieces):
            return pieces
    return split_columns(view, len(view.columns))
