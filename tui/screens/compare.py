"""Compare runs or groups: the paper table (mean ± std over seeds), seeds side by side,
the config diff, per-prompt heatmaps with router weights (export or copy any of these),
the runs' curves over steps and a sweep's score against one config key.

The numbers come from compt.report / compt.heatmap and the text from compt.export, so
what is exported here is exactly what ``compt table`` / ``compt heatmap`` would write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static, TabbedContent, TabPane

from compt import methods
from compt.errors import ComptError
from compt.heatmap import per_prompt_matrix, router_matrices, seeds_matrix, seeds_with_references
from compt.references import cached_references, config_reader
from compt.report import add_references, build_table, label_text, labelled_groups, run_order
from compt.runfolder import RunFolder
from compt.store import ACTIVE, Summary
from tui.diff import config_diff
from tui.grid import short_names
from tui.messages import CompareBuilt, CurvesGrew, SweepRead
from tui.screens.base import ComptScreen
from tui.screens.modals import ExportModal
from tui.sweep_axis import score_names, sweep_axis, swept_keys
from tui.tails import JsonlTail
from tui.widgets.grid_view import GridView
from tui.widgets.plots import CurvesChart, SweepChart

VIEWS = ("table", "seeds", "diff", "heatmap")
PLOTS = ("curves", "sweep")
PLOT_KEYS = {"next_metric": "curves", "next_smoothing": "curves",
             "next_key": "sweep", "next_score": "sweep"}  # action -> the tab it acts on
FOLLOW_S = 1.0  # how often live runs' metrics are read for their curves


class CompareScreen(ComptScreen):
    """The selected runs, aggregated the way a paper reports them."""

    BINDINGS = [
        Binding("escape,q", "back", "Back", id="compare.back"),
        *(Binding(str(i), f"view('{name}')", name.capitalize(), show=False,
                  id=f"compare.{name}") for i, name in enumerate((*VIEWS, *PLOTS), 1)),
        Binding("v", "toggle_value", "Last/best", id="compare.value"),
        Binding("m", "next_metric", "Loss/eval", id="compare.metric"),
        Binding("o", "next_smoothing", "Smoothing", id="compare.smoothing"),
        Binding("k", "next_key", "Next key", id="compare.key"),
        Binding("t", "next_score", "Next score", id="compare.score"),
        Binding("e", "export", "Export", id="compare.export"),
        Binding("y", "copy", "Copy", id="compare.copy"),
    ]

    def __init__(self, run_ids: list[str],
                 summaries: dict[str, Summary] | None = None) -> None:
        super().__init__()
        self.run_ids = list(dict.fromkeys(run_ids))
        self.known = summaries or {}  # the runs screen's summaries: no index read needed
        self.built: tuple[dict[str, Any], dict[str, str]] | None = None  # (views, problems)
        self.filled: set[str] = set()  # views whose blocks are in
        self.value = "last"
        self.views: dict[str, Any] = {}
        self.sweep: tuple[Sequence[Mapping[str, Any]], dict[str, dict[str, Any]]] = ([], {})
        self.sweep_key, self.sweep_score = 0, 0  # indexes into the swept keys and scores
        self._tails: dict[str, JsonlTail] = {}  # run id -> its metrics.jsonl, live runs only
        self._following = False

    def compose(self) -> ComposeResult:
        yield Static(self.describe(), classes="screen-info", id="compare-info")
        with TabbedContent(initial="table"):
            for i, name in enumerate(VIEWS, 1):
                with TabPane(f"{i} {name.capitalize()}", id=name):
                    with GridView(id=f"{name}-view", classes="view-scroll"):
                        yield Static("building…")
            with TabPane(f"{len(VIEWS) + 1} Curves", id="curves"):
                yield CurvesChart(id="curves-view")
            with TabPane(f"{len(VIEWS) + 2} Sweep", id="sweep"):
                yield Static("building…", id="sweep-message", classes="plot-message")
                yield SweepChart(id="sweep-view")
        yield Footer()

    def describe(self) -> str:
        return f"compare {len(self.run_ids)} run(s) · value: {self.value} (v toggles)"

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#table-view", GridView))
        self.build()
        self.set_interval(FOLLOW_S, self.tick)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """The arrows scroll the view on show (← → step through its columns)."""
        if event.pane.id in VIEWS:
            self.set_focus(self.query_one(f"#{event.pane.id}-view", GridView))
            self.fill(event.pane.id)
        self.refresh_bindings()  # the plot keys are offered on their tab only

    def fill(self, name: str) -> None:
        """Put the view's blocks in when its tab is first shown (100 runs: one diff, not four
        views, is laid out before the first frame)."""
        if self.built is None or name in self.filled:
            return
        self.filled.add(name)
        widget = self.query_one(f"#{name}-view", GridView)
        views, problems = self.built
        if name in views:
            widget.show(views[name])
        else:
            widget.show_text(problems.get(name, ""), style="bold")

    @work(thread=True, exclusive=True, group="compare.build", name="Building the comparison",
          exit_on_error=False)
    def build(self) -> None:
        store = self.app.store
        wanted = set(self.run_ids)
        if wanted <= self.known.keys():
            summaries = run_order(self.known[r] for r in self.run_ids)
        else:  # one index read
            summaries = run_order(s for s in store.list() if s["run_id"] in wanted)
        if not summaries:
            raise ComptError("None of the selected runs is in the store any more.")
        records = {s["run_id"]: RunFolder(store.runs_dir / s["run_id"]).read_config()
                   for s in summaries}
        configs = {rid: r.get("config") or {} for rid, r in records.items()}
        # configurations in the Table's order (pt first, numbers numerically), for every view
        groups = [c.runs for c in labelled_groups(summaries,
                                                  config_of=lambda s: configs[s["run_id"]])]
        views: dict[str, Any] = {}
        problems: dict[str, str] = {}

        def attempt(name: str, make) -> None:
            try:
                views[name] = make()
            except ComptError as exc:
                problems[name] = str(exc)

        refs = cached_references(summaries, config_reader(lambda s: configs[s["run_id"]]))
        attempt("table", lambda: add_references(build_table(
            summaries, value=self.value, config_of=lambda s: configs[s["run_id"]]), refs))
        attempt("seeds", lambda: [seeds_with_references(
            seeds_matrix(g, self.value, title=_label(g[0])), refs) for g in groups])
        if len(summaries) > 1:
            views["diff"] = config_diff(configs, {s["run_id"]: s for s in summaries})
        else:
            problems["diff"] = "Select two or more runs (space on the runs screen) to diff."
        attempt("heatmap", lambda: self._heatmaps(groups, store.runs_dir))
        self.post_message(CompareBuilt(views, problems))
        self.post_message(SweepRead(summaries, configs))
        tails = {s["run_id"]: JsonlTail(RunFolder(store.runs_dir / s["run_id"]).metrics_path)
                 for s in summaries}
        self.post_message(CurvesGrew({run_id: tail.rows() for run_id, tail in tails.items()}))
        self._tails = {s["run_id"]: tails[s["run_id"]] for s in summaries
                       if s.get("status") in ACTIVE}

    def tick(self) -> None:
        if self._tails and not self._following:
            self._following = True
            self.follow()

    @work(thread=True, group="compare.follow", name="Following the runs' curves",
          exit_on_error=False)
    def follow(self) -> None:
        """Read what the live runs' metrics files gained (each from its last offset)."""
        try:
            rows = {run_id: tail.rows() for run_id, tail in list(self._tails.items())}
            if any(rows.values()):
                self.post_message(CurvesGrew(rows))
        finally:
            self._following = False

    @staticmethod
    def _heatmaps(groups: Sequence[Sequence[Mapping[str, Any]]], runs_dir: Path) -> list:
        """Per configuration: per-prompt scores and router weights, averaged over seeds."""
        matrices, reasons = [], []
        for group in groups:
            results = [dict(RunFolder(runs_dir / s["run_id"]).read_results() or {}) for s in group]
            for make in (per_prompt_matrix, lambda r, title: router_matrices(r, title)[0]):
                try:
                    matrices.append(make(results, title=_label(group[0])))
                except ComptError as exc:
                    reasons.append(str(exc))
        if not matrices:
            raise ComptError(reasons[0] if reasons else "No results to draw.")
        return matrices

    def on_compare_built(self, message: CompareBuilt) -> None:
        self.views = message.views
        self.built, self.filled = (message.views, message.problems), set()
        self.fill(self.query_one(TabbedContent).active)
        self.query_one("#compare-info", Static).update(self.describe())

    def on_sweep_read(self, message: SweepRead) -> None:
        self.sweep = (message.summaries, message.configs)
        names, _ = short_names([s["run_id"] for s in message.summaries])
        self.query_one(CurvesChart).set_runs(
            {s["run_id"]: name for s, name in zip(message.summaries, names, strict=True)})
        self.show_sweep()

    def on_curves_grew(self, message: CurvesGrew) -> None:
        self.query_one(CurvesChart).add_rows(message.rows)

    def show_sweep(self) -> None:
        """The sweep plot for the current key and score, or why there is none."""
        summaries, configs = self.sweep
        chart, message = self.query_one(SweepChart), self.query_one("#sweep-message", Static)
        keys = swept_keys([configs[s["run_id"]] for s in summaries])
        scores = score_names(summaries)
        try:
            if not keys:
                raise ComptError("No numeric config key varies across these runs (seeds are "
                                 "averaged over): nothing to plot a sweep against.")
            chart.show(sweep_axis(summaries, configs, keys[self.sweep_key % len(keys)],
                                  scores[self.sweep_score % len(scores)]))
        except ComptError as exc:
            message.update(Text(str(exc)))
            message.display, chart.display = True, False
            return
        message.display, chart.display = False, True

    # -- actions ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PLOT_KEYS:
            return self.query_one(TabbedContent).active == PLOT_KEYS[action]
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_next_metric(self) -> None:
        self.query_one(CurvesChart).next_metric()

    def action_next_smoothing(self) -> None:
        self.query_one(CurvesChart).next_smoothing()

    def action_next_key(self) -> None:
        self.sweep_key += 1
        self.show_sweep()

    def action_next_score(self) -> None:
        self.sweep_score += 1
        self.show_sweep()

    def action_view(self, name: str) -> None:
        self.query_one(TabbedContent).active = name

    def action_toggle_value(self) -> None:
        self.value = "best" if self.value == "last" else "last"
        self.query_one("#compare-info", Static).update(self.describe())
        self.build()

    def _current(self) -> tuple[str, Any | None]:
        name = self.query_one(TabbedContent).active
        view = self.views.get(name)
        if view is None:
            self.notify(f"The {name} view has nothing to export.", severity="warning")
        return name, view

    def action_export(self) -> None:
        name, view = self._current()
        if view is None:
            return

        def save(choice: tuple[str, Path] | None) -> None:
            if choice is not None:
                self.app.export_view(view, *choice)

        self.app.push_screen(ExportModal(f"compare-{name}"), save)

    def action_copy(self) -> None:
        _, view = self._current()
        if view is not None:
            self.app.copy_view(view)


def _label(summary: Mapping[str, Any]) -> str:
    parts = [label_text(summary.get("method")), f"k={label_text(summary.get('k'))}"]
    method = methods.lookup(summary.get("method"))
    if method is None or method.has_sources:
        parts.append(f"sources={label_text(summary.get('n_sources'))}")
    return " ".join(parts)
