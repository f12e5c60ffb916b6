"""``compt`` command line: the entry point wraps typer so user errors exit 2 without a traceback."""

from __future__ import annotations

import sys

from rich.console import Console

from compt.cli import report_cmds, run_cmd, store_cmds  # noqa: F401  (register commands)
from compt.cli.app import app
from compt.errors import ComptError


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except ComptError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)
