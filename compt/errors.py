"""User-facing errors.

A ``ComptError`` is a mistake the user can fix (bad config, unknown task, unreachable hub).
The CLI prints its message as one paragraph and exits with code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import shlex
import sys


class ComptError(Exception):
    """A problem with the user's input or environment, explained in plain words."""

    exit_code = 2


def pip_install(packages: str) -> str:
    """The install command for the interpreter compt runs under: a bare ``pip`` may belong
    to another active environment and install where compt never looks."""
    return f"{shlex.quote(sys.executable)} -m pip install {packages}"
