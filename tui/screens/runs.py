"""The runs screen: every run in the store, live, with filter, sort, group-by and actions.

The UI thread only places cells. A timer starts a poller thread that reads what changed
(tui.live) and posts it back; runs appear or vanish with a rebuild that keeps the cursor,
everything else is updated in place.

Keys typed ahead of a lagging app go where focus is when they are handled (an ``s``
right after Enter in the filter sorts): see tui.widgets.focus.
"""

from __future__ import annotations

import gc
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from compt.errors import ComptError
from compt.store import ACTIVE, INDEX_FILE, RunStore
from tui.live import LiveRuns
from tui.messages import RunsChanged, RunsLoaded
from tui.rows import (
    DESCENDING_FIRST,
    GROUPS,
    SORTS,
    Group,
    RunRow,
    View,
    matches,
    parse_query,
    unknown_keys,
)
from tui.screens.base import ComptScreen
from tui.screens.modals import ConfirmModal
from tui.widgets.focus import RoutedInput
from tui.widgets.runs_table import FIRST_CHUNK, RunsTable

REFRESH_S = 1.0
RETRYABLE = ("failed", "interrupted", "stopped")
FILTER_DELAY_S = 0.2


def index_mtime(runs_dir: Path) -> int | None:
    try:
        return (runs_dir / INDEX_FILE).stat().st_mtime_ns
    except OSError:
        return None


