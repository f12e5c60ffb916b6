"""``compt`` command line: the entry point wraps typer so user errors exit 2 without a traceback."""

from __future__ import annotations

import importlib
import sys

from rich.console import Console
from rich.markup import escape

from compt.cli.app import app
from compt.errors import ComptError

# Command modules register on ``app`` when imported; this order is the order of --help.
for _module in ("run_cmd", "store_cmds", "report_cmds", "export_cmd", "data_cmds"):
    importlib.import_module(f"compt.cli.{_module}")


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=True)
    except ComptError as exc:
        Console(stderr=True).print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)
