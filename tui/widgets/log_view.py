"""A run's log, wrapped at the pane's width, with a filter that keeps the lines matching it.

Long lines (a traceback, a config dump) are wrapped instead of cut at 80 columns; ``/``
opens the filter: only the lines containing the text stay (matches shown reversed, so
they read with NO_COLOR too), Enter keeps the filter and goes back to the log, Escape
clears it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, RichLog


class LogView(Vertical):
    """The lines as written (``lines``), and what the filter lets through on screen."""

    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False,
                        id="log.clear")]
    DEFAULT_CSS = """
    LogView > Input { display: none; height: 1; border: none; padding: 0 1; }
    LogView > Input.shown { display: block; }
    """

    def __init__(self, max_lines: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.max_lines = max_lines
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter the log (Enter: keep, Esc: clear)", id="log-filter")
        yield RichLog(max_lines=self.max_lines, wrap=True, id="log-lines")

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def shown(self) -> RichLog:
        return self.query_one("#log-lines", RichLog)

    def write_lines(self, lines: Iterable[str]) -> None:
        new = list(lines)
        self.lines.extend(new)
        for line in new:
            if self.matches(line):
                self.shown.write(self.styled(line))

    def matches(self, line: str) -> bool:
        return not self.query_text or self.query_text.lower() in line.lower()

    def styled(self, line: str) -> Text:
        text = Text(line)  # never markup: a log may print anything
        if self.query_text:
            text.highlight_words([self.query_text], "reverse", case_sensitive=False)
        return text

    def open_filter(self) -> None:
        field = self.query_one(Input)
        field.add_class("shown")
        self.screen.set_focus(field)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        log = self.shown
        log.clear()
        for line in self.lines:
            if self.matches(line):
                log.write(self.styled(line))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            self.query_one(Input).remove_class("shown")
        self.screen.set_focus(self.shown)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape clears a filter; with none open it goes on to the screen (back)."""
        return action != "clear_filter" or self.query_one(Input).has_class("shown")

    def action_clear_filter(self) -> None:
        field = self.query_one(Input)
        field.value = ""  # (Input.Changed shows every line again)
        field.remove_class("shown")
        self.screen.set_focus(self.shown)
