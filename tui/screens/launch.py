"""The launch form: one run or a sweep, checked as you type, started through compt's launcher.

Runs start as detached processes, so they keep training after the dashboard closes.
Two checks: the fields at each keystroke (instant), then compt's preflight in a worker
(task data, k, hub access, what a sweep would skip); ✓ and Launch wait for both.

Keys typed ahead of a lagging app land in the field that has focus when they are handled
(``msum Tab zz`` fills two fields): see tui.widgets.focus.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from compt import methods
from compt.errors import ComptError
from tui.launch_form import (
    DEFAULTS,
    FIELDS,
    FieldError,
    LaunchPlan,
    plan_launch,
    preflight_plan,
)
from tui.screens.base import ComptScreen
from tui.widgets.focus import RoutedInput

PREFLIGHT_DELAY_S = 0.3  # typing pauses this long before compt's preflight runs


class Preflighted(Message):
    """compt's preflight verdict on the form as it was (``form``): runs to start, or why not."""

    def __init__(self, form: dict[str, str], plan: LaunchPlan, todo: int,
                 error: str | None) -> None:
        super().__init__()
        self.form, self.plan, self.todo, self.error = form, plan, todo, error

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
        self.plan: LaunchPlan | None = None  # set once both checks passed
        self._preflight_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("launch a run or a sweep · Ctrl+S launches · Esc cancels",
                     classes="screen-info")
        with Vertical(id="launch-form"):
            for name in FIELDS:
                label, hint = LABELS[name]
                with Horizontal(classes="field"):
                    yield Label(label)
                    # Enter moves on (at once); launching takes Ctrl+S or the button
                    yield RoutedInput(self.values[name], placeholder=hint,
                                      id=f"field-{name}", compact=True,
                                      on_enter=self.focus_next)
            yield Static("", id="launch-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Launch (ctrl+s)", variant="primary", id="launch",
                             disabled=True)  # until both checks pass
                yield Button("Cancel (esc)", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#field-methods", Input))  # at once, not deferred
        self.check()

    def on_key(self, event: events.Key) -> None:
        """A letter sent to the screen itself (typed right after ``n``, before the form had
        focus) goes to the field with focus, as if typed there."""
        if event.is_printable and event.character:
            field = self.focused if isinstance(self.focused, Input) else self.query_one(
                "#field-methods", Input)
            self.set_focus(field)
            field._forward_event(events.Key(event.key, event.character))  # as the App does
            event.stop()

    def form(self) -> dict[str, str]:
        return {name: self.query_one(f"#field-{name}", Input).value for name in FIELDS}

    @on(Input.Changed)
    def check(self) -> None:
        """Check the fields through compt at once, then (after a pause) compt's preflight."""
        form = self.form()
        self.app.launch_values = form  # the form remembers its values for next time
        self.plan = None
        self.query_one("#launch", Button).disabled = True
        for name in FIELDS:
            self.query_one(f"#field-{name}", Input).remove_class("invalid")
        if self._preflight_timer is not None:
            self._preflight_timer.stop()
        try:
            plan = plan_launch(form)
        except ComptError as exc:
            if isinstance(exc, FieldError):
                self.query_one(f"#field-{exc.field}", Input).add_class("invalid")
            self.say(f"✗ {exc}", invalid=True)
            return
        self.say(f"… {plan.describe()} Checking tasks, k and model…")
        self._preflight_timer = self.set_timer(PREFLIGHT_DELAY_S,
                                               lambda: self.preflight(form, plan))

    def say(self, text: str, invalid: bool = False) -> None:
        message = self.query_one("#launch-message", Static)
        message.update(Text(text))  # it may quote the user's values: never markup
        message.set_class(invalid, "invalid")

    @work(thread=True, exclusive=True, group="launch.check", name="Checking the form",
          exit_on_error=False, description="compt's preflight of the form")
    def preflight(self, form: dict[str, str], plan: LaunchPlan) -> None:
        try:
            todo, error = preflight_plan(plan, self.app.store), None
        except ComptError as exc:
            todo, error = 0, str(exc)
        if not get_current_worker().is_cancelled:
            self.post_message(Preflighted(form, plan, todo, error))

    def on_preflighted(self, message: Preflighted) -> None:
        if message.form != self.form():
            return  # the form changed meanwhile: a newer check is on its way
        if message.error is not None:
            self.say(f"✗ {message.error}", invalid=True)
            return
        self.plan = message.plan
        skipped = len(message.plan.cells) - message.todo
        extra = f" {skipped} already done or running." if skipped else ""
        self.say(f"✓ {message.plan.describe()}{extra}")
        self.query_one("#launch", Button).disabled = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "launch":
            self.action_launch()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.app.pop_screen()

    def action_launch(self) -> None:
        if self.plan is None:
            self.notify("Not launched: see the message under the fields (a mistake, or the "
                        "check is still running).", severity="error")
            return
        self.query_one("#launch", Button).disabled = True
        self.start(self.plan)

    @work(thread=True, exclusive=True, group="launch", name="Launch", exit_on_error=False)
    def start(self, plan: LaunchPlan) -> None:
        from compt import launcher
        from compt.sweep import launch_cells

        store = self.app.store
        if len(plan.cells) == 1:
            ids = [launcher.launch_run(plan.configs[0], store.runs_dir, group=plan.group)]
            text = f"Launched {ids[0]}."
        else:  # planned again under the store's planning lock, as `compt sweep` does
            cells, group, ids = launch_cells(plan.cells, store, jobs=plan.jobs,
                                             group=plan.group)
            if group is None:
                raise ComptError(f"All {len(cells)} cells of this sweep are already done or "
                                 "running; nothing was launched.")
            skipped = len(cells) - len(ids)
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
