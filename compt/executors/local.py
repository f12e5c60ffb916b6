"""The local executor: detached processes on this machine (what compt always did).

Every process is started from an argument list (never through a shell) in its own session
(``start_new_session``), so closing the terminal, tmux pane or SSH connection does not
reach it; its output goes to the run's ``train.log``. Several runs go to one queue process
(``python -m compt.executors.local queue``, itself detached), which keeps at most ``jobs``
trainings running. Afterwards this module answers for them from the pid and host that
``launch.json`` and ``status.json`` record, and signals them to stop.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from compt.errors import ComptError
from compt.executors.base import Executor, JobState, register
from compt.files import atomic_write_json, read_json
from compt.host import HOST, process_alive
from compt.names import QUEUES_DIR, check_group
from compt.runfolder import RunFolder, Status, now_iso
from compt.store import RunStore

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
POLL_S = 0.5
log = logging.getLogger("compt.queue")


def owner(launch: dict[str, Any], status: dict[str, Any]) -> tuple[int | None, str | None,
                                                                   float | None]:
    """pid, host and start time of the process that owns the run.

    A running run is owned by its training process (status.json); a queued one by the
    launcher or sweep queue that will start it (launch.json).
    """
    if status.get("status") == Status.RUNNING:
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


# -- the queue: one detached process that starts queued runs, ``jobs`` at a time


def queue_path(runs_dir: Path, name: str) -> Path:
    return Path(runs_dir) / QUEUES_DIR / f"{check_group(name)}.json"


def queue_alive(record: dict[str, Any]) -> bool:
    return (record.get("host") == HOST and not record.get("finished")
            and process_alive(record.get("pid"), record.get("started_ts")))


def refuse_running_queue(runs_dir: Path, name: str) -> None:
    if queue_alive(read_json(queue_path(runs_dir, name), {}) or {}):
        raise ComptError(f"A queue named '{name}' is still running; wait for it or pick "
                         f"another --group.")


def launch_queue(runs_dir: Path | str, name: str, run_ids: list[str], jobs: int) -> int:
    """Hand queued runs to a detached queue process; returns its pid."""
    if jobs < 1:
        raise ComptError(f"--jobs must be at least 1, got {jobs}.")
    runs_dir = Path(runs_dir).absolute()
    path = queue_path(runs_dir, name)
    refuse_running_queue(runs_dir, name)
    atomic_write_json(path, {"name": name, "runs": run_ids, "jobs": jobs, "created": now_iso()})
    argv = [sys.executable, "-m", "compt.executors.local", "queue", "--runs-dir", str(runs_dir),
            "--name", name]
    return spawn(argv, path.with_suffix(".log")).pid



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
                sync_quietly(store, run_id)  # the run may have died without a last update
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
            sync_quietly(store, run_id)
        time.sleep(POLL_S)
    record.update(finished=now_iso(), left=list(pending))
    atomic_write_json(path, record)
    log.info("queue %s finished%s", name, " (stopped)" if stopping else "")


def sync_quietly(store: RunStore, run_id: str) -> None:
    try:
        store.sync(run_id)
    except ComptError:
        pass


@register
class LocalExecutor(Executor):
    """Runs as detached processes on this host (``compt.launcher``)."""

    name = "local"

    def submit(self, runs_dir: Path, run_ids: list[str], jobs: int,
               name: str | None = None) -> None:
        if name is None and len(run_ids) == 1:
            start_run(runs_dir, run_ids[0])
        elif run_ids:
            name = name or run_ids[0]
            pid = launch_queue(runs_dir, name, run_ids, jobs)
            for run_id in run_ids:  # owned by the queue from now: if it dies they show
                folder = RunFolder(Path(runs_dir) / run_id)  # interrupted
                if not folder.launch_path.exists():  # unless the queue already said so itself
                    folder.write_launch(pid, f"queue {name}")

    def state(self, launch: dict[str, Any], status: dict[str, Any]) -> JobState:
        pid, host, since = owner(launch, status)
        if not pid or host != HOST:
            return JobState(None)
        return JobState(process_alive(pid, since))

    def cancel(self, launch: dict[str, Any], status: dict[str, Any]) -> bool:
        # a queued run started directly by the launcher is a training process starting up;
        # one waiting in a queue is skipped by the queue once marked stopped
        pid = owner(launch, status)[0]
        if pid and (status.get("status") == Status.RUNNING or launch.get("by") == "launcher"):
            signal_group(pid, signal.SIGTERM)
            return True
        return False

    def describe(self, launch: dict[str, Any]) -> str:
        return f"pid {launch.get('pid')} on {launch.get('host')}" if launch.get("pid") else ""

    def reachable(self, launch: dict[str, Any], status: dict[str, Any]) -> bool:
        return (status.get("host") or launch.get("host") or HOST) == HOST


def main(argv: list[str] | None = None) -> None:
    """``python -m compt.executors.local queue --runs-dir DIR --name NAME`` (started by compt)."""
    parser = argparse.ArgumentParser(prog="python -m compt.executors.local")
    sub = parser.add_subparsers(dest="command", required=True)
    queue = sub.add_parser("queue", help="run a queue written by compt sweep / retry")
    queue.add_argument("--runs-dir", required=True, type=Path)
    queue.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run_queue(args.runs_dir, args.name)


if __name__ == "__main__":
    main()
