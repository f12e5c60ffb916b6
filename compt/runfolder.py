"""One run's folder: the source of truth for that run (DESIGN.md, "Run storage").

``RunFolder`` owns every file of ``<runs_dir>/<run_id>/``; no other module spells their
names. The schemas (docs/CONTRACTS.md) are the ``TypedDict``s below::

    config.json       ConfigRecord: the RunConfig plus "resolved" derived values
    status.json       RunStatus: live state, replaced atomically
    metrics.jsonl     append-only train rows and eval rows; a torn last line is ignored
    train.log         human-readable log (stdout/stderr of detached runs too)
    results.json      Results: final scores and analyses
    checkpoint.safetensors  trainable parameters (+ optimizer state while unfinished)
    meta.json         Meta: tags and note, editable after the run (written by the store)
    launch.json       Launch: the process that owns a queued run (launcher / queue)
    transfer.json     the cross-task transfer matrix (``compt analyze``)
    .train.lock       held (flock) by the one training process of the run

Writers never leave a half-written file behind (``compt.files.atomic_file``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypedDict, cast

from compt.errors import ComptError
from compt.files import FILE_MODE, atomic_write_json, read_json, read_jsonl
from compt.names import NAME_PATTERN as RUN_ID_PATTERN
from compt.names import check_run_id

__all__ = ["FILE_MODE", "RUN_ID_PATTERN", "ConfigRecord", "Launch", "Meta", "Results",
           "RunFolder", "RunStatus", "Status", "atomic_write_json", "check_run_id",
           "create_run_folder", "default_runs_dir", "new_run_id", "now_iso",
           "read_json", "read_jsonl"]


class Status(StrEnum):
    """A run's status, the one definition (a ``str``, so JSON and comparisons just work)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died without saying so (set by readers)
    STOPPED = "stopped"


ACTIVE: tuple[str, ...] = (Status.QUEUED, Status.RUNNING)
# How a status is drawn wherever it is shown (compt ls / show, the TUI): one palette, so a
# run reads the same in both. Yellow: it can be continued (compt retry).
STATUS_STYLE: dict[str, str] = {
    Status.DONE: "green",
    Status.RUNNING: "bold",
    Status.QUEUED: "dim",
    # light on dark, also in NO_COLOR's greys (theme red text became dark grey there: 1.3:1)
    Status.FAILED: "bold #ffffff on #a00000",
    Status.INTERRUPTED: "yellow",
    Status.STOPPED: "yellow",
}


class Phase(StrEnum):
    """What a running run is doing (status.json ``phase``)."""

    LOADING = "loading model and data"
    TRAINING = "training"
    EVALUATING = "evaluating"
    ANALYSIS = "per-prompt analysis"


class ConfigRecord(TypedDict, total=False):
    run_id: str
    created: str
    config: dict[str, Any]
    resolved: dict[str, Any]
    fingerprint: str
    config_key: str


class RunStatus(TypedDict, total=False):
    status: str
    phase: str | None
    phase_done: int | None  # within a phase that counts (compt.phases)
    phase_total: int | None
    step: int | None
    total: int | None
    epoch: int
    loss: float
    throughput: float | None
    eta_s: float | None
    pid: int | None
    host: str
    started: str
    started_ts: float
    updated: str
    finished: str | None
    error: str | None


class Results(TypedDict, total=False):
    scores: dict[str, float]
    average: float
    metrics: dict[str, dict[str, float]]
    primary_metric: dict[str, str]
    eval_size: dict[str, int]
    data: dict[str, dict[str, Any]]  # per task: source, train split, classes, caveats
    per_prompt: dict[str, Any] | None
    router: dict[str, Any] | None
    predictions: dict[str, dict[str, Any]]
    steps: int
    duration_s: float
    train_time_s: float
    best_scores: dict[str, float]  # with dev_size: the dev-selected state's test scores
    best_average: float
    best_step: int | None
    best_dev_average: float


class Launch(TypedDict, total=False):
    """launch.json: who owns the run's job (``executor``; local: pid and host, Slurm: job id)."""

    executor: str
    pid: int
    host: str
    time: float
    by: str
    job_id: str
    submitted_from: str
    options: dict[str, Any]
    resubmits: int  # Slurm: how many times compt resubmitted the run by itself


