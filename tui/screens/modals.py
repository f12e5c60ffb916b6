"""Small dialogs: confirm a destructive action, show an error, choose an export file."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


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


class ExportModal(ModalScreen[tuple[str, Path] | None]):
    """Name the file (its extension picks the format); dismisses with (format, path) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, stem: str) -> None:
        super().__init__()
        self.stem = stem
        self._overwrite: Path | None = None  # the existing file the user agreed to replace

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export what is on screen", classes="dialog-title")
            yield Input(f"{self.stem}.md", id="path", placeholder="file name")
            yield Static(FORMAT_HINT, id="export-hint", classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (enter)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def _save(self) -> None:
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        fmt = EXPORT_FORMATS.get(path.suffix.lower())
        hint = self.query_one("#export-hint", Static)
        if fmt is None:
            hint.update(Text(f"✗ '{path.name or '?'}' has no known extension. {FORMAT_HINT}."))
        elif path.is_dir():
            hint.update(Text(f"✗ {path} is a folder; give a file name to export to."))
        elif not path.parent.is_dir():
            hint.update(Text(f"✗ There is no folder {path.parent}: create it first, or pick "
                             "another."))
        elif path.exists() and path != self._overwrite:
            self._overwrite = path  # Enter again on the same name overwrites
            hint.update(Text(f"⚠ {path} exists: press Enter again to overwrite it."))
        else:
            self.dismiss((fmt, path))

    def action_cancel(self) -> None:
        self.dismiss(None)
