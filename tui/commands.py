"""The command palette (Ctrl+P): every compt action by name, and any run by its id."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tui.rows import GROUPS, SORTS

MAX_RUN_HITS = 2000  # newest runs offered by id: enough to find one, cheap to match


class ComptCommands(Provider):
    """compt's actions: launch, compare, filters, sort and group, reload, help, open a run."""

    def commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.app
        runs = app.runs_screen
        out = [
            ("Launch a run or sweep", app.open_launch, "Open the launch form (n)"),
            ("Compare selected runs", partial(app.on_runs, runs.action_compare),
             "Paper table, seeds, config diff, heatmaps (c)"),
            ("Stop selected runs", partial(app.on_runs, runs.action_stop), "With confirmation (x)"),
            ("Retry selected runs", partial(app.on_runs, runs.action_retry),
             "Failed, interrupted or stopped runs (r)"),
            ("Delete selected runs", partial(app.on_runs, runs.action_delete),
             "Moves the folders to the trash (d)"),
            ("Reload the run list", partial(app.on_runs, runs.action_reload), "Ctrl+R"),
            ("Reindex the run store", app.reindex, "Rebuild index.json from the run folders"),
            ("Show keys", app.action_help, "F1 or ?"),
        ]
        for state in ("running", "failed", "done", "queued", "interrupted", "stopped"):
            out.append((f"Filter: {state} runs", partial(app.on_runs, runs.show_filter,
                                                          f"status:{state}"), ""))
        out.append(("Filter: clear", partial(app.on_runs, runs.show_filter, ""), ""))
        out += [(f"Sort by {name}", partial(app.on_runs, runs.sort_by, name), "")
                for name in SORTS]
        out += [(f"Group by {name}", partial(app.on_runs, runs.group_by, name), "")
                for name in GROUPS]
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        for row in list(self.app.runs_screen.rows.values())[:MAX_RUN_HITS]:
            name = f"Open run {row.run_id}"
            if (score := matcher.match(name)) > 0:
                about = f"{row.state} · {row.summary.get('method')} · k={row.summary.get('k')}"
                yield Hit(score, matcher.highlight(name), partial(self.app.open_run, row.run_id),
                          help=about)
