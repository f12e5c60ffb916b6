"""``compt`` command line: the entry point wraps typer so user errors exit 2 without a traceback."""

from __future__ import annotations

import errno
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


_FULL = "Free space on its disk, then try again (no file was left half-written)."
_DENIED = ("Check the permissions of that file and its folder (or point --runs-dir at a "
           "folder you may write), then try again.")
# What to do, by the fault's errno: a full disk is not fixed like a missing file.
FAULT_ADVICE = {
    errno.ENOSPC: _FULL,
    errno.EDQUOT: _FULL.replace("Free space on its disk", "Free space within your quota"),
    errno.EROFS: ("Its file system is mounted read-only: use a writable runs folder "
                  "(--runs-dir or COMPT_RUNS_DIR), then try again."),
    errno.EACCES: _DENIED,
    errno.EPERM: _DENIED,
    errno.ENOENT: "It does not exist, or a folder on its path is missing.",
    errno.ENOTDIR: "A part of its path is a file, not a folder.",
    errno.EISDIR: "It is a folder where a file was expected.",
}


def write_fault(exc: OSError) -> str:
    """One paragraph for a failed read or write: which file, why, and what fixes it."""
    where = f" {exc.filename}" if exc.filename else ""
    advice = FAULT_ADVICE.get(exc.errno or 0, "Check that file and its disk, then try again.")
    return f"Could not write or read{where}: {exc.strerror or exc}. {advice}"


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
