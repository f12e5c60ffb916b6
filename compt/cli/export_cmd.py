"""``compt export-peft``: one task's prompt of a run as a PEFT adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from compt.cli.app import RUNS_DIR_HELP, app
from compt.runfolder import RunFolder, default_runs_dir


@app.command("export-peft")
def export_peft_cmd(
    run: Annotated[str, typer.Argument(help="Run id.")],
    task: Annotated[str, typer.Option(help="The task whose prompt to export.")],
    out: Annotated[Path | None, typer.Option(
        help="Adapter folder (default: <run folder>/peft-<task>).")] = None,
    runs_dir: Annotated[Path | None, typer.Option("--runs-dir", help=RUNS_DIR_HELP)] = None,
) -> None:
    """Write a PEFT prompt-tuning adapter (adapter_config.json + adapter_model.safetensors)
    holding TASK's composed prompt; load it with ``PeftModel.from_pretrained``."""
    from compt.peft_export import export_peft

    folder = RunFolder.open(runs_dir or default_runs_dir(), run)
    done = export_peft(folder, task, out or folder.path / f"peft-{task}")
    console = Console()
    console.print(f"wrote {done.path} ({done.tokens} virtual tokens for {done.task})")
    if not done.exact:
        console.print("note: this run put its prompt after the input; PEFT prepends it, so "
                      "the adapter's outputs differ from compt's (train with "
                      "placement=before for an exact export).")
