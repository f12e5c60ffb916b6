"""The typer application object that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="compt",
    help="ComPT multi-task prompt tuning: train, sweep, browse and compare runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

RUNS_DIR_HELP = "Run store folder (default: $COMPT_RUNS_DIR or ./runs)."