class Meta(TypedDict, total=False):
    tags: list[str]
    note: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id(method: str) -> str:
    """Sortable, unique, filesystem-safe: ``20261124-071530-ssum-3fa9c1``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{method}-{secrets.token_hex(3)}"


def default_runs_dir() -> Path:
    return Path(os.environ.get("COMPT_RUNS_DIR", "runs"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _results_shape_ok(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    scores, average = data.get("scores"), data.get("average")
    return (isinstance(scores, dict) and all(is_number(v) for v in scores.values())
            and (average is None or is_number(average))
            and all(isinstance(data.get(key), dict | None)
                    for key in ("metrics", "primary_metric", "per_prompt", "router",
                                "predictions", "eval_size")))


@dataclass
class RunFolder:
    """Paths and safe readers/writers for one run's files."""

    path: Path

    CONFIG = "config.json"

    @classmethod
    def create(cls, runs_dir: Path, run_id: str) -> RunFolder:
        check_run_id(run_id)
        path = Path(runs_dir) / run_id
        path.mkdir(parents=True, exist_ok=False)
        return cls(path)

    @classmethod
    def open(cls, runs_dir: Path, run_id: str) -> RunFolder:
        check_run_id(run_id)
        folder = cls(Path(runs_dir) / run_id)
        if not folder.exists():
            raise ComptError(f"No run '{run_id}' in {runs_dir}.")
        return folder

    @classmethod
    def is_run(cls, path: Path) -> bool:
        """A folder is a run once it has its config.json."""
        return (Path(path) / cls.CONFIG).is_file()

    def exists(self) -> bool:
        return self.is_run(self.path)

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / self.CONFIG

    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    log_path = property(lambda self: self.path / "train.log")
    results_path = property(lambda self: self.path / "results.json")
    checkpoint_path = property(lambda self: self.path / "checkpoint.safetensors")
    best_checkpoint_path = property(lambda self: self.path / "best.safetensors")
    meta_path = property(lambda self: self.path / "meta.json")
    launch_path = property(lambda self: self.path / "launch.json")
    transfer_path = property(lambda self: self.path / "transfer.json")
    lock_path = property(lambda self: self.path / ".train.lock")

    # -- config and status -------------------------------------------------------------

    def write_config(self, config: ConfigRecord) -> None:
        atomic_write_json(self.config_path, config)

    def read_config(self) -> ConfigRecord:
        return cast(ConfigRecord, _dict(read_json(self.config_path)))

    def read_status(self) -> RunStatus:
        return cast(RunStatus, _dict(read_json(self.status_path)))

    def update_status(self, **fields: Any) -> RunStatus:
        """Merge ``fields`` into status.json (atomic replace); returns the new status."""
        status: dict[str, Any] = {**self.read_status(), **fields, "updated": now_iso()}
        atomic_write_json(self.status_path, status)
        return cast(RunStatus, status)

    def start_status(self, total: int | None, status: str = Status.RUNNING) -> RunStatus:
        return self.update_status(
            status=status, step=0, total=total, pid=os.getpid(), host=socket.gethostname(),
            started=now_iso(), started_ts=time.time(), finished=None, error=None,
            phase=None, eta_s=None,  # not the dead process's last phase while this one loads
        )

    # -- metrics and results -----------------------------------------------------------

    def append_metrics(self, row: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.metrics_path))

    def truncate_metrics(self, step: int) -> None:
        """Keep only rows up to ``step``: a resumed run redoes the steps after its
        checkpoint, and they must not be logged twice."""
        rows = [row for row in self.read_metrics() if (row.get("step") or 0) <= step]
        with self.metrics_path.open("w") as fh:
            fh.writelines(json.dumps(row, default=float) + "\n" for row in rows)

    def write_results(self, results: Results) -> None:
        atomic_write_json(self.results_path, results)

    def read_results(self) -> Results | None:
        """results.json, or None when it is missing, unreadable or of the wrong shape
        (scores not numbers by task, say): readers never get to trust part of it."""
        data = read_json(self.results_path)
        return cast(Results, data) if _results_shape_ok(data) else None

    def read_transfer(self) -> dict[str, Any] | None:
        data = read_json(self.transfer_path)
        return data if isinstance(data, dict) else None

    def write_transfer(self, matrix: dict[str, Any]) -> None:
        atomic_write_json(self.transfer_path, matrix)

    # -- owner records -----------------------------------------------------------------

    def read_meta(self) -> Meta:
        return cast(Meta, _dict(read_json(self.meta_path)))

    def write_meta(self, **fields: Any) -> None:
        atomic_write_json(self.meta_path, {**self.read_meta(), **fields})

    def read_launch(self) -> Launch:
        return cast(Launch, _dict(read_json(self.launch_path)))

    def write_launch(self, pid: int, by: str) -> None:
        """Record a local process (a training or a queue) as the run's owner."""
        self.write_launch_record({"executor": "local", "pid": pid, "host": socket.gethostname(),
                                  "time": time.time(), "by": by})

    def write_launch_record(self, launch: Launch) -> None:
        """Record the run's owner as an executor reported it (e.g. a Slurm job id)."""
        atomic_write_json(self.launch_path, launch)

    @contextmanager
    def trainer_lock(self) -> Iterator[None]:
        """Held by the one process training this run, for its whole life.

        An ``flock`` on ``.train.lock``: the kernel drops it when the process ends, even by
        kill -9, so a dead trainer never blocks a retry. A second trainer gets ComptError
        naming the holder (its pid and host are written into the lock file).
        """
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                    raise
                holder = _dict(read_json(self.lock_path))
                raise ComptError(
                    f"Run '{self.run_id}' is already being trained by pid "
                    f"{holder.get('pid', '?')} on {holder.get('host', '?')}; a run has one "
                    f"trainer at a time. Stop it first (compt stop {self.run_id}) or use "
                    "another --run-id."
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                      "since": now_iso()}).encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock


def create_run_folder(
    runs_dir: Path, config: Any, run_id: str | None = None, status: str = Status.QUEUED
) -> RunFolder:
    """Make a new run folder with its config.json and an initial status (``queued``).

    ``config`` is a ``RunConfig``. The training process later adds the ``resolved`` values
    (task names, steps) to config.json once it has loaded the tasks.
    """
    from compt.tasks import resolve_tasks

    resolved = config.resolved()
    try:  # suite names -> task names, so listings show real tasks while a run is queued
        resolved["tasks"] = [task.name for task in resolve_tasks(config.tasks)]
    except ComptError:
        pass  # the run itself will fail with the full explanation
    folder = RunFolder.create(Path(runs_dir), run_id or new_run_id(config.method))
    try:
        folder.update_status(status=status, step=0, total=None, pid=None, error=None)
        folder.write_config({  # last: a folder is a run once its config.json exists
            "run_id": folder.run_id,
            "created": now_iso(),
            "config": config.to_dict(),
            "resolved": resolved,
            "fingerprint": config.fingerprint(),
            "config_key": config.config_key(),
        })
    except BaseException:
        shutil.rmtree(folder.path, ignore_errors=True)  # no half-made run (a full disk)
        raise
    return folder
