"""How runs read as rows of the runs table: cells, the filter query, sort and group keys.

Pure functions over index summaries (docs/CONTRACTS.md) and live status, so the table
widget only places cells and the rules here are tested without a terminal. Every value
is printed as text; colour only repeats what the text says (NO_COLOR stays readable).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment

from compt.phases import ANALYSING, SHORT, TRAINING, phase_progress
from compt.report import known_keys, label_text, lookup, tasks_short
from compt.runfolder import STATUS_STYLE
from compt.store import ACTIVE, Summary

GROUP_PREFIX = "group:"  # row keys of group headers; ':' never occurs in a run id
SPARK_GLYPHS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: a line of text and its style, drawn only when on screen.

    A DataTable measures every cell of every new row to size auto-width columns. Our
    columns have fixed widths, so a cell offers no ``__rich_measure__`` (the table then
    skips it) and is drawn only when on screen: with 10,000 runs only the ~20 rows in
    view are ever rendered, which keeps first paint fast.
    """

    text: str = ""
    style: str = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """One segment, cut with an ellipsis to the column (cheaper than wrapping a Text)."""
        text, width = " ".join(self.text.splitlines()), options.max_width
        if cell_len(text) > width:
            text = set_cell_size(text, max(width - 1, 0)) + "…"
        yield Segment(text, console.get_style(self.style) if self.style else None)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int


COLUMNS = (
    Column("mark", " ", 1),
    Column("status", "status", 11),
    Column("method", "meth", 4),
    Column("tasks", "tasks", 13),  # "sent_movies+2" whole (and avg still in 80 columns)
    Column("k", "k", 3),
    Column("seed", "seed", 4),
    Column("progress", "prog", 5),  # "100%"; while evaluating, of the examples; "2/5" masks
    Column("loss", "loss", len(SPARK_GLYPHS)),
    Column("eta", "eta", 6),
    Column("average", "avg", 5),
    Column("run", "run", 27),  # a generated id whole; RunsTable widens it for longer ones
    Column("group", "group", 16),
    Column("created", "created", 16),  # "2026-11-24 07:00"
    Column("duration", "time", 7),
    Column("host", "host", 12),
)
# a scheduler's job (its Slurm state, else its id): last, and only while a run has a job
JOB_COLUMN = Column("job", "job", 22)
COLUMN_KEYS = tuple(c.key for c in (*COLUMNS, JOB_COLUMN))


@dataclass(eq=False)
class RunRow:
    """One run as the table shows it: its index summary plus what the live files say."""

    summary: Summary
    status: dict[str, Any] = field(default_factory=dict)  # status.json, for live runs
    losses: list[float] = field(default_factory=list)
    marked: bool = False
    _cells: dict[str, Cell] | None = field(default=None, repr=False)
    _haystack: str | None = field(default=None, repr=False)
    key: str = field(init=False, repr=False)  # its row key: the run id (a Group has one too)

    def __post_init__(self) -> None:
        self.key = self.summary["run_id"]  # a plain attribute: read 10,000 times a rebuild

    @property
    def haystack(self) -> str:
        """The text a bare filter word searches (built once per summary change)."""
        if self._haystack is None:
            self._haystack = _haystack(self.summary)
        return self._haystack

    @property
    def run_id(self) -> str:
        return self.summary["run_id"]

    @property
    def state(self) -> str:
        return str(self.summary.get("status") or "queued")

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def live(self) -> Mapping[str, Any]:
        """status.json when polled, else the summary (both carry step / total / phase)."""
        return self.status or self.summary

    @property
    def progress(self) -> float | None:
        if self.state == "done":
            return 1.0
        step = self.status.get("step", self.summary.get("step"))
        total = self.status.get("total") or self.summary.get("total")
        if not total or not isinstance(step, int | float):
            return None
        return min(1.0, max(0.0, step / total))

    def apply(self, *, summary: Summary | None = None, status: dict[str, Any] | None = None,
              losses: list[float] | None = None, marked: bool | None = None) -> None:
        """Take in what changed (the cells are recomputed on the next ``cells()``)."""
        if summary is not None:
            self.summary = summary
            self._haystack = None
        if status is not None:
            self.status = status
            state = status.get("status")
            if state and state != self.summary.get("status"):  # the filter sees it too
                self.summary = {**self.summary, "status": state}
                self._haystack = None
        if losses is not None:
            self.losses = losses
        if marked is not None:
            self.marked = marked
        self._cells = None

    def cells(self) -> dict[str, Cell]:
        """The row's cells in column order (computed once per change)."""
        if self._cells is None:
            self._cells = self._make_cells()
        return self._cells

    def _make_cells(self) -> dict[str, Cell]:
        s = self.summary
        progress = self.progress
        status, progress_text = self.state, "-" if progress is None else f"{progress:.0%}"
        phase = self.live.get("phase")
        if status == "running" and phase not in (None, TRAINING):
            status, counts = SHORT.get(phase, str(phase)), phase_progress(self.live)
            if counts is not None:
                done, total = counts
                progress_text = f"{done}/{total}" if phase == ANALYSING else (
                    f"{100 * min(done, total) // total}%")
            else:
                progress_text = "-"
        elif status == "done" and format_score(s.get("average")) == "-":
            status = "done ⚠"  # finished, but its results cannot be read
        return {
            "mark": Cell("✓" if self.marked else " ", "bold"),
            "status": Cell(status, STATUS_STYLE.get(self.state, "")),
            "method": Cell(str(s.get("method") or "?")),
            "tasks": Cell(tasks_short(s.get("tasks") or [])),  # as `compt ls` prints it
            "k": Cell(label_text(s.get("k"))),
            "seed": Cell(label_text(s.get("seed"))),
            "progress": Cell(progress_text or "-"),
            "loss": Cell(sparkline(self.losses) or "-"),
            "eta": Cell(format_eta(self.status.get("eta_s")) if self.state == "running" else "-"),
            "average": Cell(format_score(s.get("average"))),
            "run": Cell(self.run_id, "dim"),
            "group": Cell(str(s.get("group") or "-")),
            "created": Cell(str(s.get("created") or "-")[:16].replace("T", " ")),
            "duration": Cell(format_eta(s.get("duration_s"))),
            "host": Cell(str(s.get("host") or "-")),
            "job": Cell(str(s.get("job_state") or s.get("job_id") or "")),
        }


