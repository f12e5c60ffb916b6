"""``compt`` command line: the entry point wraps typer so user errors exit 2 without a traceback."""

from __future__ import annotations

import importlib
import logging
import sys

from rich.console import Console
from rich.markup import escape

from compt.cli.app import app
from compt.errors import ComptError

# Command modules register on ``app`` when imported; this order is the order of --help.
for _module in ("run_cmd", "store_cmds", "report_cmds", "export_cmd", "data_cmds"):
    importlib.import_module(f"compt.cli.{_module}")


class _WarningLine(logging.Handler):
    """Library warnings (a damaged index entry, say) reach the user as one plain line."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"warning: {record.getMessage()}\n")  # stderr of the moment


def _warnings_to_stderr() -> None:
    logger = logging.getLogger("compt")
    if not any(isinstance(h, _WarningLine) for h in logger.handlers):
        logger.addHandler(_WarningLine(logging.WARNING))


def write_fault(exc: OSError) -> str:
    """One paragraph for a failed read or write (read-only store, full disk, ...)."""
    where = f" {exc.filename}" if exc.filename else ""
    return (f"Could not write or read{where}: {exc.strerror or exc}. Check that the runs "
            "folder is writable and its disk has free space, then try again (no file was "
            "left half-written).")


def main(argv: list[str] | None = None) -> None:
    _warnings_to_stderr()
    try:
        app(args=argv, prog_name="compt", standalone_mode=True)
    except ComptError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except OSError as exc:
        _error(write_fault(exc))
        sys.exit(2)
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted")
        sys.exit(130)


def _error(message: str) -> None:
    Console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
