"""Executors: where runs execute (``local`` processes, ``slurm`` jobs). See base.py.

Each module here other than ``base`` is one executor, named like its module and imported
only when that executor is asked for: the config and the store can name and check
executors (``compt.names.executor_names`` reads the folder) without loading any of them,
and the interface never imports an implementation.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from compt.errors import ComptError
from compt.executors.base import EXECUTORS, Executor, JobState, register
from compt.files import load_file
from compt.names import check_executor_name, executor_names

__all__ = ["Executor", "JobState", "build_executor", "check_executor_name", "executor_class",
           "executor_for", "executor_names", "register"]


def executor_class(name: str) -> type[Executor]:
    """The executor called ``name``, its module imported on first use."""
    importlib.import_module(f"{__name__}.{check_executor_name(name)}")
    return EXECUTORS[name]


def executor_for(launch: dict[str, Any]) -> Executor:
    """The executor of a run, from its launch.json (no record or no name: local)."""
    name = launch.get("executor") or "local"
    if name not in executor_names():
        raise ComptError(f"This run was launched by executor '{name}', which this compt "
                         f"does not know ({', '.join(executor_names())}).")
    return executor_class(name).from_launch(launch)


def build_executor(name: str, config: str | Path | None = None,
                   overrides: list[str] | None = None) -> Executor:
    """The executor ``name`` configured from its table in the config file (``[slurm]``),
    then from ``key=value`` command-line options."""
    table = load_file(config).get(name, {}) if config is not None else {}
    return executor_class(name).configure(table, overrides or [])
