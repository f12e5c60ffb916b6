"""Export or copy what a screen shows: the same text `compt table/heatmap ... -f FMT` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compt import export
from compt.errors import ComptError
from tui.diff import ConfigDiff, render_diff


def view_text(view: Any, fmt: str) -> str:
    """``view`` (a report Table, heatmap Matrix or list of them, or a ConfigDiff) as text."""
    if isinstance(view, ConfigDiff):
        return render_diff(view, fmt)
    return export.render(view, fmt)


def write_export(view: Any, fmt: str, path: Path) -> Path:
    """Write the view to ``path`` (its folder must exist: a typo creates nothing)."""
    text = view_text(view, fmt)
    path = Path(path).expanduser()
    if path.is_dir():
        raise ComptError(f"{path} is a folder; give a file name to export to.")
    try:
        path.write_text(text)
    except OSError as exc:
        raise ComptError(f"Could not write {path}: {exc.strerror or exc}.") from None
    return path
