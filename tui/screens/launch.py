"""The launch form: one run or a sweep, checked as you type, started through compt's launcher.

Runs start as detached processes, so they keep training after the dashboard closes.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from compt import methods
from compt.errors import ComptError
from tui.launch_form import DEFAULTS, FIELDS, FieldError, LaunchPlan, plan_launch
from tui.screens.base import ComptScreen

LABELS = {
    "methods": ("methods", f"{methods.help_text()} (several: a sweep)"),
    "tasks": ("tasks", "builtin, glue, set2, task names or task files"),
    "k": ("k-shot", "e.g. 8,16,32"),
    "seeds": ("seeds", "e.g. 0,1,2"),
    "sources": ("sources", "number of source prompts, e.g. 3"),
    "model": ("model", "hub name or local folder"),
    "concurrency": ("concurrency", "runs at a time in a sweep"),
    "group": ("group", "optional name for these runs"),
    "extra": ("other keys", "key=value ..., e.g. max_steps=200 eval_size=100"),
}


class LaunchScreen(ComptScreen):
    """Fill in, read the verdict underneath, press Ctrl+S (or the button)."""

    BINDINGS = [
        Binding("ctrl+s", "launch", "Launch", id="launch.launch"),
        Binding("escape", "cancel", "Cancel", id="launch.cancel"),
    ]

    def __init__(self, values: dict[str, str] | None = None) -> None:
        super().__init__()
        self.values = {**DEFAULTS, **(values or {})}
        self.plan: LaunchPlan | None = None

    def compose(self) -> ComposeResult:
        yield Static("launch a run or a sweep · Ctrl+S launches · Esc cancels",
                     classes="screen-info")
        with Vertical(id="launch-form"):
            for name in FIELDS:
                label, hint = LABELS[name]
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(self.values[name], placeholder=hint, id=f"field-{name}",
                                compact=True)
            yield Static("", id="launch-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Launch (ctrl+s)", variant="primary", id="launch")
                yield Button("Cancel (esc)", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#field-methods", Input).focus()
        self.check()

    def form(self) -> dict[str, str]:
        return {name: self.query_one(f"#field-{name}", Input).value for name in FIELDS}

    @on(Input.Changed)
    def check(self) -> None:
        """Validate the whole form through compt and say what would launch (or what is wrong)."""
        message = self.query_one("#launch-message", Static)
        for name in FIELDS:
            self.query_one(f"#field-{name}", Input).remove_class("invalid")
        try:
            self.plan = plan_launch(self.form())
        except ComptError as exc:
            self.plan = None
            if isinstance(exc, FieldError):
                self.query_one(f"#field-{exc.field}", Input).add_class("invalid")
            message.update(f"✗ {exc}")
            message.add_class("invalid")
        else:
            message.update(f"✓ {self.plan.describe()}")
            message.remove_class("invalid")
        self.query_one("#launch", Button).disabled = self.plan is None

    @on(Input.Submitted)
    def next_field(self) -> None:
        """Enter moves on; launching (maybe a large sweep) takes Ctrl+S or the button."""
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "launch":
            self.action_launch()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.app.pop_screen()

    def action_launch(self) -> None:
        self.check()
        if self.plan is None:
            self.notify("The form has a mistake: see the message under the fields.",
                        severity="error")
            return
        self.query_one("#launch", Button).disabled = True
        self.start(self.plan)

    @work(thread=True, exclusive=True, group="launch", name="Launch", exit_on_error=False)
    def start(self, plan: LaunchPlan) -> None:
        from compt import launcher
        from compt.sweep import plan as plan_cells

        store = self.app.store
        if len(plan.cells) == 1:
            ids = [launcher.launch_run(plan.configs[0], store.runs_dir, group=plan.group)]
            text = f"Launched {ids[0]}."
        else:
            cells = plan_cells(plan.cells, store)
            todo = [c.config for c in cells if c.runs]
            if not todo:
                raise ComptError(f"All {len(cells)} cells of this sweep are already done or "
                                 "running; nothing was launched.")
            group, ids = launcher.launch_sweep(todo, store.runs_dir, jobs=plan.jobs,
                                               group=plan.group)
            skipped = len(cells) - len(todo)
            text = f"Sweep {group}: {len(ids)} runs queued" + (
                f", {skipped} skipped (already done or running)." if skipped else ".")
        self.app.call_from_thread(self.launched, text)

    def launched(self, text: str) -> None:
        self.app.notify(text)
        self.app.runs_screen.load()
        self.app.pop_screen()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # (ComptScreen's handler, run by Textual as well, reports the error)
        if event.worker.group == "launch" and event.state == WorkerState.ERROR:
            self.query_one("#launch", Button).disabled = False  # fix the form, try again
