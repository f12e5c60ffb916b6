"""F1 / ``?``: every key of the screen underneath, read from its live bindings (never stale)."""

from __future__ import annotations

import re

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

FILTER_HELP = (
    "Filter: words match anywhere (id, status, method, tasks, group, tags, note); "
    "key:value matches a field (status:running k:8,16 method:ssum task:sent_movies "
    "tag:paper group:g1, any config key such as lr_router:0.1); -term negates."
)


def where_name(node: object) -> str:
    """Where a key applies, in words: "runs table", not the class name RunsTable."""
    name = getattr(node, "HELP_NAME", None)
    if name:
        return name
    words = re.findall(r"[A-Z][a-z]*|[a-z]+", type(node).__name__)
    words = [w.lower() for w in words if w not in ("Screen", "Compt", "App", "Widget")]
    return " ".join(words) or "everywhere"


class HelpScreen(ModalScreen[None]):
    """The keys of the screen it was opened over, grouped by where they apply."""

    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close", id="help.close")]

    def __init__(self, bindings: dict[str, ActiveBinding], title: str) -> None:
        super().__init__()
        self.bindings = bindings
        self.title_text = title

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("key", no_wrap=True)
        table.add_column("action")
        table.add_column("where", style="dim")
        for where, description, keys in self.rows():
            table.add_row(keys, description, where)
        with VerticalScroll(classes="dialog help"):
            yield Static(f"[b]Keys — {self.title_text}[/b]   (esc closes)")
            yield Static(table)
            yield Static(FILTER_HELP, classes="dim", markup=False)
            yield Static("Ctrl+P opens the command palette: every action by name, and runs by id.",
                         classes="dim")

    def rows(self) -> list[tuple[str, str, str]]:
        """(where, what, keys) per action: compt's own keys (they have ids) before Textual's
        built-in ones; within each, the screen's first, then the app's, then widgets'."""
        actions: dict[tuple[tuple[bool, int], str, str], tuple[str, list[str]]] = {}
        for key, active in self.bindings.items():
            node, binding = active.node, active.binding
            rank = (binding.id is None,
                    0 if isinstance(node, Screen) else 1 if node is self.app else 2)
            slot = (rank, where_name(node), binding.action)
            description, keys = actions.setdefault(slot, (binding.description, []))
            if not description and binding.description:
                actions[slot] = (binding.description, keys)
            keys.append(self.app.get_key_display(binding) or key)
        return [(where, description, ", ".join(dict.fromkeys(keys)))
                for (_, where, _), (description, keys) in sorted(actions.items(),
                                                                   key=lambda item: item[0][0])
                if description]

    def action_close(self) -> None:
        self.dismiss()
