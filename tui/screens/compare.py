"""Compare runs or groups: the paper table (mean ± std over seeds), seeds side by side,
the config diff, and per-prompt heatmaps with router weights; export or copy any view.

The numbers come from compt.report / compt.heatmap and the text from compt.export, so
what is exported here is exactly what ``compt table`` / ``compt heatmap`` would write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static, TabbedContent, TabPane

from compt import methods
from compt.errors import ComptError
from compt.heatmap import per_prompt_matrix, router_matrices, seeds_matrix, seeds_with_references
from compt.references import cached_references, config_reader
from compt.report import add_references, build_table, group_by_config, label_text, run_order
from compt.runfolder import RunFolder
from compt.store import Summary
from tui.diff import config_diff
from tui.messages import CompareBuilt
from tui.screens.base import ComptScreen
from tui.screens.modals import ExportModal
from tui.widgets.grid_view import GridView

VIEWS = ("table", "seeds", "diff", "heatmap")


class CompareScreen(ComptScreen):
    """The selected runs, aggregated the way a paper reports them."""

    BINDINGS = [
        Binding("escape,q", "back", "Back", id="compare.back"),
        *(Binding(str(i), f"view('{name}')", name.capitalize(), show=False,
                  id=f"compare.{name}") for i, name in enumerate(VIEWS, 1)),
        Binding("v", "toggle_value", "Last/best", id="compare.value"),
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

    def compose(self) -> ComposeResult:
        yield Static(self.describe(), classes="screen-info", id="compare-info")
        with TabbedContent(initial="table"):
            for i, name in enumerate(VIEWS, 1):
                with TabPane(f"{i} {name.capitalize()}", id=name):
                    with GridView(id=f"{name}-view", classes="view-scroll"):
                        yield Static("building…")
        yield Footer()

    def describe(self) -> str:
        return f"compare {len(self.run_ids)} run(s) · value: {self.value} (v toggles)"

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#table-view", GridView))
        self.build()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """The arrows scroll the view on show (← → step through its columns)."""
        self.set_focus(self.query_one(f"#{event.pane.id}-view", GridView))
        self.fill(event.pane.id or "")

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
        groups = group_by_config(summaries)
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
            seeds_matrix(g, self.value, title=_label(g[0])), refs) for g in groups.values()])
        if len(summaries) > 1:
            views["diff"] = config_diff(configs, {s["run_id"]: s for s in summaries})
        else:
            problems["diff"] = "Select two or more runs (space on the runs screen) to diff."
        attempt("heatmap", lambda: self._heatmaps(groups, store.runs_dir))
        self.post_message(CompareBuilt(views, problems))

    @staticmethod
    def _heatmaps(groups: Mapping[str, Sequence[Mapping[str, Any]]], runs_dir: Path) -> list:
        """Per configuration: per-prompt scores and router weights, averaged over seeds."""
        matrices, reasons = [], []
        for group in groups.values():
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

    # -- actions ----------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

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
