"""User-facing errors.

A ``ComptError`` is a mistake the user can fix (bad config, unknown task, unreachable hub).
The CLI prints its message as one paragraph and exits with code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class ComptError(Exception):
    """A problem with the user's input or environment, explained in plain words."""

    exit_code = 2
