"""Renderers for tables and matrices: terminal (rich), markdown, csv, latex, json.

Pure functions from a ``Table`` / ``Matrix`` to a string (or a rich renderable for the
terminal and the TUI). Nothing is encoded by colour alone: the best mean in a column is
bold and marked ``*``, the second underlined and marked ``†``, and every heatmap cell
prints its number, so NO_COLOR terminals, plain files and papers read the same.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.style import Style
from rich.table import Table as RichTable
from rich.text import Span, Text

from compt.errors import ComptError
from compt.heatmap import Matrix
from compt.report import REFERENCE_MARK, Cell, Row, Table

FORMATS = ("terminal", "markdown", "csv", "latex", "json")
LONG_TABLE = 300  # rows beyond which the terminal layout skips rich's (slow) table engine
BEST_MARK, SECOND_MARK = "*", "†"
NO_STD = "–"  # shown wherever a std is undefined (a single value)
LEGEND = f"{BEST_MARK} best in column (bold), {SECOND_MARK} second (underlined)."

View = Table | Matrix | Sequence[Table | Matrix]


def render(view: View, fmt: str) -> str:
    """``view`` as text in ``fmt``; ``terminal`` gives the rich layout without colour."""
    if fmt not in FORMATS:
        raise ComptError(f"Unknown format '{fmt}'; choose one of {', '.join(FORMATS)}.")
    if fmt == "terminal":
        console = Console(file=io.StringIO(), width=1000, color_system=None, force_terminal=False)
        console.print(rich_view(view))
        return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines()) + "\n"
    if isinstance(view, Table):
        return _TABLE_RENDERERS[fmt](view)
    if not isinstance(view, Matrix) and any(isinstance(piece, Table) for piece in view):
        return _render_mixed(view, fmt)
    matrices = [view] if isinstance(view, Matrix) else [m for m in view if isinstance(m, Matrix)]
    if fmt == "json":
        data = [matrix_dict(m) for m in matrices]
        return _json(data[0] if isinstance(view, Matrix) else data)
    if fmt == "csv":
        return matrices_csv(matrices)
    renderer = matrix_markdown if fmt == "markdown" else matrix_latex
    return "\n".join(renderer(m) for m in matrices)


def rich_view(view: View) -> RenderableType:
    """What the CLI prints: the rich table(s) with their legend and notes underneath."""
    if isinstance(view, Table):
        body = table_rich(view) if len(view.rows) <= LONG_TABLE else table_lines(view)
        return Group(body, _notes_text([LEGEND, *view.notes]))
    pieces = [view] if isinstance(view, Matrix) else list(view)
    parts: list[RenderableType] = []
    for piece in pieces:
        if isinstance(piece, Table):
            parts += [rich_view(piece), Text("")]
        else:
            parts += [matrix_rich(piece), _notes_text(piece.notes), Text("")]
    return Group(*parts[:-1])


def _render_mixed(pieces: Sequence[Table | Matrix], fmt: str) -> str:
    """A table followed by matrices (``compt table --baseline``): json as one list, the
    other formats one piece after another."""
    if fmt == "json":
        return _json([table_dict(p) if isinstance(p, Table) else matrix_dict(p) for p in pieces])
    return "\n".join(render(piece, fmt) for piece in pieces)


def _notes_text(notes: Sequence[str]) -> Text:
    return Text("\n".join(notes), style="dim")


# -- number formatting --------------------------------------------------------------------


def number(x: float | None, digits: int) -> str:
    return NO_STD if x is None else f"{x:.{digits}f}"


def cell_text(cell: Cell, row: Row, digits: int) -> str:
    """``mean ± std``; a count is added where the cell has fewer runs than its row."""
    if cell.mean is None:
        return NO_STD
    text = f"{number(cell.mean, digits)} ± {number(cell.std, digits)}"
    return f"{text} (n={cell.n})" if cell.n < row.n_runs else text


def count_text(row: Row, expected: int) -> str:
    if row.reference:
        return "ref"
    return f"{row.n_runs}/{expected}" if row.n_runs < expected else str(row.n_runs)


def _by_rank(cell: Cell, best: str, second: str, other: str) -> str:
    """``best`` or ``second`` for a cell ranked first or second in its column, else ``other``."""
    return best if cell.rank == 1 else second if cell.rank == 2 else other


def _mark(cell: Cell) -> str:
    """The rank marker, or a space so that marked and unmarked numbers stay aligned, then
    the reference mark where a trained cell does not beat its reference rows."""
    return _by_rank(cell, BEST_MARK, SECOND_MARK, " ") + _below(cell)


def _below(cell: Cell) -> str:
    return REFERENCE_MARK if cell.below_reference else ""


def _clean(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


# -- tables -------------------------------------------------------------------------------


def _rich_frame(title: str) -> RichTable:
    """An empty rich table; its title (and every header) is text: a label word or a task
    name such as ``[/]`` is shown as written, not read as markup."""
    # a Text title gets no style from the table: give it the one a str title gets
    return RichTable(title=Text(title, style="table.title") if title else None,
                     box=box.SIMPLE_HEAD, header_style="bold")


def table_rich(table: Table) -> RichTable:
    """The table alone (no legend): also what the TUI embeds."""
    out = _rich_frame(table.title)
    for name in table.label_names:  # labels fold when space is short; numbers never do
        out.add_column(Text(name), overflow="fold")
    for column in table.columns:
        out.add_column(Text(column), justify="right", no_wrap=True)
    out.add_column("n", justify="right", no_wrap=True)
    values = range(len(table.label_names), len(table.label_names) + len(table.columns))
    trained = len(table.trained_rows)  # reference rows come last, under a rule
    for index, row in enumerate(_padded_rows(table)):
        texts = []
        for i, (text, style, start, end) in enumerate(row):
            texts.append(Text(text, justify="left" if i in values else None))  # pre-aligned
            if style:
                texts[-1].stylize(style, start, end)
        out.add_row(*texts, end_section=index == trained - 1 < len(table.rows) - 1)
    return out


Piece = tuple[str, str, int, int]  # text, style, and the styled stretch of it


def _padded_rows(table: Table) -> list[list[Piece]]:
    """Every row's pieces, value cells padded around the '±' so that means and stds line up."""
    columns = [[(label, "", 0, 0) for label in labels]
               for labels in zip(*(row.labels for row in table.rows), strict=True)]
    for column in table.columns:
        cells = [row.cells[column] for row in table.rows]
        parts = [cell_text(c, row, table.digits).partition(" ") for c, row in zip(
            cells, table.rows, strict=True)]
        rests = [f"{rest}{_mark(c)}" for (_, _, rest), c in zip(parts, cells, strict=True)]
        left, right = max(len(m) for m, _, _ in parts), max(map(len, rests))
        pieces = []
        for (mean, _, _), rest, cell in zip(parts, rests, cells, strict=True):
            core = f"{mean} {rest}".rstrip()
            pad = left - len(mean)
            text = f"{' ' * pad}{core}".ljust(left + 1 + right)
            pieces.append((text, _by_rank(cell, "bold", "underline", ""), pad, pad + len(core)))
        columns.append(pieces)
    counts = [count_text(row, table.expected) for row in table.rows]
    columns.append([(c, "yellow" if table.short(r) else "", 0, len(c))
                    for c, r in zip(counts, table.rows, strict=True)])
    return [list(row) for row in zip(*columns, strict=True)]


