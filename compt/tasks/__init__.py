"""Task registry: turns the names a user writes into ``Task`` objects.

A name is a suite (``builtin``, ``glue``, ``set2``), one task (``rte``, ``glue/rte``,
``sent_movies``) or the path of a local task definition (``my_task.toml``). Resolving is
cheap; data are read when a task's split is first asked for. A GLUE task comes from the
LM-BFF build when one is in the cache (offline), else from the hub.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compt.errors import ComptError
from compt.tasks.base import STSB_GRID, Example, Task
from compt.tasks.builtin import BUILTIN_TASKS, DESCRIPTIONS, builtin_task
from compt.tasks.hub import ALIASES as HUB_ALIASES
from compt.tasks.hub import GLUE, HUB_SPECS, SET2, hub_task
from compt.tasks.lmbff import ALIASES as LMBFF_ALIASES
from compt.tasks.lmbff import LMBFF_SUITE_DESCRIPTIONS, LMBFF_SUITES, SPECS, built_tasks, lmbff_task
from compt.tasks.local import DATA_SUFFIXES, DEFINITION_SUFFIXES, load_task_file
from compt.tasks.real import REAL_SUITE_DESCRIPTIONS, REAL_SUITES, REAL_TASKS, real_task, real_terms

__all__ = ["Example", "STSB_GRID", "Task", "available_tasks", "catalog", "resolve_tasks"]

SUITES: dict[str, tuple[str, ...]] = {"builtin": BUILTIN_TASKS, "glue": GLUE, "set2": SET2,
                                      **REAL_SUITES, **LMBFF_SUITES}
SUITE_DESCRIPTIONS = {
    "builtin": "Offline suite generated in code (docs/builtin_suite.md)",
    "glue": "GLUE, the paper's Experiment 1 (LM-BFF splits once built, else the hub)",
    "set2": "SET2, the paper's Experiment 2 (needs the Hugging Face Hub)",
    **REAL_SUITE_DESCRIPTIONS,
    **LMBFF_SUITE_DESCRIPTIONS,
}
ALIASES = {**HUB_ALIASES, **LMBFF_ALIASES}


def glue_or_lmbff_task(name: str) -> Task:
    """The LM-BFF build of a task when it is in the cache, else the hub's (same definition)."""
    return lmbff_task(name) if name in built_tasks() or name not in HUB_SPECS else hub_task(name)


_MAKERS: dict[str, Callable[[str], Task]] = {
    **{name: builtin_task for name in BUILTIN_TASKS},
    **{name: hub_task for name in HUB_SPECS},
    **{name: real_task for name in REAL_TASKS},
    **{name: glue_or_lmbff_task for name in SPECS},
}


def available_tasks() -> dict[str, str]:
    """Every suite and task name with a one-line description (for help and errors)."""
    names = {suite: f"{text}: {', '.join(SUITES[suite])}" for suite, text in
             SUITE_DESCRIPTIONS.items()}
    names.update(DESCRIPTIONS)
    names.update({name: spec.description for name, spec in HUB_SPECS.items()})
    names.update(REAL_TASKS)
    names.update({name: spec.description for name, spec in SPECS.items() if name not in names})
    return names


def catalog() -> list[dict[str, Any]]:
    """Every suite and task with its source and terms (``compt tasks``); reads no data.

    A task whose suite is not built yet is listed with ``built: false`` and how to build it.
    """
    entries: list[dict[str, Any]] = [
        {"name": suite, "kind": "suite", "description": SUITE_DESCRIPTIONS[suite],
         "tasks": list(SUITES[suite])} for suite in SUITE_DESCRIPTIONS]
    for name, description in available_tasks().items():
        if name in SUITES:
            continue
        entry: dict[str, Any] = {"name": name, "kind": "task", "built": True}
        try:
            task = _MAKERS[name](name)
        except ComptError as exc:
            entry.update(built=False, description=description, how=str(exc),
                         source="real suite" if name in REAL_TASKS else "lm-bff",
                         terms=real_terms(name) if name in REAL_TASKS else "")
        else:
            entry.update(description=task.description, source=task.source, terms=task.terms,
                         note=task.note)
        entries.append(entry)
    return entries


def resolve_tasks(names: list[str]) -> list[Task]:
    """Expand suites, single tasks and definition files, in order; a task may appear once."""
    tasks: list[Task] = []
    origin: dict[str, str] = {}
    for raw in names:
        for task in _expand(str(raw).strip()):
            if task.name in origin:
                raise ComptError(
                    f"Task '{task.name}' is listed twice (from '{origin[task.name]}' and "
                    f"'{raw}'); each task can be trained once per run. Remove one of them."
                )
            origin[task.name] = raw
            tasks.append(task)
    if not tasks:
        raise ComptError("No tasks given: name at least one task or suite (for example builtin).")
    return tasks


def _expand(name: str) -> list[Task]:
    suffix = Path(name).suffix.lower()
    if suffix in DEFINITION_SUFFIXES:
        return [load_task_file(name)]
    if suffix in DATA_SUFFIXES:
        raise ComptError(
            f"'{name}' is a data file, not a task: describe it in a task definition file "
            f"(.toml/.yaml/.json naming the train and test files, text fields and label "
            f"words; see docs/tasks.md) and pass that file instead."
        )
    key = name.lower()
    if key in SUITES:
        return [_MAKERS[task](task) for task in SUITES[key]]
    suite, _, rest = key.partition("/")
    if rest and suite in SUITES:
        key = ALIASES.get(rest, rest)
        if key not in SUITES[suite]:
            raise _unknown(name, f" The suite '{suite}' has: {', '.join(SUITES[suite])}.")
    key = ALIASES.get(key, key)
    if key not in _MAKERS:
        raise _unknown(name)
    return [_MAKERS[key](key)]


def _unknown(name: str, detail: str = "") -> ComptError:
    known = [*available_tasks(), *ALIASES]
    close = difflib.get_close_matches(name.lower(), known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close and not detail else ""
    return ComptError(
        f"Unknown task '{name}'.{hint}{detail} Known suites: {', '.join(SUITES)}; tasks: "
        f"{', '.join(_MAKERS)}; or give the path of a local task definition "
        f"(.toml/.yaml/.yml/.json, see docs/tasks.md)."
    )
