"""Executors: where runs execute (``local`` processes, ``slurm`` jobs). See base.py."""

from pathlib import Path

from compt.executors import local, slurm  # noqa: F401 - importing registers them
from compt.executors.base import (
    EXECUTORS,
    Executor,
    JobState,
    check_executor_name,
    executor_for,
    executor_names,
    register,
)

__all__ = ["EXECUTORS", "Executor", "JobState", "build_executor", "check_executor_name",
           "executor_for", "executor_names", "register"]


def build_executor(name: str, config: str | Path | None = None,
                   overrides: list[str] | None = None) -> Executor:
    """The executor ``name`` configured from its table in the config file (``[slurm]``),
    then from ``key=value`` command-line options."""
    from compt.config import load_file

    cls = EXECUTORS[check_executor_name(name)]
    table = load_file(config).get(name, {}) if config is not None else {}
    return cls.configure(table, overrides or [])
