"""The typer application object that every command module registers on."""

from __future__ import annotations

from typing import Annotated

import typer

from compt import __version__

app = typer.Typer(
    name="compt",
    help="ComPT multi-task prompt tuning: train, sweep, browse and compare runs.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)



def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"compt {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print compt's version and exit.")] = False) -> None:
    """ComPT multi-task prompt tuning: train, sweep, browse and compare runs."""


RUNS_DIR_HELP = "Run store folder (default: $COMPT_RUNS_DIR or ./runs)."
EXECUTOR_HELP = "Where runs execute: local (detached processes) or slurm (jobs)."
SlurmOptions = Annotated[list[str] | None, typer.Option(
    "--slurm", metavar="KEY=VALUE",
    help="With --executor slurm (repeatable; also a \\[slurm] table in the config file): "
         "partition, time (e.g. 1:00:00), cpus, mem (16G), gpus, gres (gpu:a100:1), "
         "account, qos, extra (another sbatch flag, e.g. extra=--constraint=a100).")]
