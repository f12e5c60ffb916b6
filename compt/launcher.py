"""Detached training processes: launch, a queue with a concurrency cap, stop and retry.

Every process is started from an argument list (never through a shell) in its own session
(``start_new_session``), so closing the terminal, tmux pane or SSH connection does not
reach it; its output goes to the run's ``train.log``. A sweep hands its queued runs to one
queue process (``python -m compt.launcher queue``), itself detached, which keeps at most
``jobs`` trainings running and exits when its list is done.

Who owns a queued run is recorded in the run's ``launch.json`` (pid, host, time): the
launcher or queue that will start it. A run whose owner died shows as ``interrupted``.

That is the ``local`` executor; launching, stopping and retrying go through the
:class:`~compt.executors.Executor` a run was launched with (``launch.json`` says which), so
the same functions drive Slurm jobs (compt.executors.slurm).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from compt.errors import ComptError
from compt.executors import Executor, executor_for
from compt.executors.local import HOST, LocalExecutor, process_alive
from compt.files import atomic_write_json, read_json
from compt.names import QUEUES_DIR, check_group, check_run_id
from compt.runfolder import ACTIVE, RunFolder, Status, create_run_folder, new_run_id, now_iso
from compt.store import RunStore, job_line, job_state, live_state

POLL_S = 0.5
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("compt.queue")


def new_group_id(kind: str = "sweep") -> str:
    return f"{kind}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def child_env(threads: int | None = None) -> dict[str, str]:
    """The environment of a child: compt importable even when it is not installed.

    ``threads``: the CPU threads torch may use, so that parallel runs share the cores
    instead of oversubscribing them (a user's own OMP_NUM_THREADS wins).
    """
    env = dict(os.environ)
    if threads is not None and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    paths = [str(PACKAGE_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(argv: list[str], log_path: Path, threads: int | None = None) -> subprocess.Popen:
    """Start ``argv`` detached: own session, no stdin, stdout and stderr appended to a log."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, env=child_env(threads),
        )


def run_argv(runs_dir: Path, run_id: str, resume: bool) -> list[str]:
    """The command that trains an existing run folder (detached: its log is train.log)."""
    argv = [sys.executable, "-m", "compt", "run", "--runs-dir", str(runs_dir),
            "--run-id", run_id, "--detached"]
    return [*argv, "--resume"] if resume else argv


def start_run(runs_dir: Path, run_id: str, threads: int | None = None) -> subprocess.Popen:
    """Start training an existing run folder: resume from its checkpoint if it has one."""
    folder = RunFolder.open(runs_dir, run_id)
    proc = spawn(run_argv(runs_dir, run_id, folder.checkpoint_path.is_file()), folder.log_path,
                 threads)
    folder.write_launch(proc.pid, "launcher")
    return proc


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


def queue_path(runs_dir: Path, name: str) -> Path:
    return Path(runs_dir) / QUEUES_DIR / f"{check_group(name)}.json"


def queue_alive(record: dict[str, Any]) -> bool:
    return (record.get("host") == HOST and not record.get("finished")
            and process_alive(record.get("pid"), record.get("started_ts")))


def _refuse_running_queue(runs_dir: Path, name: str) -> None:
    if queue_alive(read_json(queue_path(runs_dir, name), {}) or {}):
        raise ComptError(f"A queue named '{name}' is still running; wait for it or pick "
                         f"another --group.")


def launch_queue(runs_dir: Path | str, name: str, run_ids: list[str], jobs: int) -> int:
    """Hand queued runs to a detached queue process; returns its pid."""
    if jobs < 1:
        raise ComptError(f"--jobs must be at least 1, got {jobs}.")
    runs_dir = Path(runs_dir).absolute()
    path = queue_path(runs_dir, name)
    _refuse_running_queue(runs_dir, name)
    atomic_write_json(path, {"name": name, "runs": run_ids, "jobs": jobs, "created": now_iso()})
    argv = [sys.executable, "-m", "compt.launcher", "queue", "--runs-dir", str(runs_dir),
            "--name", name]
    return spawn(argv, path.with_suffix(".log")).pid


def launch_sweep(configs: Iterable[Any], runs_dir: Path | str, jobs: int | None = None,
                 group: str | None = None, executor: Executor | None = None
                 ) -> tuple[str, list[str]]:
    """Queue one run per config under a shared group and start them, ``jobs`` at a time
    (default: a local queue process; ``executor``: e.g. one Slurm job array; no ``jobs``:
    the executor's ``default_jobs``)."""
    runs_dir = Path(runs_dir).absolute()
    group = check_group(group or new_group_id())
    _refuse_running_queue(runs_dir, group)
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


def run_queue(runs_dir: Path, name: str) -> None:
    """The queue process: start queued runs, at most ``jobs`` at a time, until none is left.

    SIGTERM stops it from starting more runs; it still waits for the running ones.
    """
    store = RunStore(runs_dir)
    path = queue_path(runs_dir, name)
    record = read_json(path, {}) or {}
    record.update(pid=os.getpid(), host=HOST, started=now_iso(), started_ts=time.time())
    atomic_write_json(path, record)
    pending: deque[str] = deque()
    for run_id in record.get("runs", []):
        try:
            folder = store.folder(run_id)
        except ComptError:
            continue  # removed meanwhile
        folder.write_launch(os.getpid(), f"queue {name}")
        pending.append(run_id)

    stopping = False

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    log.info("queue %s: %d runs, %d at a time", name, len(pending), record.get("jobs", 1))
    running: dict[str, subprocess.Popen] = {}
    threads = max(1, (os.cpu_count() or 1) // max(1, record.get("jobs", 1)))
    while running or (pending and not stopping):
        for run_id, proc in list(running.items()):
            if proc.poll() is not None:
                del running[run_id]
                _sync_quietly(store, run_id)  # the run may have died without a last update
        while pending and len(running) < record.get("jobs", 1) and not stopping:
            run_id = pending.popleft()
            status = RunFolder(runs_dir / run_id).read_status().get("status")
            if status != Status.QUEUED:
                continue  # stopped or removed meanwhile
            try:
                running[run_id] = start_run(runs_dir, run_id, threads)
                log.info("started %s (pid %d)", run_id, running[run_id].pid)
            except (ComptError, OSError) as exc:
                log.error("could not start %s: %s", run_id, exc)
            _sync_quietly(store, run_id)
        time.sleep(POLL_S)
    record.update(finished=now_iso(), left=list(pending))
    atomic_write_json(path, record)
    log.info("queue %s finished%s", name, " (stopped)" if stopping else "")


def _sync_quietly(store: RunStore, run_id: str) -> None:
    try:
        store.sync(run_id)
    except ComptError:
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
        _sync_quietly(store, run_id)
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


def main(argv: list[str] | None = None) -> None:
    """``python -m compt.launcher queue --runs-dir DIR --name NAME`` (started by compt)."""
    parser = argparse.ArgumentParser(prog="python -m compt.launcher")
    sub = parser.add_subparsers(dest="command", required=True)
    queue = sub.add_parser("queue", help="run a queue written by compt sweep / retry")
    queue.add_argument("--runs-dir", required=True, type=Path)
    queue.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_queue(args.runs_dir, args.name)


if __name__ == "__main__":
    main()