def table_lines(table: Table) -> Text:
    """The same layout as ``table_rich`` built as plain lines, for long tables.

    rich's table layout costs about a millisecond a row; beyond ``LONG_TABLE`` rows
    this keeps ``compt table`` over thousands of configurations fast (no wrapping).
    """
    header = [*table.label_names, *table.columns, "n"]
    rows = _padded_rows(table)
    widths = [max(len(h), *(len(row[i][0]) for row in rows)) for i, h in enumerate(header)]
    numeric = [False] * len(table.label_names) + [True] * (len(header) - len(table.label_names))
    total = sum(widths) + 3 * len(widths) - 1
    plain: list[str] = []
    spans: list[Span] = []
    offset = 0

    def add(text: str, style: str = "", start: int = 0, end: int | None = None) -> None:
        nonlocal offset
        if style:
            spans.append(Span(offset + start, offset + (len(text) if end is None else end), style))
        plain.append(text)
        offset += len(text)

    if table.title:
        add(" " * ((total + 2 - len(table.title)) // 2) + table.title + "\n")
    add("\n")
    for i, (name, width) in enumerate(zip(header, widths, strict=True)):
        add("   " if i else "  ")
        add(name.rjust(width) if numeric[i] else name.ljust(width), "bold")
    add("\n " + "─" * total + "\n")
    for row in rows:
        for i, ((text, style, start, end), width) in enumerate(zip(row, widths, strict=True)):
            gap = width - len(text) if numeric[i] else 0
            add(("   " if i else "  ") + " " * gap, "")
            add(text.ljust(width - gap), style, start, end)
        add("\n")
    out = Text("".join(plain), spans=spans, no_wrap=True, overflow="ignore")
    return out  # never folds a line: pipe it into `less -S`


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def table_markdown(table: Table) -> str:
    header = [*table.label_names, *table.columns, "n"]
    align = [":--"] * len(table.label_names) + ["--:"] * (len(table.columns) + 1)
    lines = [f"**{_md_escape(table.title)}**", ""] if table.title else []
    lines += [_md_row(header), _md_row(align)]
    for row in table.rows:
        cells = []
        for column in table.columns:
            cell = row.cells[column]
            text = cell_text(cell, row, table.digits)
            # <ins>: markdown has no underline, and the second is underlined everywhere else
            cells.append(_by_rank(cell, f"**{text}**", f"<ins>{text}</ins>", text) + _below(cell))
        lines.append(_md_row([*row.labels, *cells, count_text(row, table.expected)]))
    lines += ["", "Bold: best in column; underlined: second.", *table.notes]
    return "\n".join(lines) + "\n"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_md_escape(c) for c in cells) + " |"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "±": r"$\pm$", "–": "--", "†": r"\dag{}",
                  REFERENCE_MARK: r"$^\circ$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def table_latex(table: Table) -> str:
    spec = "l" * len(table.label_names) + "r" * (len(table.columns) + 1)
    header = [*table.label_names, *table.columns, "n"]
    lines = ["% compt table; needs \\usepackage{booktabs}"]
    if table.title:
        lines.append(f"% {table.title}")
    lines += [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
              " & ".join(latex_escape(h) for h in header) + " \\\\", "\\midrule"]
    for row in table.rows:
        cells = []
        for column in table.columns:
            cell = row.cells[column]
            text = latex_escape(cell_text(cell, row, table.digits))
            cells.append(_by_rank(cell, f"\\textbf{{{text}}}", f"\\underline{{{text}}}", text)
                         + latex_escape(_below(cell)))
        labels = [latex_escape(label) for label in row.labels]
        lines.append(" & ".join([*labels, *cells, count_text(row, table.expected)]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    lines += [f"% {note}" for note in ["Bold: best in column; underlined: second.", *table.notes]]
    return "\n".join(lines) + "\n"


def table_csv(table: Table) -> str:
    """One row per configuration: mean, std and count per column (std empty when n < 2)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    per_column = [f"{c}{suffix}" for c in table.columns for suffix in ("", "_std", "_n")]
    refs = any(row.reference for row in table.rows)  # two more columns, only when shown
    writer.writerow([*table.label_names, *per_column, "runs", "expected", "config_key",
                     *(("reference", "below_reference") if refs else ())])
    for row in table.rows:
        numbers: list[Any] = []
        for column in table.columns:
            cell = row.cells[column]
            numbers += [_csv_number(cell.mean), _csv_number(cell.std), cell.n]
        below = ";".join(c for c in table.columns if row.cells[c].below_reference)
        writer.writerow([*row.labels, *numbers, row.n_runs, table.expected, row.config_key,
                         *((str(row.reference).lower(), below) if refs else ())])
    return buffer.getvalue()


def _csv_number(x: float | None) -> str:
    return "" if x is None else repr(_clean(x))


def table_dict(table: Table) -> dict[str, Any]:
    rows = []
    for row in table.rows:
        cells = {c: {"mean": _clean(cell.mean), "std": _clean(cell.std), "n": cell.n,
                     "rank": cell.rank, "values": [_clean(v) for v in cell.values],
                     "below_reference": cell.below_reference}
                 for c, cell in row.cells.items()}
        rows.append({"labels": dict(zip(table.label_names, row.labels, strict=True)),
                     "config_key": row.config_key, "run_ids": row.run_ids, "runs": row.n_runs,
                     "complete": not table.short(row), "reference": row.reference,
                     "cells": cells})
    return {"title": table.title, "label_names": list(table.label_names),
            "columns": table.columns, "expected": table.expected, "digits": table.digits,
            "rows": rows, "notes": table.notes}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


_TABLE_RENDERERS = {
    "markdown": table_markdown,
    "csv": table_csv,
    "latex": table_latex,
    "json": lambda t: _json(table_dict(t)),
}


# -- matrices -----------------------------------------------------------------------------

LOW, HIGH = (247, 251, 255), (8, 48, 107)  # a light-to-dark blue scale


def shade_rgb(shade: float) -> tuple[int, int, int]:
    red, green, blue = (round(lo + (hi - lo) * shade) for lo, hi in zip(LOW, HIGH, strict=True))
    return red, green, blue


def matrix_cell_style(matrix: Matrix, value: float | None) -> Style:
    """Background by value; white text on the dark half so the number stays legible."""
    shade = matrix.shade(value) if matrix.coloured else None
    if shade is None:
        return Style()
    return Style(bgcolor=f"rgb{shade_rgb(shade)}", color="white" if shade > 0.55 else "black")


def matrix_rich(matrix: Matrix) -> RichTable:
    """The coloured matrix alone (no notes): also what the TUI embeds."""
    out = _rich_frame(matrix.title)
    out.add_column(Text(matrix.corner), overflow="fold")
    for column in matrix.columns:  # label words, task names: text, never markup
        out.add_column(Text(column), justify="right", no_wrap=True)
    body = len(matrix.rows) - matrix.footer
    for i, (label, values) in enumerate(zip(matrix.rows, matrix.values, strict=True)):
        cells = [Text(f" {number(v, matrix.digits_for(c))} ", style=matrix_cell_style(matrix, v))
                 for c, v in zip(matrix.columns, values, strict=True)]
        out.add_row(Text(label, style="bold" if i >= body else ""), *cells,
                    end_section=i == body - 1 and matrix.footer > 0)
    return out


def matrix_markdown(matrix: Matrix) -> str:
    lines = [f"**{_md_escape(matrix.title)}**", ""] if matrix.title else []
    lines += [_md_row([matrix.corner, *matrix.columns]),
              _md_row([":--"] + ["--:"] * len(matrix.columns))]
    body = len(matrix.rows) - matrix.footer
    for i, (label, values) in enumerate(zip(matrix.rows, matrix.values, strict=True)):
        texts = [number(v, matrix.digits_for(c)) for c, v in zip(matrix.columns, values,
                                                                 strict=True)]
        lines.append(_md_row([f"**{label}**" if i >= body else label, *texts]))
    lines += ["", *matrix.notes] if matrix.notes else []
    return "\n".join(lines) + "\n"


def matrix_latex(matrix: Matrix) -> str:
    """booktabs tabular; coloured cells via ``\\cellcolor`` (xcolor with the table option)."""
    lines = ["% compt matrix; needs \\usepackage{booktabs} and \\usepackage[table]{xcolor}"]
    if matrix.title:
        lines.append(f"% {matrix.title}")
    lines += [f"\\begin{{tabular}}{{l{'r' * len(matrix.columns)}}}", "\\toprule",
              " & ".join(latex_escape(h) for h in [matrix.corner, *matrix.columns]) + " \\\\",
              "\\midrule"]
    body = len(matrix.rows) - matrix.footer
    for i, (label, values) in enumerate(zip(matrix.rows, matrix.values, strict=True)):
        if i == body and matrix.footer:
            lines.append("\\midrule")
        cells = []
        for column, value in zip(matrix.columns, values, strict=True):
            text = latex_escape(number(value, matrix.digits_for(column)))
            shade = matrix.shade(value) if matrix.coloured else None
            colour = "" if shade is None else f"\\cellcolor{{blue!{round(shade * 50)}}}"
            cells.append(colour + text)
        lines.append(" & ".join([latex_escape(label), *cells]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", *(f"% {n}" for n in matrix.notes)]
    return "\n".join(lines) + "\n"


def matrices_csv(matrices: Sequence[Matrix]) -> str:
    """Tidy rows (one per cell): easy to pivot or plot, and one layout for any number."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "row", "column", "value", "std"])
    for m in matrices:
        stds = m.std or [[None] * len(m.columns) for _ in m.rows]
        for label, values, row_std in zip(m.rows, m.values, stds, strict=True):
            for column, value, std in zip(m.columns, values, row_std, strict=True):
                writer.writerow([m.title, label, column, _csv_number(value), _csv_number(std)])
    return buffer.getvalue()


def matrix_dict(matrix: Matrix) -> dict[str, Any]:
    data = asdict(matrix)
    data["values"] = [[_clean(v) for v in row] for row in matrix.values]
    data["std"] = [[_clean(v) for v in row] for row in matrix.std] if matrix.std else None
    return data
