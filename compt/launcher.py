"""Launch, stop and retry runs through the executor each was launched with.

Who owns a queued run is recorded in the run's ``launch.json`` (a local process's pid and
host, a Slurm job id; ``executor`` says which kind), so the same functions drive local
processes (compt.executors.local) and Slurm jobs (compt.executors.slurm). A run whose owner
died shows as ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import signal
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from compt.errors import ComptError
from compt.executors import Executor, executor_for
from compt.executors.local import (
    LocalExecutor,
    queue_alive,
    queue_path,
    refuse_running_queue,
    sync_quietly,
)
from compt.files import read_json
from compt.names import check_group, check_run_id
from compt.runfolder import ACTIVE, RunFolder, Status, create_run_folder, new_run_id, now_iso
from compt.store import RunStore, job_line, job_state, live_state


def new_group_id(kind: str = "sweep") -> str:
    return f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def _new_folder(runs_dir: Path, cfg: Any, run_id: str | None) -> RunFolder:
    """A queued folder; generated ids are retried on the (rare) same-second collision."""
    for _ in range(20):
        try:
            return create_run_folder(runs_dir, cfg, run_id=run_id or new_run_id(cfg.method))
        except FileExistsError:
            if run_id is not None:
                raise ComptError(f"A run named '{run_id}' already exists in {runs_dir}.") from None
    raise ComptError(f"Could not find a free run id in {runs_dir}.")


def _submit_new(executor: Executor, runs_dir: Path, folders: list[RunFolder], jobs: int,
                name: str | None) -> None:
    """Hand new queued folders to ``executor``; if it refuses them, they never existed."""
    try:
        executor.submit(runs_dir, [f.run_id for f in folders], jobs, name)
    except ComptError:
        for folder in folders:
            shutil.rmtree(folder.path, ignore_errors=True)
        raise


def launch_run(cfg: Any, runs_dir: Path | str, group: str | None = None,
               run_id: str | None = None, executor: Executor | None = None) -> str:
    """Create a queued run folder for ``cfg`` and train it detached (default: a local
    process; ``executor``: e.g. a Slurm job)."""
    runs_dir = Path(runs_dir).absolute()
    if group:
        cfg = dataclasses.replace(cfg, group=check_group(group))
    if run_id is not None:
        check_run_id(run_id)
    folder = _new_folder(runs_dir, cfg, run_id)
    _submit_new(executor or LocalExecutor(), runs_dir, [folder], 1, None)
    RunStore(runs_dir).sync(folder.run_id)
    return folder.run_id


# -- the queue ---------------------------------------------------------------------------


def launch_sweep(configs: Iterable[Any], runs_dir: Path | str, jobs: int | None = None,
                 group: str | None = None, executor: Executor | None = None
                 ) -> tuple[str, list[str]]:
    """Queue one run per config under a shared group and start them, ``jobs`` at a time
    (default: a local queue process; ``executor``: e.g. one Slurm job array; no ``jobs``:
    the executor's ``default_jobs``)."""
    runs_dir = Path(runs_dir).absolute()
    group = check_group(group or new_group_id())
    refuse_running_queue(runs_dir, group)
    executor = executor or LocalExecutor()
    jobs = executor.default_jobs if jobs is None else jobs
    if jobs < 1:
        raise ComptError(f"--jobs must be at least 1, got {jobs}.")
    store, ids = RunStore(runs_dir), []
    try:
        for cfg in configs:
            ids.append(_new_folder(runs_dir, dataclasses.replace(cfg, group=group), None).run_id)
        if ids:
            executor.submit(runs_dir, ids, jobs, group)
            store.sync_many(ids)  # after submitting: the index then names each run's job
    except BaseException:
        _discard_unstarted(store, ids)
        raise
    return group, ids


def _discard_unstarted(store: RunStore, run_ids: list[str]) -> None:
    """Undo a sweep that could not start: no ``queued`` run may be left without a queue."""
    for run_id in run_ids:
        try:
            store.remove(run_id, purge=True, unstarted=True)
        except (ComptError, OSError):
            try:  # cannot delete it: at least never show it as queued forever
                RunFolder(store.runs_dir / run_id).update_status(
                    status=Status.FAILED, error="its sweep could not be started")
            except OSError:
                pass


# -- stop and retry ----------------------------------------------------------------------


def stop(run_or_group: str, runs_dir: Path | str, wait_s: float = 15.0) -> list[str]:
    """Stop a run or every run of a group; returns the ids that were queued or running.

    Each run's executor cancels its job: running trainings get SIGTERM (locally, or from
    ``scancel``; they checkpoint, mark themselves ``stopped`` and exit); queued ones are
    marked ``stopped`` so their queue (or Slurm job) skips them. A job that has not written
    its own status by the end of ``wait_s`` but is gone is marked ``stopped`` here.
    """
    runs_dir = Path(runs_dir)
    store = RunStore(runs_dir)
    run_ids = store.resolve(run_or_group)
    queue = read_json(queue_path(runs_dir, run_or_group), {}) or {}
    if queue_alive(queue):
        os.kill(queue["pid"], signal.SIGTERM)  # the group's queue starts nothing more
    stopped, signalled, remote = [], {}, []
    for run_id in run_ids:
        folder = store.folder(run_id)
        status = folder.read_status()
        record = folder.read_launch()
        state, _pid = live_state(status, record)
        if state not in ACTIVE:
            continue
        # the executors take plain dicts (they read them with .get)
        launch, plain = cast(dict[str, Any], record), cast(dict[str, Any], status)
        executor = executor_for(launch)
        if not executor.reachable(launch, plain):
            remote.append(run_id)
            continue
        stopped.append(run_id)
        if executor.cancel(launch, plain):
            signalled[run_id] = (executor, launch, plain)
        else:
            folder.update_status(status=Status.STOPPED, finished=now_iso())
    deadline = time.monotonic() + wait_s
    while signalled and time.monotonic() < deadline:
        signalled = {r: job for r, job in signalled.items()
                     if job[0].state(job[1], job[2]).alive is not False}
        time.sleep(0.1)
    for run_id in stopped:
        folder = store.folder(run_id)
        if folder.read_status().get("status") in ACTIVE and run_id not in signalled:
            folder.update_status(status=Status.STOPPED, finished=now_iso())
        sync_quietly(store, run_id)
    if remote:
        raise ComptError(f"Stopped {len(stopped)} run(s); these run on another host, stop "
                         f"them there: {', '.join(remote)}.")
    return stopped


RETRYABLE = (Status.FAILED, Status.INTERRUPTED, Status.STOPPED)


def _prepare_retry(store: RunStore, run_id: str) -> None:
    summary = store.get(run_id)
    state = summary["status"]
    if state == Status.RUNNING or (state == Status.QUEUED and (summary.get("pid")
                                                             or summary.get("job_id"))):
        raise ComptError(f"Run '{run_id}' is {state}; there is nothing to retry yet.")
    if state == Status.DONE:
        raise ComptError(f"Run '{run_id}' finished; start a new run to train it again.")
    folder = store.folder(run_id)
    launch = folder.read_launch()
    if launch.get("job_id") and job_state(folder.read_status(), launch).alive:
        raise ComptError(  # one run, one live job: a requeued job resumes it by itself
            f"Run '{run_id}' still has a live job ({job_line(folder.read_status(), launch)}); "
            f"it resumes the run by itself, or compt stop {run_id} cancels it.")
    folder.launch_path.unlink(missing_ok=True)  # its old owner is dead; the new one records
    folder.update_status(status=Status.QUEUED, error=None, finished=None, pid=None)


def _launch_record(store: RunStore, run_id: str) -> dict[str, Any]:
    return dict(store.folder(run_id).read_launch())


def retry(run_id: str, runs_dir: Path | str) -> str:
    """Start a failed, interrupted or stopped run again, from its checkpoint if it has one,
    with the executor (and options) it was launched with."""
    runs_dir = Path(runs_dir).absolute()
    store = RunStore(runs_dir)
    executor = executor_for(_launch_record(store, run_id))
    _prepare_retry(store, run_id)
    executor.submit(runs_dir, [run_id], 1)
    store.sync(run_id)
    return run_id


def retry_failed(runs_dir: Path | str, jobs: int | None = None) -> list[str]:
    """Retry every failed or interrupted run, ``jobs`` at a time (None: each executor's
    ``default_jobs``): one local queue, or one submission per executor the runs were
    launched with (a Slurm job array)."""
    runs_dir = Path(runs_dir).absolute()
    store = RunStore(runs_dir)
    ids = [s["run_id"] for s in reversed(store.list())
           if s["status"] in (Status.FAILED, Status.INTERRUPTED)]
    ids = [run_id for run_id in ids if store.get(run_id)["status"] in RETRYABLE]
    by_executor: dict[str, list[str]] = {}
    for run_id in ids:
        launch = _launch_record(store, run_id)
        how = {"executor": launch.get("executor") or "local", "options": launch.get("options")}
        by_executor.setdefault(json.dumps(how, sort_keys=True), []).append(run_id)
    for run_id in ids:
        _prepare_retry(store, run_id)
    for key, group in by_executor.items():
        executor = executor_for(json.loads(key))
        executor.submit(runs_dir, group, executor.default_jobs if jobs is None else jobs,
                        new_group_id("retry"))
    if ids:
        store.sync_many(ids)  # after submitting: the index then names each run's new job
    return ids
