"""Sweeps: a base config times a grid of values, planned against what the store already has.

A grid comes from ``--grid key=v1,v2`` options and/or a ``[grid]`` table in the config
file (the command line wins per key). Every combination is one cell; a cell is skipped
when a finished (``done``) run with the identical config fingerprint exists, or one is
queued / running right now, unless ``force``. ``launch_cells`` plans again under
``RunStore.planning`` and launches (compt.launcher) before it lets go, so identical sweeps
started together train each cell once.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compt.config import (
    FIELD_NAMES,
    RunConfig,
    parse_override,
    set_value,
    unknown_key_error,
    validate,
)
from compt.errors import ComptError
from compt.files import load_file
from compt.names import executor_names
from compt.store import ACTIVE, RunStore


@dataclass
class Cell:
    """One grid combination: its values, its config, and whether it needs to run."""

    values: dict[str, Any]
    config: RunConfig
    action: str = "run"  # run | done | active | duplicate
    existing: str | None = None  # the run that makes this cell unnecessary

    @property
    def runs(self) -> bool:
        return self.action == "run"


def parse_grid_option(text: str) -> tuple[str, list[Any]]:
    """``k=8,16`` -> ``("k", [8, 16])``; a YAML list works too: ``tasks=[[a, b], [c]]``."""
    if "=" not in text:
        raise ComptError(f"Grid option '{text}' must look like key=value1,value2 (e.g. k=8,16).")
    key, raw = (part.strip() for part in text.split("=", 1))
    try:
        parsed = yaml.safe_load(raw)
    except yaml.YAMLError:
        parsed = raw
    if isinstance(parsed, list):
        values = parsed
    else:
        values = [_scalar(v) for v in raw.split(",") if v.strip()]
    if not values:
        raise ComptError(f"Grid option '{text}' lists no values.")
    return key, values


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text.strip()


def load_sweep(
    path: str | Path | None, sets: list[str] | None = None, grid_options: list[str] | None = None
) -> tuple[RunConfig, dict[str, list[Any]]]:
    """The base config (file, then ``--set``) and the grid (file ``[grid]``, then ``--grid``)."""
    data = load_file(path) if path is not None else {}
    data = {k: v for k, v in data.items() if k not in executor_names()}  # [slurm]: not the run's
    file_grid = data.pop("grid", {}) or {}
    if not isinstance(file_grid, dict):
        raise ComptError(f"The [grid] table in '{path}' must map config keys to lists of values.")
    cfg = RunConfig()
    for key, value in data.items():
        set_value(cfg, key, value, f"config file '{path}'")
    for text in sets or []:
        set_value(cfg, *parse_override(text))
    validate(cfg)
    grid = {key: value if isinstance(value, list) else [value] for key, value in file_grid.items()}
    grid.update(parse_grid_option(text) for text in grid_options or [])
    for key, values in grid.items():
        if key.replace("-", "_") not in FIELD_NAMES:
            raise unknown_key_error(key, "the sweep grid")
        if not values:
            raise ComptError(f"Grid key '{key}' lists no values.")
    return cfg, grid


def expand(base: RunConfig, grid: dict[str, list[Any]]) -> list[Cell]:
    """Every combination of the grid applied to ``base`` (one cell for an empty grid).

    Raises one ``ComptError`` naming every cell whose values are not a valid config.
    """
    cells, bad = [], []
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        values = dict(zip(keys, combo, strict=True))
        cfg = copy.deepcopy(base)
        try:
            for key, value in values.items():
                set_value(cfg, key, value, "the sweep grid")
            validate(cfg)
        except ComptError as exc:
            bad.append((values, str(exc)))
            continue
        cells.append(Cell(values, cfg))
    _refuse(bad, len(cells) + len(bad), "is not a valid config")
    return cells


def check_cells(cells: list[Cell]) -> None:
    """Check every cell that would run as ``compt run`` does before it makes a folder
    (unknown task, k larger than a task's train split, device, model), so that a sweep with
    a bad cell is refused as a whole instead of failing cell by cell in the background."""
    from compt.runner import preflight

    bad: list[tuple[dict[str, Any], str]] = []
    seen: dict[str, str | None] = {}
    for cell in cells:
        if not cell.runs:
            continue
        c = cell.config
        key = repr((c.tasks, c.k, c.effective_data_seed, c.sampling, c.model, c.backbone,
                    c.decoding, c.device))
        if key not in seen:
            try:
                preflight(c)
                seen[key] = None
            except ComptError as exc:
                seen[key] = str(exc)
        error = seen[key]
        if error is not None:
            bad.append((cell.values, error))
    _refuse(bad, len(cells), "cannot run")


def _refuse(bad: list[tuple[dict[str, Any], str]], total: int, why: str) -> None:
    if not bad:
        return
    lines = [f"Nothing was started: {len(bad)} of {total} grid cells {why}."]
    for values, error in bad:
        shown = ", ".join(f"{k}={v}" for k, v in values.items()) or "(the base config)"
        lines.append(f"  Grid cell {shown}: {error}")
    raise ComptError("\n".join(lines))


def plan(cells: list[Cell], store: RunStore, force: bool = False) -> list[Cell]:
    """Mark cells already done or in progress in ``store`` (and repeats within the grid)."""
    existing: dict[str, tuple[str, str]] = {}
    if not force:
        for summary in reversed(store.list()):  # newest last wins, but done beats active
            state = summary["status"]
            known = existing.get(summary.get("fingerprint"), ("",))[0]
            if (state == "done" or state in ACTIVE) and known != "done":
                existing[summary.get("fingerprint")] = (state, summary["run_id"])
    seen: set[str] = set()
    for cell in cells:
        cell.action, cell.existing = "run", None  # planning again starts afresh
        fingerprint = cell.config.fingerprint()
        if fingerprint in seen:
            cell.action = "duplicate"
        elif fingerprint in existing:
            state, cell.existing = existing[fingerprint]
            cell.action = "done" if state == "done" else "active"
        seen.add(fingerprint)
    return cells


def launch_cells(cells: list[Cell], store: RunStore, force: bool = False, jobs: int | None = None,
                 group: str | None = None, executor: Any = None, dry_run: bool = False
                 ) -> tuple[list[Cell], str | None, list[str]]:
    """Plan ``cells`` again and launch those that run, all under the store's planning
    lock: a sweep that started since the first plan is seen, and none starts meanwhile.

    Returns the cells as planned, the group and the new run ids (none for ``dry_run`` or
    when every cell is skipped).
    """
    from compt.launcher import launch_sweep

    with store.planning():
        cells = plan(cells, store, force=force)
        todo = [cell.config for cell in cells if cell.runs]
        if dry_run or not todo:
            return cells, None, []
        launched, ids = launch_sweep(todo, store.runs_dir, jobs=jobs, group=group,
                                     executor=executor)
    return cells, launched, ids
