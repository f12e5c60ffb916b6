"""compt-tui: launch, monitor, browse and compare runs from a terminal (also over SSH).

The app reads and acts only through compt's store, launcher and report code. Trainings
are detached processes: quitting the dashboard leaves them running, and reopening it
shows them live again, because everything it shows is read back from the run folders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from compt.errors import ComptError
from compt.runfolder import default_runs_dir
from compt.store import RunStore
from tui.commands import ComptCommands
from tui.messages import WorkerFailed
from tui.screens.help import HelpScreen, where_name
from tui.screens.modals import ErrorModal
from tui.screens.runs import RunsScreen


class ComptApp(App):
    """The dashboard: the runs screen at the bottom of the stack, the others pushed on it."""

    TITLE = "compt"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ComptCommands}
    BINDINGS = [
        Binding("f1,question_mark", "help", "Keys", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, runs_dir: Path | str | None = None) -> None:
        super().__init__()
        self.store = RunStore(runs_dir if runs_dir is not None else default_runs_dir())
        self.runs_screen = RunsScreen()
        self.launch_values: dict[str, str] = {}  # the launch form's last values

    def get_default_screen(self) -> Screen:
        return self.runs_screen

    # -- navigation -------------------------------------------------------------------

    def open_run(self, run_id: str) -> None:
        from tui.screens.detail import RunDetailScreen

        self.push_screen(RunDetailScreen(run_id))

    def open_launch(self) -> None:
        from tui.screens.launch import LaunchScreen

        self.push_screen(LaunchScreen(self.launch_values))

    def open_compare(self, run_ids: list[str]) -> None:
        from tui.screens.compare import CompareScreen

        rows = self.runs_screen.rows
        self.push_screen(CompareScreen(run_ids, {r: rows[r].summary for r in run_ids
                                                 if r in rows}))

    def on_runs(self, action: Callable[..., object], *args: object) -> None:
        """Run a runs-screen action from anywhere (the palette): go back to it first."""
        while self.screen is not self.runs_screen and len(self.screen_stack) > 1:
            self.pop_screen()
        action(*args)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen.active_bindings, where_name(self.screen)))

    @work(thread=True, name="Reindex", exit_on_error=False)
    def reindex(self) -> None:
        count = self.store.reindex()
        self.call_from_thread(self.notify, f"Reindexed {count} runs.")
        self.call_from_thread(self.runs_screen.load)

    # -- export and copy --------------------------------------------------------------

    def export_view(self, view: Any, fmt: str, path: Path) -> None:
        from tui.exporting import write_export

        try:
            written = write_export(view, fmt, path)
        except ComptError as exc:
            self.show_error(exc, "Export")
            return
        self.notify(f"Saved {fmt} to {written}.")

    def copy_view(self, view: Any) -> None:
        """Copy as markdown through OSC 52, which reaches the local clipboard over SSH."""
        from tui.exporting import view_text

        self.copy_to_clipboard(view_text(view, "markdown"))
        self.notify("Copied as markdown (needs a terminal that allows OSC 52).")

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Notifications quote user strings (run ids, groups, paths): never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _on_delivery_complete(self, event: events.DeliveryComplete) -> None:
        """Textual's own toast is markup (``[$text-success]``), which ``notify`` never reads:
        say where the screenshot went in plain words instead."""
        if event.name == "screenshot":
            event.prevent_default()  # Textual's handler (a base class's) is not called
            where = f" to {event.path}" if event.path is not None else ""
            self.notify(f"Saved screenshot{where}", title="Screenshot")

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Textual saves into ~/Downloads, which servers often lack: else the current folder."""
        if path is None:
            downloads = Path("~/Downloads").expanduser()
            path = str(downloads if downloads.is_dir() else Path.cwd())
        return super().deliver_screenshot(filename, path, time_format)

    # -- errors -----------------------------------------------------------------------

    def show_error(self, error: BaseException, job: str = "") -> None:
        """One place where failures become a readable modal (never a traceback on screen)."""
        if isinstance(error, ComptError):
            title, text = (f"{job} failed" if job else "compt"), str(error)
        else:
            title = f"{job} failed" if job else "Unexpected error"
            text = f"{type(error).__name__}: {error}"
        self.push_screen(ErrorModal(title, text))

    def on_worker_failed(self, message: WorkerFailed) -> None:
        self.show_error(message.error, message.job)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (reindex) report like the screens' ones."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.show_error(event.worker.error, event.worker.name)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="compt-tui",
        description="The compt dashboard: launch, monitor, browse and compare runs. "
                    "Press F1 or ? inside for every key.",
    )
    parser.add_argument("--runs-dir", type=Path, default=None,
                        help="run store folder (default: $COMPT_RUNS_DIR or ./runs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    runs_dir = args.runs_dir if args.runs_dir is not None else default_runs_dir()
    if runs_dir.exists() and not runs_dir.is_dir():
        print(f"compt-tui: error: {runs_dir} is a file, not a runs folder.", file=sys.stderr)
        sys.exit(2)
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"compt-tui: error: cannot create runs folder {runs_dir}: {exc.strerror}.",
              file=sys.stderr)
        sys.exit(2)
    ComptApp(runs_dir).run()


if __name__ == "__main__":
    main()