def sparkline(values: Sequence[float], width: int = len(SPARK_GLYPHS)) -> str:
    """The last values as block glyphs (higher = taller), averaged into ``width`` buckets."""
    values = [v for v in values if isinstance(v, int | float) and math.isfinite(v)]
    if not values:
        return ""
    if len(values) > width:
        edges = [round(i * len(values) / width) for i in range(width + 1)]
        values = [sum(values[a:b]) / (b - a) for a, b in itertools.pairwise(edges) if b > a]
    lo, hi = min(values), max(values)
    top = len(SPARK_GLYPHS) - 1
    if hi == lo:
        return SPARK_GLYPHS[top // 2] * len(values)
    return "".join(SPARK_GLYPHS[round((v - lo) / (hi - lo) * top)] for v in values)


def format_eta(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_score(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return f"{value:.1f}"
    return "-"


# -- the filter query --------------------------------------------------------------------

LIST_KEYS = {"task": "tasks", "tasks": "tasks", "tag": "tags", "tags": "tags"}


@dataclass(frozen=True)
class Term:
    key: str | None  # None: match the text anywhere
    values: tuple[str, ...]
    negate: bool = False


def parse_query(text: str) -> list[Term]:
    """``ssum status:running k:8,16 -tag:old`` -> terms that must all hold.

    A bare word matches anywhere (id, status, method, tasks, group, tags, note, model);
    ``key:value`` (or ``key=value``) matches a field exactly, commas meaning "any of";
    a leading ``-`` negates a term.
    """
    terms = []
    for word in text.split():
        negate = word.startswith("-") and len(word) > 1
        word = word[1:] if negate else word
        key, sep, value = word.replace("=", ":", 1).partition(":")
        if sep and key:
            values = tuple(v.lower() for v in value.split(",") if v)
            terms.append(Term(key.lower(), values, negate))
        else:
            terms.append(Term(None, (word.lower(),), negate))
    return terms


def _haystack(summary: Summary) -> str:
    parts = [summary.get("run_id"), summary.get("status"), summary.get("method"),
             summary.get("group"), summary.get("name"), summary.get("model"), summary.get("note"),
             *(summary.get("tasks") or []), *(summary.get("tags") or [])]
    return " ".join(str(p) for p in parts if p).lower()


def _term_holds(term: Term, summary: Summary, haystack: str | None = None) -> bool:
    if term.key is None:
        return term.values[0] in (_haystack(summary) if haystack is None else haystack)
    if term.key in LIST_KEYS:
        listed: Any = summary.get(LIST_KEYS[term.key])  # tags or tasks: a list, or None
        have = {str(v).lower() for v in listed or []}
        return not term.values or any(v in have for v in term.values)
    value = label_text(lookup(summary, term.key)).lower()
    return not term.values or value in term.values


def matches(summary: Summary, terms: Iterable[Term], haystack: str | None = None) -> bool:
    return all(_term_holds(t, summary, haystack) != t.negate for t in terms)


def unknown_keys(terms: Iterable[Term], summaries: Iterable[Summary]) -> list[str]:
    """Filter keys no run has (a typo, most likely), judged on a sample of the runs."""
    keys = {t.key for t in terms if t.key is not None and t.key not in LIST_KEYS}
    if not keys:
        return []
    known = set(known_keys(itertools.islice(summaries, 200)))
    return sorted(keys - known)


# -- sorting and grouping ----------------------------------------------------------------

SORTS: dict[str, Callable[[RunRow], Any]] = {
    "created": lambda r: (str(r.summary.get("created") or ""), r.run_id),
    "status": lambda r: r.state,
    "method": lambda r: str(r.summary.get("method") or ""),
    "tasks": lambda r: ",".join(r.summary.get("tasks") or []),
    "k": lambda r: _number(r.summary.get("k")),
    "seed": lambda r: _number(r.summary.get("seed")),
    "progress": lambda r: -1.0 if r.progress is None else r.progress,
    "average": lambda r: _number(r.summary.get("average")),
    "group": lambda r: str(r.summary.get("group") or ""),
    "duration": lambda r: _number(r.summary.get("duration_s")),
}
DESCENDING_FIRST = ("created", "progress", "average", "duration")  # newest / best / longest
GROUPS = ("none", "group", "method", "k", "status", "tasks")
# the column where a group header prints its value (a store group has no column: tasks)
GROUP_COLUMN = {"group": "tasks", "method": "method", "k": "k", "status": "status",
                "tasks": "tasks"}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else -math.inf


def group_value(row: RunRow, by: str) -> str:
    if by == "tasks":
        return ",".join(row.summary.get("tasks") or []) or "-"
    value = row.state if by == "status" else row.summary.get(by)
    return label_text(value) if value not in (None, "") else "(none)"


@dataclass
class View:
    """What the table shows: filtered, sorted, optionally grouped under header rows."""

    query: str = ""
    sort: str = "created"
    descending: bool = True
    group_by: str = "none"
    folded: set[str] = field(default_factory=set)  # keys of group headers shown closed

    def arrange(self, rows: Iterable[RunRow]) -> list[RunRow | Group]:
        terms = parse_query(self.query)
        shown = [r for r in rows if matches(r.summary, terms, r.haystack)] if terms else list(rows)
        shown.sort(key=SORTS[self.sort], reverse=self.descending)
        if self.group_by == "none":
            return list(shown)
        groups: dict[str, list[RunRow]] = {}
        for row in shown:
            groups.setdefault(group_value(row, self.group_by), []).append(row)
        out: list[RunRow | Group] = []
        for name in sorted(groups):
            header = Group(self.group_by, name, groups[name])
            header.folded = header.key in self.folded
            out.append(header)
            if not header.folded:
                out.extend(groups[name])
        return out


@dataclass
class Group:
    """A header row over the runs sharing one value of the group-by key."""

    by: str
    name: str
    rows: list[RunRow]
    folded: bool = False  # its runs hidden under the header

    @property
    def key(self) -> str:
        return f"{GROUP_PREFIX}{self.by}={self.name}"

    def cells(self) -> dict[str, Cell]:
        averages = [r.summary.get("average") for r in self.rows]
        scores = [s for s in averages if isinstance(s, int | float) and math.isfinite(s)]
        value_column = GROUP_COLUMN.get(self.by, "tasks")
        count_column = "tasks" if value_column == "status" else "status"
        cells = {key: Cell("") for key in COLUMN_KEYS}
        cells["mark"] = Cell("▶" if self.folded else "▼", "bold")
        cells[value_column] = Cell(self.name, "bold")
        count = len(self.rows)
        cells[count_column] = Cell(f"{count} run{'s' if count != 1 else ''}", "bold")
        cells["average"] = Cell(format_score(sum(scores) / len(scores)) if scores else "-", "bold")
        cells["run"] = Cell(f"{self.by} = {self.name}", "bold")
        return cells
