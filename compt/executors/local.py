"""The local executor: detached processes on this machine (what compt always did).

Starting them is compt.launcher's job (one process per run, or a queue process with a
concurrency cap); this module answers for them afterwards from the pid and host that
``launch.json`` and ``status.json`` record, and signals them to stop.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from typing import Any

import psutil

from compt.executors.base import Executor, JobState, register

HOST = socket.gethostname()


def process_alive(pid: int | None, started_before: float | None = None) -> bool:
    """True if ``pid`` runs on this host and is not a zombie.

    ``started_before`` (epoch seconds) guards against a recycled pid: a process created
    after the run recorded its pid is some other program.
    """
    if not pid:
        return False
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started_before is None or proc.create_time() <= started_before + 2.0
    except (psutil.Error, ValueError):
        return False


def owner(launch: dict[str, Any], status: dict[str, Any]) -> tuple[int | None, str | None,
                                                                   float | None]:
    """pid, host and start time of the process that owns the run.

    A running run is owned by its training process (status.json); a queued one by the
    launcher or sweep queue that will start it (launch.json).
    """
    if status.get("status") == "running":
        return (status.get("pid") or launch.get("pid"), status.get("host") or launch.get("host"),
                status.get("started_ts") or launch.get("time"))
    return launch.get("pid"), launch.get("host"), launch.get("time")


def signal_group(pid: int, sig: int) -> None:
    """Signal the run's process group (it leads its own session when detached)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


@register
class LocalExecutor(Executor):
    """Runs as detached processes on this host (``compt.launcher``)."""

    name = "local"

    def submit(self, runs_dir: Path, run_ids: list[str], jobs: int,
               name: str | None = None) -> None:
        from compt.launcher import launch_queue, start_run

        if name is None and len(run_ids) == 1:
            start_run(runs_dir, run_ids[0])
        elif run_ids:
            launch_queue(runs_dir, name or run_ids[0], run_ids, jobs)

    def state(self, launch: dict[str, Any], status: dict[str, Any]) -> JobState:
        pid, host, since = owner(launch, status)
        if not pid or host != HOST:
            return JobState(None)
        return JobState(process_alive(pid, since))

    def cancel(self, launch: dict[str, Any], status: dict[str, Any]) -> bool:
        # a queued run started directly by the launcher is a training process starting up;
        # one waiting in a queue is skipped by the queue once marked stopped
        pid = owner(launch, status)[0]
        if pid and (status.get("status") == "running" or launch.get("by") == "launcher"):
            signal_group(pid, signal.SIGTERM)
            return True
        return False

    def describe(self, launch: dict[str, Any]) -> str:
        return f"pid {launch.get('pid')} on {launch.get('host')}" if launch.get("pid") else ""

    def reachable(self, launch: dict[str, Any], status: dict[str, Any]) -> bool:
        return (status.get("host") or launch.get("host") or HOST) == HOST
