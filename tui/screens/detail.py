"""One run: overview (status, scores, config), live log tail, loss chart, per-prompt heatmap,
router weights and prediction tables.

A timer asks a worker thread what the run folder gained (status by mtime, log and
metrics by byte offset) and the screen appends just that, so a run that logs for hours
costs the same per tick as a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Group as RichGroup
from rich.table import Table as RichTable
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from compt import export
from compt.config import RunConfig
from compt.errors import ComptError
from compt.files import read_json
from compt.heatmap import Matrix, per_prompt_matrix, prediction_matrices, router_matrices
from compt.names import check_note, check_tag
from compt.phases import TRAINING, phase_text
from compt.runfolder import STATUS_STYLE, RunFolder, RunStatus
from compt.store import ACTIVE, RunStore, job_line, live_state
from tui.messages import RunFollowed
from tui.rows import format_eta, format_score
from tui.screens.base import ComptScreen
from tui.screens.modals import ExportModal, TextModal
from tui.screens.runs import RETRYABLE
from tui.tails import JsonlTail, LineTail
from tui.widgets.grid_view import GridView
from tui.widgets.log_view import LogView
from tui.widgets.loss_chart import LossChart

FOLLOW_S = 0.5
LOG_BACKLOG = 64 * 1024  # bytes of an existing log shown when the screen opens
LOG_LINES = 5000
TABS = ("overview", "log", "loss", "heatmap", "router", "predictions")
ANALYSES = ("heatmap", "router", "predictions")
DAMAGED = object()  # read_json's answer for a results.json that is not JSON


def results_problem(results: Any) -> str | None:
    """Why results.json cannot be shown (not JSON, wrong-typed scores), or None if it can."""
    if results is DAMAGED or not isinstance(results, dict):
        return "results.json is unreadable (not a JSON object)"
    scores, average = results.get("scores"), results.get("average")
    if not isinstance(scores, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values()):
        return "results.json is damaged (scores are not numbers by task)"
    if average is not None and (not isinstance(average, int | float)
                                or isinstance(average, bool)):
        return "results.json is damaged (the average is not a number)"
    return None
ALWAYS_SHOWN = ("model", "tasks", "method", "k", "seed")


def split_tags(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (what the tags dialog takes)."""
    return [t.strip() for t in text.split(",") if t.strip()]


