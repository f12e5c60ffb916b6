"""Small dialogs: confirm a destructive action, show an error, choose an export file,
edit a line of text (tags, note)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from compt.errors import ComptError


class ConfirmModal(ModalScreen[bool]):
    """Yes or no before something that cannot be undone from here; dismisses with the answer."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="yes")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ErrorModal(ModalScreen[None]):
    """A failure explained in words (a ComptError's message, or the exception's)."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="error.close")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error"):
            yield Label(f"✗ {self.title_text}", classes="dialog-title")
            yield Static(self.message, classes="dialog-text", markup=False)
            yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    def on_button_pressed(self, _: Button.Pressed) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.dismiss()


EXPORT_FORMATS = {".md": "markdown", ".csv": "csv", ".tex": "latex"}
FORMAT_HINT = "The extension picks the format: .md markdown · .csv csv · .tex latex"


class FieldModal(ModalScreen):
    """One input line with a hint under it, Save and Cancel; ``_save`` checks and dismisses."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="field.cancel")]
    FIELD_ID, HINT_ID = "field", "field-hint"

    def __init__(self, title: str, value: str, hint: str) -> None:
        super().__init__()
        self.title_text, self.value, self.hint = title, value, hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Input(self.value, id=self.FIELD_ID)
            yield Static(self.hint, id=self.HINT_ID, classes="dialog-text",
                         markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (enter)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(f"#{self.FIELD_ID}", Input))

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def _save(self) -> None:
        raise NotImplementedError

    def say(self, text: str) -> None:
        """Why the value cannot be saved (as Text: it may quote what the user typed)."""
        self.query_one(f"#{self.HINT_ID}", Static).update(Text(text))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportModal(FieldModal):
    """Name the file (its extension picks the format); dismisses with (format, path) or None."""

    FIELD_ID, HINT_ID = "path", "export-hint"

    def __init__(self, stem: str) -> None:
        super().__init__("Export what is on screen", f"{stem}.md", FORMAT_HINT)
        self._overwrite: Path | None = None  # the existing file the user agreed to replace

    def _save(self) -> None:
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        fmt = EXPORT_FORMATS.get(path.suffix.lower())
        if fmt is None:
            self.say(f"✗ '{path.name or '?'}' has no known extension. {FORMAT_HINT}.")
        elif path.is_dir():
            self.say(f"✗ {path} is a folder; give a file name to export to.")
        elif not path.parent.is_dir():
            self.say(f"✗ There is no folder {path.parent}: create it first, or pick another.")
        elif path.exists() and path != self._overwrite:
            self._overwrite = path  # Enter again on the same name overwrites
            self.say(f"⚠ {path} exists: press Enter again to overwrite it.")
        else:
            self.dismiss((fmt, path))


class TextModal(FieldModal):
    """Edit one line of text (a run's tags or note); ``check`` raises ComptError on a value
    compt would refuse, whose message is shown in place. Dismisses with the text or None."""

    FIELD_ID, HINT_ID = "text", "text-hint"

    def __init__(self, title: str, value: str, hint: str,
                 check: Callable[[str], object]) -> None:
        super().__init__(title, value, hint)
        self.check = check

    def _save(self) -> None:
        text = self.query_one("#text", Input).value
        try:
            self.check(text)
        except ComptError as exc:
            self.say(f"✗ {exc}")
            return
        self.dismiss(text)