class RunsScreen(ComptScreen):
    """The home screen: a live table of runs."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter", id="runs.filter"),
        Binding("n", "launch", "Launch", id="runs.launch"),
        Binding("c", "compare", "Compare", id="runs.compare"),
        Binding("z", "fold", "Fold group", show=False, id="runs.fold"),
        Binding("space", "mark", "Mark", id="runs.mark"),
        Binding("x", "stop", "Stop", id="runs.stop"),
        Binding("r", "retry", "Retry", show=False, id="runs.retry"),
        Binding("d,delete", "delete", "Delete", show=False, id="runs.delete"),
        Binding("s", "sort", "Sort", show=False, id="runs.sort"),
        Binding("S", "reverse", "Reverse sort", show=False, id="runs.reverse"),
        Binding("g", "group", "Group by", show=False, id="runs.group"),
        Binding("A", "mark_all", "Mark all shown / none", show=False, id="runs.mark_all"),
        Binding("y", "copy_ids", "Copy run ids", show=False, id="runs.copy"),
        Binding("ctrl+r,f5", "reload", "Reload", show=False, id="runs.reload"),
        Binding("escape", "leave_filter", "Back to table", show=False, id="runs.leave_filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, RunRow] = {}
        self.active: set[str] = set()  # ids of queued and running runs (the ones polled)
        self.marked: set[str] = set()  # ids of the runs marked with space
        self.shown: list[RunRow] = []  # the runs the table lists, in order
        self.groups: dict[str, Group] = {}  # group header rows by key
        self.view = View()
        self.loaded = False
        self._index_mtime: int | None = None
        self._polling = False
        self._seen_history: set[str] = set()
        self._filter_timer: Timer | None = None
        self._hint: str | None = None  # hint() of the current rows and filter (None: stale)

    @property
    def store(self) -> RunStore:
        return self.app.store

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-info")
        yield RoutedInput(placeholder="/ filter: words, status:running k:8 -tag:old",
                          id="filter", compact=True, on_enter=self.action_submit_filter)
        yield RunsTable(id="runs")
        yield Footer()

    def on_mount(self) -> None:
        self.live = LiveRuns(self.store.runs_dir)
        self.set_focus(self.table)
        self.load()
        self.set_interval(REFRESH_S, self.tick)

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#filter", Input)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("stop", "retry"):  # offered only where they apply
            wanted = (lambda r: r.active) if action == "stop" else (
                lambda r: r.state in RETRYABLE)
            return any(wanted(r) for r in self._acting_on())  # else hidden from the footer
        return True

    def _acting_on(self) -> list[RunRow]:
        """What stop / retry would act on: the marked runs, else those under the cursor."""
        if self.marked:
            return [self.rows[r] for r in self.marked if r in self.rows]
        return self._cursor_rows()

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()  # x / r follow the run under the cursor

    # -- reading the store (worker threads) -------------------------------------------

    @work(thread=True, exclusive=True, group="runs.load", name="Loading runs", exit_on_error=False)
    def load(self) -> None:
        mtime = index_mtime(self.store.runs_dir)
        gc.disable()  # thousands of long-lived rows ahead: the table re-enables it, filled
        try:
            rows = self._read_all()
        except BaseException:
            gc.enable()
            raise
        self.post_message(RunsLoaded(rows, mtime))

    def _read_all(self) -> dict[str, RunRow]:
        rows = {s["run_id"]: RunRow(s) for s in self.store.list()}
        active = [r.run_id for r in rows.values() if r.active]
        for update in self.live.poll(active):
            rows[update.run_id].apply(status=update.status, losses=update.losses)
        for row in list(rows.values())[:FIRST_CHUNK]:
            row.cells()  # the first screenfuls (newest first), built off the UI thread
        for row in rows.values():
            _ = row.haystack  # what the filter searches, also built here
        return rows

    def tick(self) -> None:
        """Every second: hand the poller what to look at (cheap, on the UI thread)."""
        if self._polling or not self.loaded:
            return
        self._polling = True
        mtime = index_mtime(self.store.runs_dir)
        known = None
        if mtime != self._index_mtime:  # someone wrote the index: compare it with ours
            self._index_mtime = mtime
            known = dict(self.rows)
        wanted = [k for k in self.table.visible_keys()
                  if k in self.rows and k not in self.active and k not in self._seen_history]
        self._seen_history.update(wanted)
        self.poll(known, list(self.active), wanted)

    @work(thread=True, group="runs.poll", name="Refreshing runs", exit_on_error=False,
          description="poll the run folders")
    def poll(self, known: dict[str, RunRow] | None, active: list[str], wanted: list[str]) -> None:
        try:
            if known is not None:
                self._reload(known)
            updates = self.live.poll(active) + self.live.history(wanted)
            finished = [u.run_id for u in updates if u.state and u.state not in ACTIVE]
            summaries = {}
            for run_id in finished:
                try:
                    summaries[run_id] = self.store.get(run_id)
                except ComptError:
                    pass  # removed meanwhile; the next index read drops it
            if updates or summaries:
                self.post_message(RunsChanged(updates, summaries))
        finally:
            self._polling = False

    def _reload(self, known: dict[str, RunRow]) -> None:
        """The index changed: rebuild if runs came or went, else update summaries in place."""
        fresh = {s["run_id"]: s for s in self.store.list()}
        if fresh.keys() != known.keys():
            self.post_message(RunsLoaded(self._read_all(), self._index_mtime))
            return
        changed = {rid: s for rid, s in fresh.items() if s != known[rid].summary}
        if changed:
            self.post_message(RunsChanged([], changed))

    # -- applying what the workers found (UI thread) ----------------------------------

    def on_runs_loaded(self, message: RunsLoaded) -> None:
        for run_id, row in message.rows.items():
            old = self.rows.get(run_id)
            if old is not None:  # keep what the old row had learnt (marks, live files)
                row.apply(marked=old.marked, losses=row.losses or old.losses,
                          status=old.status if row.active and not row.status else None)
        self.rows = message.rows
        self.active = {r.run_id for r in self.rows.values() if r.active}
        self.marked = {r.run_id for r in self.rows.values() if r.marked}
        self._index_mtime = message.index_mtime
        self.loaded = True
        self.table.fit_run_column(max(map(len, self.rows), default=0))
        self.table.fit_job_column(any(r.summary.get("job_id") for r in self.rows.values()))
        self.rebuild()

    def on_runs_changed(self, message: RunsChanged) -> None:
        terms = parse_query(self.view.query)
        passed = {}  # run id -> did it pass the filter before this change
        for run_id, summary in message.summaries.items():
            row = self.rows.get(run_id)
            if row is not None:
                passed[run_id] = matches(row.summary, terms)
                row.apply(summary=summary)
        for update in message.updates:
            row = self.rows.get(update.run_id)
            if row is not None:
                passed.setdefault(update.run_id, matches(row.summary, terms))
                before = row.summary
                row.apply(status=update.status, losses=update.losses)
                if row.summary is not before:  # a new state: the hint may read it
                    self._hint = None
        if message.summaries:
            self._hint = None
        for run_id in passed:
            if self.rows[run_id].active:
                self.active.add(run_id)
            else:
                self.active.discard(run_id)
        if any(matches(self.rows[r].summary, terms) != was for r, was in passed.items()):
            self.rebuild()  # a run entered or left the filtered view
            return
        self.table.update_rows((run_id, self.rows[run_id].cells()) for run_id in passed)
        self.update_info()

    def rebuild(self) -> None:
        """Filter, sort and group the rows into the table (a full rebuild)."""
        items = self.view.arrange(self.rows.values())
        self._hint = None
        self.groups = {i.key: i for i in items if isinstance(i, Group)}
        self.shown = [i for i in items if isinstance(i, RunRow)]
        self.table.show(items)
        self.table.mark_sort(self.view.sort, self.view.descending)
        self.update_info()

    def update_info(self) -> None:
        running = sum(self.rows[r].state == "running" for r in self.active)
        arrow = "↓" if self.view.descending else "↑"
        parts = [f"{len(self.shown)}/{len(self.rows)} runs", f"{running} running"]
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        parts += [f"sort {self.view.sort} {arrow}", f"group {self.view.group_by}"]
        if self._hint is None:  # kept between ticks: it reads a sample of 200 summaries
            self._hint = self.hint()
        hint = self._hint
        if hint:
            parts = [hint, *parts[:1]]
        info = self.query_one("#runs-info", Static)
        info.update(Text(" · ".join(parts)))  # the query is the user's text: never markup
        info.set_class(bool(hint), "hint")

    def hint(self) -> str:
        """What to do when the table shows nothing (or the filter has a typo)."""
        if self.loaded and not self.rows:
            return "No runs yet: press n to launch one (or run `compt run`)"
        unknown = unknown_keys(parse_query(self.view.query), (r.summary for r in
                                                              self.rows.values()))
        if unknown:
            return (f"No run has the filter key {', '.join(unknown)} (F1 lists the keys; "
                    "e.g. status:, method:, k:, task:, tag:)")
        if self.rows and not self.shown and self.view.query:
            return f"No run matches '{self.view.query}' (Esc, then / to change it)"
        return ""

    # -- filter -----------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY_S, lambda: self.set_query(event.value))

    def set_query(self, text: str) -> None:
        if text != self.view.query:
            self.view.query = text
            self.rebuild()

    def action_submit_filter(self) -> None:
        self.set_query(self.filter_input.value)
        self.set_focus(self.table)  # synchronously: the next key is the table's

    def action_focus_filter(self) -> None:
        self.set_focus(self.filter_input)

    def action_leave_filter(self) -> None:
        self.set_focus(self.table)

    def show_filter(self, text: str) -> None:
        """Set the filter box (and the view) to ``text`` (from the palette or a test)."""
        self.query_one("#filter", Input).value = text
        self.set_query(text)

    # -- sort, group, marks ---------------------------------------------------------------

    def action_sort(self) -> None:
        names = list(SORTS)
        self.view.sort = names[(names.index(self.view.sort) + 1) % len(names)]
        self.view.descending = self.view.sort in DESCENDING_FIRST
        self.rebuild()

    def action_reverse(self) -> None:
        self.view.descending = not self.view.descending
        self.rebuild()

    def sort_by(self, name: str) -> None:
        self.view.sort = name
        self.view.descending = name in DESCENDING_FIRST
        self.rebuild()

    def action_fold(self) -> None:
        """Close or open the group header under the cursor (the cursor stays on it)."""
        key = self.table.current_key
        if key in self.groups:
            self.view.folded ^= {key}
            self.rebuild()

    def action_group(self) -> None:
        self.group_by(GROUPS[(GROUPS.index(self.view.group_by) + 1) % len(GROUPS)])

    def group_by(self, name: str) -> None:
        self.view.group_by = name
        self.rebuild()

    def action_mark(self) -> None:
        self._set_marks([(row, not row.marked) for row in self._cursor_rows()])
        self.table.action_cursor_down()
        self.update_info()

    def action_mark_all(self) -> None:
        shown = {r.run_id for r in self.shown}
        mark = not shown <= self.marked
        self._set_marks([(self.rows[r], mark and r in shown) for r in self.marked | shown])
        self.update_info()

    def _set_marks(self, marks: list[tuple[RunRow, bool]]) -> None:
        """Mark or unmark rows; the table repaints the changed ones in one go."""
        changed = []
        for row, marked in marks:
            if row.marked != marked:
                row.apply(marked=marked)
                (self.marked.add if marked else self.marked.discard)(row.run_id)
                changed.append((row.run_id, row.cells()))
        self.table.update_rows(changed)

    # -- what an action applies to ----------------------------------------------------

    def _cursor_rows(self) -> list[RunRow]:
        key = self.table.current_key
        if key in self.groups:
            return list(self.groups[key].rows)
        return [self.rows[key]] if key in self.rows else []

    def selection(self) -> list[RunRow]:
        """Marked runs, else the run (or group) under the cursor."""
        marked = [r for r in self.rows.values() if r.run_id in self.marked]
        return marked or self._cursor_rows()

    # -- opening other screens --------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key in self.rows:
            self.app.open_run(key)
        else:
            self.action_compare(cursor_only=True)

    def action_launch(self) -> None:
        self.app.open_launch()

    def action_compare(self, cursor_only: bool = False) -> None:
        rows = self._cursor_rows() if cursor_only else self.selection()
        if not rows:
            self.notify("No runs to compare: mark some with space.", severity="warning")
            return
        self.app.open_compare([r.run_id for r in rows])

    def action_copy_ids(self) -> None:
        ids = [r.run_id for r in self.selection()]
        if ids:
            self.app.copy_to_clipboard("\n".join(ids))
            self.notify(f"Copied {len(ids)} run id(s).")

    def action_reload(self) -> None:
        self.load()

    # -- stop, retry, delete (confirmed, then done in a worker) ------------------------

    def action_stop(self) -> None:
        self.request("stop", [r.run_id for r in self.selection()])

    def action_retry(self) -> None:
        self.request("retry", [r.run_id for r in self.selection()])

    def action_delete(self) -> None:
        self.request("delete", [r.run_id for r in self.selection()])

    def request(self, what: str, run_ids: list[str]) -> None:
        """Check what ``what`` (stop / retry / delete) can apply to, confirm, then do it."""
        rows = [self.rows[r] for r in run_ids if r in self.rows]
        if what == "stop":
            rows = [r for r in rows if r.active]
            why = "no queued or running run selected"
            question = "A running training saves a checkpoint and can be retried later."
        elif what == "retry":
            rows = [r for r in rows if r.state in RETRYABLE]
            why = "select a failed, interrupted or stopped run"
            question = "Each resumes from its checkpoint if it has one."
        else:
            active = [r for r in rows if r.active]
            if active:
                self.notify(f"Stop {_count(active)} first: a live run cannot be deleted.",
                            severity="warning")
                return
            why = "no run selected"
            question = f"The folders move to {self.store.runs_dir / '.trash'}."
        if not rows:
            self.notify(f"Nothing to {what}: {why}.", severity="warning")
            return
        ids = [r.run_id for r in rows]

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(what, ids)

        self.app.push_screen(
            ConfirmModal(f"{what.capitalize()} {_count(rows)}? {question}", what.capitalize()),
            answered)

    @work(thread=True, group="runs.act", name="Run action", exit_on_error=False,
          description="stop, retry or delete runs")
    def act(self, what: str, run_ids: list[str]) -> None:
        from compt import launcher  # the launcher is only needed once an action is taken

        runs_dir = self.store.runs_dir
        errors = []
        for run_id in run_ids:
            try:
                if what == "stop":
                    launcher.stop(run_id, runs_dir)
                elif what == "retry":
                    launcher.retry(run_id, runs_dir)
                else:
                    self.store.remove(run_id)
                    self.live.forget(run_id)
            except ComptError as exc:
                errors.append(str(exc))
        self.app.call_from_thread(self._acted, what, len(run_ids) - len(errors))
        if errors:
            raise ComptError("\n".join(errors))

    def _acted(self, what: str, count: int) -> None:
        if count:
            self.notify(f"{what}: {count} run(s).")
        self.load()


def _count(rows: list[RunRow]) -> str:
    return rows[0].run_id if len(rows) == 1 else f"{len(rows)} runs"