class RunDetailScreen(ComptScreen):
    """Everything about one run, live while it trains."""

    BINDINGS = [
        Binding("escape,q", "back", "Back", id="detail.back"),
        *(Binding(str(i), f"tab('{name}')", name.capitalize(), show=False, id=f"detail.{name}")
          for i, name in enumerate(TABS, 1)),
        Binding("slash", "find", "Filter log", id="detail.find"),
        Binding("t", "edit_tags", "Tags", id="detail.tags"),
        Binding("n", "edit_note", "Note", id="detail.note"),
        Binding("e", "export", "Export", id="detail.export"),
        Binding("y", "copy", "Copy", id="detail.copy"),
        Binding("x", "stop", "Stop", id="detail.stop"),
        Binding("r", "retry", "Retry", show=False, id="detail.retry"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.summary: dict[str, Any] = {}  # the index summary
        self.live: dict[str, Any] = {}  # status.json (state corrected for a dead process)
        self.results: dict[str, Any] | None = None
        self.config: dict[str, Any] = {}
        self.views: dict[str, Any] = {}  # tab -> the report object it shows (for export)
        self.results_problem: str | None = None  # why a finished run's results cannot be read
        self._following = False

    def compose(self) -> ComposeResult:
        yield Static(Text(self.run_id), classes="screen-info", id="detail-info")
        with TabbedContent(initial="overview"):
            for i, name in enumerate(TABS, 1):
                with TabPane(f"{i} {name.capitalize()}", id=name):
                    if name == "log":
                        yield LogView(max_lines=LOG_LINES, id="run-log")
                    elif name == "loss":
                        yield LossChart(id="loss-chart")
                    elif name in ANALYSES:
                        with GridView(id=f"{name}-view", classes="view-scroll"):
                            yield Static("loading…")
                    else:
                        with VerticalScroll(classes="view-scroll"):
                            yield Static("loading…", id=f"{name}-view")
        yield Footer()

    def on_mount(self) -> None:
        folder = RunFolder(self.app.store.runs_dir / self.run_id)
        self._paths = folder
        self._log = LineTail(folder.log_path, backlog=LOG_BACKLOG)
        self._metrics = JsonlTail(folder.metrics_path)
        self._status_mtime: int | None = None
        self._status: RunStatus = {}
        self._state: str | None = None
        self._job: str | None = None  # a Slurm job and its state
        self._has_results = False
        self._following = True
        self.follow(first=True)
        self.set_interval(FOLLOW_S, self.tick)

    def tick(self) -> None:
        if not self._following:
            self._following = True
            self.follow()

    # -- reading the folder (worker thread) -------------------------------------------

    @work(thread=True, group="detail.follow", name="Following the run", exit_on_error=False)
    def follow(self, first: bool = False) -> None:
        try:
            folder = self._paths
            summary = self.app.store.get(self.run_id) if first else None
            live = self._read_live(folder)
            if live is not None and live["status"] not in ACTIVE and not first:
                summary = self.app.store.get(self.run_id)  # finished: the index has its scores
            results, problem = None, None
            if not self._has_results and folder.results_path.is_file():
                results = read_json(folder.results_path, DAMAGED)
                problem = results_problem(results)
                results = None if problem else results
            elif not self._has_results and self._state == "done":
                problem = "results.json is missing"
            self._has_results = self._has_results or results is not None or problem is not None
            config = dict(folder.read_config()) if first else None
            log_lines, rows = self._log.read(), self._metrics.rows()
            if first or live or results or problem or log_lines or rows:
                self.post_message(RunFollowed(summary, live, log_lines, rows, results, config,
                                              problem))
        finally:
            self._following = False

    def _read_live(self, folder: RunFolder) -> dict[str, Any] | None:
        """status.json when it changed (by mtime) or when its process died; else None."""
        try:
            mtime = folder.status_path.stat().st_mtime_ns
        except OSError:
            mtime = None
        changed = mtime != self._status_mtime
        if changed:
            self._status_mtime = mtime
            self._status = folder.read_status()
        state = self._status.get("status") or "queued"
        launch = folder.read_launch() if state in ACTIVE or changed else None
        if state in ACTIVE:
            state = live_state(self._status, launch or {})[0]
        job = self._job if launch is None else job_line(self._status, launch or {})
        if not changed and state == self._state and job == self._job:
            return None
        self._state, self._job = state, job
        return {**self._status, "status": state, "job": job}

    # -- showing it (UI thread) -------------------------------------------------------

    def on_run_followed(self, message: RunFollowed) -> None:
        if message.config is not None:
            self.config = message.config
        if message.summary is not None:
            self.summary = message.summary
        if message.live is not None:
            self.live = message.live
        if message.log_lines:
            self.query_one("#run-log", LogView).write_lines(message.log_lines)
        if message.metrics_rows:
            self.query_one(LossChart).add_rows(message.metrics_rows)
        if message.results_problem is not None:
            self.results_problem = message.results_problem
            for tab in ANALYSES:
                self.query_one(f"#{tab}-view", GridView).show_text(
                    f"⚠ {self.results_problem}: nothing to show.", style="bold")
        elif message.results is not None:
            self.results, self.results_problem = message.results, None
            self.show_analyses()
        elif message.config is not None:
            for tab in ANALYSES:
                self.query_one(f"#{tab}-view", GridView).show_text(
                    "No results yet: the analyses appear here when the run finishes.")
        if message.summary is not None or message.live is not None:
            self.show_overview()

    @property
    def state(self) -> str:
        return str(self.live.get("status") or self.summary.get("status") or "queued")

    def show_overview(self) -> None:
        live, state = self.live, self.state
        parts = [self.run_id, state]
        step, total = live.get("step"), live.get("total") or self.summary.get("total")
        if state == "running" and live.get("phase") not in (None, TRAINING):
            parts.append(phase_text(live))  # loading / evaluating 120/400 / ... analysis 2/5
        elif total:
            parts.append(f"step {step or 0}/{total}")
        if isinstance(live.get("loss"), int | float):
            parts.append(f"loss {live['loss']:.4f}")
        if state == "running" and live.get("eta_s") is not None:
            parts.append(f"eta {format_eta(live.get('eta_s'))}")
        if self.summary.get("average") is not None:
            parts.append(f"avg {format_score(self.summary.get('average'))}")
        if self.results_problem:
            parts.append(f"⚠ {self.results_problem}")
        self.query_one("#detail-info", Static).update(Text(" · ".join(parts)))
        scores = self.scores_matrix()
        if scores is not None:
            self.views["overview"] = scores
        blocks: list[Any] = [self.facts_table(state, live)]
        if scores is not None:
            blocks += [Text(""), export.rich_view(scores)]
        blocks += [Text(""), self.config_table()]
        self.query_one("#overview-view", Static).update(RichGroup(*blocks))
        self.refresh_bindings()  # x / r follow the state

    def facts_table(self, state: str, live: dict[str, Any]) -> RichTable:
        s = self.summary
        grid = RichTable.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        facts = [
            ("status", Text(state, style=STATUS_STYLE.get(state, ""))),
            ("created", s.get("created")), ("group", s.get("group")),
            ("tags", ", ".join(s.get("tags") or [])), ("note", s.get("note")),
            ("throughput", f"{live['throughput']:.1f} examples/s"
             if isinstance(live.get("throughput"), int | float) else None),
            ("started", live.get("started")), ("finished", live.get("finished")),
            ("duration", f"{s['duration_s']:.0f} s" if s.get("duration_s") else None),
            ("process", f"pid {s.get('pid')} on {s.get('host')}"
             if s.get("pid") and state in ACTIVE else None),
            ("job", live.get("job")),
            ("folder", str(self._paths.path)),
            ("error", Text(str(live.get("error")), style="bold") if live.get("error") else None),
            ("results", Text(f"⚠ {self.results_problem}", style="bold")
             if self.results_problem else None),
        ]
        for name, value in facts:
            if value:  # user strings (group, tags, note) as Text: never read as markup
                grid.add_row(name, value if isinstance(value, Text) else Text(str(value)))
        return grid

    def config_table(self) -> RichTable:
        config = self.config.get("config") or {}
        defaults = RunConfig().to_dict()
        table = RichTable("config key", "value", box=None, header_style="bold",
                          title="config (keys changed from the defaults)", title_justify="left")
        for key, value in config.items():
            if key in ALWAYS_SHOWN or defaults.get(key, object()) != value:
                table.add_row(Text(key), Text(str(value)))
        for key, value in (self.config.get("resolved") or {}).items():
            table.add_row(Text(f"{key} (resolved)", style="dim"), Text(str(value), style="dim"))
        return table

    def scores_matrix(self) -> Matrix | None:
        """Per task: the primary score and every metric (what the overview exports)."""
        results = self.results or {}
        scores = results.get("scores") or {}
        if not scores:
            return None
        metrics = results.get("metrics") or {}
        names = list(dict.fromkeys(m for t in scores for m in metrics.get(t, {})))
        rows = [[scores[t], *[metrics.get(t, {}).get(m) for m in names]] for t in scores]
        rows.append([results.get("average"), *[None] * len(names)])
        return Matrix(f"{self.run_id} scores", "task", [*scores, "average"], ["score", *names],
                      rows, footer=1, coloured=False)

    def show_analyses(self) -> None:
        results = [self.results or {}]
        builders = {
            "heatmap": lambda: per_prompt_matrix(results, title=f"{self.run_id} per-prompt scores"),
            "router": lambda: router_matrices(results, title=self.run_id),
            "predictions": lambda: prediction_matrices(results[0], title=self.run_id),
        }
        for tab, build in builders.items():
            widget = self.query_one(f"#{tab}-view", GridView)
            try:
                view = build()
            except ComptError as exc:
                self.views.pop(tab, None)
                widget.show_text(str(exc))
                continue
            self.views[tab] = view
            widget.show(view)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # (ComptScreen's handler runs too: Textual calls each class's handler in the MRO)
        if event.state == WorkerState.ERROR and not self.config and self.is_current:
            self.app.pop_screen()  # the run could not even be opened: nothing to show

    # -- actions ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "find":  # offered on the log tab
            return self.query_one(TabbedContent).active == "log"
        if action == "stop":  # offered while the run is live, retry once it ended badly
            return self.state in ACTIVE
        if action == "retry":
            return self.state in RETRYABLE
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name

    def on_tabbed_content_tab_activated(self) -> None:
        self.refresh_bindings()  # the log filter is offered on the log tab only

    def action_find(self) -> None:
        self.query_one("#run-log", LogView).open_filter()

    def _current_view(self) -> Any | None:
        tab = self.query_one(TabbedContent).active
        view = self.views.get(tab)
        if view is None:
            self.notify(f"Nothing to export on the {tab} tab (scores, heatmap, router and "
                        "predictions export).", severity="warning")
        return view

    def action_export(self) -> None:
        view = self._current_view()
        if view is None:
            return
        tab = self.query_one(TabbedContent).active

        def save(choice: tuple[str, Path] | None) -> None:
            if choice is not None:
                self.app.export_view(view, *choice)

        self.app.push_screen(ExportModal(f"{self.run_id}-{tab}"), save)

    def action_copy(self) -> None:
        view = self._current_view()
        if view is not None:
            self.app.copy_view(view)

    def action_edit_tags(self) -> None:
        old = list(self.summary.get("tags") or [])

        def save(text: str | None) -> None:
            if text is not None:
                new = split_tags(text)
                self.save_meta(lambda store: store.set_tags(
                    self.run_id, add=new, remove=[t for t in old if t not in new]))

        self.app.push_screen(TextModal(f"Tags of {self.run_id}", ", ".join(old),
                                       "Comma-separated; remove a tag by deleting it.",
                                       lambda text: [check_tag(t) for t in split_tags(text)]),
                             save)

    def action_edit_note(self) -> None:
        def save(text: str | None) -> None:
            if text is not None:
                self.save_meta(lambda store: store.set_note(self.run_id, text))

        self.app.push_screen(TextModal(f"Note on {self.run_id}", self.summary.get("note") or "",
                                       "Free text; empty clears the note.", check_note), save)

    @work(thread=True, group="detail.meta", name="Saving tags / note", exit_on_error=False)
    def save_meta(self, change: Callable[[RunStore], object]) -> None:
        """Write through the store (its lock, meta.json, the index), then show the result."""
        store = self.app.store
        change(store)
        self.post_message(RunFollowed(store.get(self.run_id), None, [], [], None, None))

    def action_stop(self) -> None:
        self.app.runs_screen.request("stop", [self.run_id])

    def action_retry(self) -> None:
        self.app.runs_screen.request("retry", [self.run_id])
