"""Names users give — run ids, groups, tags, executors — checked in one place.

A run id and a group name become file names (``runs/<id>/``, ``runs/.queues/<group>.json``),
so they must not escape the store nor take the place of the store's own entries. Tags and
notes are free text, but never carry control characters nor bidi overrides (they are
shown in terminals).
Every user string is rendered as plain text, never as markup, wherever it is shown.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re

from compt.errors import ComptError

# The store's own entries in the runs folder: no run or group may take their names.
INDEX_FILE = "index.json"
LOCK_FILE = ".index.lock"
TRASH_DIR = ".trash"
QUEUES_DIR = ".queues"
PLAN_LOCK_FILE = ".plan.lock"
RESERVED = frozenset(name.lower() for name in (INDEX_FILE, LOCK_FILE, TRASH_DIR, QUEUES_DIR,
                                               PLAN_LOCK_FILE))

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")  # \Z: no trailing newline
# C0/C1 controls, and the bidi marks and overrides (which reorder what a terminal shows,
# so a tag could read as another tag, or swap the columns after it)
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_TAG = 64


def is_run_name(name: str) -> bool:
    """True if ``name`` may be a run id or group (also the test for folders in a store)."""
    return (bool(NAME_PATTERN.match(name)) and ".." not in name
            and name.lower() not in RESERVED)


def check_name(name: str, what: str = "run id") -> str:
    """A run id or group name, or ComptError: letters, digits, '-', '_', '.', not reserved."""
    if name.lower() in RESERVED:
        raise ComptError(f"'{name}' is reserved by the run store; pick another {what}.")
    if not is_run_name(name):
        raise ComptError(
            f"{name!r} is not a valid {what}: use letters, digits, '-', '_' and '.' only "
            "(starting with a letter or digit, at most 128 characters, no '..')."
        )
    return name


def check_run_id(run_id: str) -> str:
    return check_name(run_id, "run id")


def check_group(group: str) -> str:
    return check_name(group, "group name")


def check_tag(tag: str) -> str:
    """A tag, stripped: non-empty, no comma (lists are comma-separated), no control chars."""
    tag = tag.strip()
    if not tag or "," in tag or CONTROL.search(tag) or len(tag) > MAX_TAG:
        raise ComptError(f"{tag!r} is not a valid tag: a tag is 1 to {MAX_TAG} characters "
                         "with no comma, no control characters and no bidi marks.")
    return tag


def check_note(text: str) -> str:
    """A note, stripped: any text but control characters (newlines and tabs are fine)."""
    text = text.strip()
    if CONTROL.search(text.replace("\n", "").replace("\t", "")):
        raise ComptError("A note may not contain control characters nor bidi marks (newlines "
                         "and tabs are fine).")
    return text


def executor_names() -> list[str]:
    """The executors compt has: one module each in compt/executors/ besides ``base``.

    Read from the folder, not imported, so that the config (which knows a ``[slurm]`` table
    from a run setting by this) and the store load no executor for it.
    """
    spec = importlib.util.find_spec("compt.executors")
    places = list(spec.submodule_search_locations or []) if spec else []
    return sorted(m.name for m in pkgutil.iter_modules(places) if m.name != "base")


def check_executor_name(name: str) -> str:
    if name not in executor_names():
        raise ComptError(f"Unknown executor '{name}'; choose one of "
                         f"{', '.join(executor_names())}.")
    return name
