"""The launch form's text fields -> a checked grid of run configs, or the field that is wrong.

All checking is compt's own (``compt.config`` coercion and validation, ``compt.sweep``
expansion, ``compt.tasks`` names); this module only knows which field a value came from,
so the form can point at it while the user types. ``preflight_plan`` then asks what
``compt run`` / ``compt sweep`` would refuse once started (k larger than a task's data,
hub tasks or models out of reach, a sweep with nothing left to run): it reads data, so
the form runs it in a worker.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from compt.config import METHODS, RunConfig, build_config, parse_override, set_value
from compt.errors import ComptError
from compt.runfolder import check_run_id
from compt.store import RunStore
from compt.sweep import Cell, expand

# form field -> the config key its comma-separated values sweep over
GRID_FIELDS = {"methods": "method", "k": "k", "seeds": "seed", "sources": "n_sources"}
FIELDS = ("methods", "tasks", "k", "seeds", "sources", "model", "concurrency", "group", "extra")
DEFAULTS = {
    "methods": "ssum", "tasks": "builtin", "k": str(RunConfig.k), "seeds": "0",
    "sources": str(RunConfig.n_sources), "model": RunConfig.model, "concurrency": "1",
    "group": "", "extra": "",
}


class FieldError(ComptError):
    """A ComptError that knows which form field holds the mistake."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class LaunchPlan:
    """What the form would launch: the grid's cells, the concurrency cap, the group."""

    cells: list[Cell]
    jobs: int
    group: str | None

    @property
    def configs(self) -> list[RunConfig]:
        return [c.config for c in self.cells]

    def describe(self) -> str:
        first = self.cells[0].config
        tasks = ", ".join(first.tasks)
        if len(self.cells) == 1:
            return (f"1 run: {first.method} k={first.k} seed={first.seed} on {tasks} "
                    f"with {first.model}.")
        return (f"Sweep of {len(self.cells)} runs on {tasks}, {self.jobs} at a time; "
                "cells already done or running are skipped.")


def preflight_plan(plan: LaunchPlan, store: RunStore) -> int:
    """Run compt's own preflight on each distinct data / model setting of the plan; for a
    sweep, also its plan against the store. Returns how many runs would start."""
    from compt.runner import preflight
    from compt.sweep import plan as plan_cells

    checked = set()
    for cfg in plan.configs:  # the seed only picks which examples: feasibility is the same
        key = (tuple(cfg.tasks), cfg.k, cfg.sampling, cfg.model, cfg.backbone, cfg.decoding)
        if key not in checked:
            checked.add(key)
            preflight(cfg)  # its message names the task, k or model at fault
    if len(plan.cells) == 1:
        return 1
    todo = sum(cell.runs for cell in plan_cells(plan.cells, store))
    if not todo:
        raise ComptError(f"All {len(plan.cells)} cells of this sweep are already done or "
                         "running: nothing would launch.")
    return todo


def _values(text: str) -> list[str]:
    return [v.strip() for v in text.replace(" ", ",").split(",") if v.strip()]


@contextmanager
def blame(name: str) -> Iterator[None]:
    """Attribute a ComptError raised inside to the form field ``name``."""
    try:
        yield
    except FieldError:
        raise
    except ComptError as exc:
        raise FieldError(name, str(exc)) from None


def plan_launch(form: dict[str, str]) -> LaunchPlan:
    """Check every field (raising FieldError at the first wrong one) and expand the grid."""
    form = {**DEFAULTS, **form}
    grid: dict[str, list[str]] = {}
    for name, key in GRID_FIELDS.items():
        with blame(name):
            values = _values(form[name])
            if not values:
                raise ComptError(f"Give at least one value for {name}.")
            bad = [v for v in values if key == "method" and v not in METHODS]
            if bad:
                raise ComptError(f"Unknown method {', '.join(bad)}; choose from "
                                 f"{', '.join(METHODS)}.")
            for value in values:
                set_value(RunConfig(), key, value, f"the {name} field")
        grid[key] = values
    tasks = _values(form["tasks"])
    with blame("tasks"):
        _resolve(tasks)
    with blame("model"):
        if not form["model"].strip():
            raise ComptError("Name a model (a hub name or a local folder).")
    with blame("concurrency"):
        jobs = _whole(form["concurrency"])
    group = form["group"].strip() or None
    with blame("group"):
        if group is not None:
            check_run_id(group)
    with blame("extra"):
        try:
            extra = shlex.split(form["extra"])
        except ValueError as exc:
            raise ComptError(f"Other keys: {exc}.") from None
        for text in extra:
            _not_a_field_key(text)
        base = build_config(overrides={"tasks": tasks, "model": form["model"].strip()},
                            sets=extra)
    return LaunchPlan(expand(base, grid), jobs, group)


def _whole(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        raise ComptError("Concurrency is a whole number of runs at a time.") from None
    if jobs < 1:
        raise ComptError("Concurrency must be at least 1.")
    return jobs


def _resolve(tasks: list[str]) -> None:
    from compt.tasks import resolve_tasks  # cheap: names only, no data is read

    if not tasks:
        raise ComptError("Name at least one task or suite (for example builtin).")
    resolve_tasks(tasks)


def _not_a_field_key(text: str) -> None:
    key, _ = parse_override(text)
    key = key.replace("-", "_")
    owner = next((f for f, k in GRID_FIELDS.items() if k == key), None)
    if owner or key in ("tasks", "model", "group"):
        raise ComptError(f"Set '{key}' in its own field, not under other keys.")

