"""Where a run executes: the ``Executor`` interface and the registry of its implementations.

The launcher hands queued run folders to an executor; the store asks the executor recorded
in a run's ``launch.json`` whether the run can still be alive. Everything that depends on
*where* a run executes (a local process, a Slurm job) lives behind this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from compt.errors import ComptError


@dataclass(frozen=True)
class JobState:
    """What an executor knows about one run's job.

    ``alive``: False only when the job is known to be over (its run can no longer change
    state by itself); None when the executor cannot tell (another host, no record yet).
    ``label``: the executor's own words, shown next to compt's status ("PENDING (Priority)").
    ``run_status``: the status the job's end implies for a run whose own record says
    ``stopped`` or is stale (its training was killed before it could write), e.g.
    ``interrupted`` when the scheduler ended the job at its time limit, ``queued`` when it
    requeued the job (it resumes the run by itself); None: no opinion.
    """

    alive: bool | None
    label: str = ""
    run_status: str | None = None


class Executor(ABC):
    """Starts queued runs somewhere and answers for them afterwards.

    Everything an executor needs later is in the ``launch`` record it writes into each run
    folder (``launch.json``: ``executor`` = its registry name, plus its job handle), so any
    later compt process (``ls``, ``stop``, ``retry``, the TUI) can rebuild it with
    :func:`executor_for`.
    """

    name: ClassVar[str]
    # runs at a time when the user gives no --jobs (a sweep, retry --failed)
    default_jobs: ClassVar[int] = 1

    @abstractmethod
    def submit(self, runs_dir: Path, run_ids: list[str], jobs: int,
               name: str | None = None) -> None:
        """Start the queued runs ``run_ids``, at most ``jobs`` at a time, and record
        each one's ``launch.json``. ``name``: the group or queue they belong to (None: a
        single run started on its own). Raises ComptError when nothing could be started."""

    @abstractmethod
    def state(self, launch: dict[str, Any], status: dict[str, Any]) -> JobState:
        """The job of a queued or running run (``status`` is its status.json)."""

    @abstractmethod
    def cancel(self, launch: dict[str, Any], status: dict[str, Any]) -> bool:
        """Stop the run's job. True when a live training process was asked to stop (it
        checkpoints and writes its own ``stopped``); False when nothing was running."""

    @abstractmethod
    def describe(self, launch: dict[str, Any]) -> str:
        """The job handle in words, e.g. ``pid 4242 on host-a`` or ``slurm job 17_3``."""

    def reachable(self, launch: dict[str, Any], status: dict[str, Any]) -> bool:
        """Whether this machine can cancel the job (a local process on another host: no)."""
        return True

    @classmethod
    def from_launch(cls, launch: dict[str, Any]) -> Executor:
        """The executor that wrote ``launch`` (its options are in the record)."""
        return cls()

    @classmethod
    def configure(cls, table: dict[str, Any], overrides: list[str]) -> Executor:
        """Built from its config-file table and ``key=value`` command-line options."""
        if table or overrides:
            raise ComptError(f"The {cls.name} executor takes no options; those given belong "
                             f"to another --executor.")
        return cls()


# filled as each executor's module is imported (compt.executors imports them on demand)
EXECUTORS: dict[str, type[Executor]] = {}


def register(cls: type[Executor]) -> type[Executor]:
    """Class decorator: make an executor available by its ``name`` (its module's name)."""
    EXECUTORS[cls.name] = cls
    return cls
