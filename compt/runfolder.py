"""One run's folder: the source of truth for that run (DESIGN.md, "Run storage").

Layout of ``<runs_dir>/<run_id>/``::

    config.json       the RunConfig as a dict plus "resolved" derived values; written once
    status.json       live state, replaced atomically (fields: docs/CONTRACTS.md)
    metrics.jsonl     append-only: {"step", "epoch", "loss", "lr", "temperature", "time"} rows
                      and {"step", "eval": {task: score}, "average"} rows; a torn last line
                      is ignored by readers
    train.log         human-readable log (stdout/stderr of detached runs too)
    results.json      final scores and analyses (see compt.evaluate / compt.analysis)
    checkpoint.safetensors  trainable parameters (+ optimizer state while a run is unfinished)

Writers here never leave a half-written JSON file behind: every replace goes through a
temp file, fsync and ``os.replace``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from compt.errors import ComptError

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone gives 0600


def atomic_write_json(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON so that no reader ever sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.chmod(tmp, FILE_MODE)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: Any = None) -> Any:
    """Read JSON, returning ``default`` for a missing or unreadable file."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the complete rows of a JSON-lines file; a torn or corrupt line is skipped."""
    try:
        fh = path.open()
    except OSError:
        return
    with fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # a writer is mid-line or died mid-line
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                yield row


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_run_id(method: str) -> str:
    """Sortable, unique, filesystem-safe: ``20261124-071530-ssum-3fa9c1``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{method}-{secrets.token_hex(3)}"


def check_run_id(run_id: str) -> str:
    """Reject ids that could escape the runs folder (``..``, slashes, absolute paths)."""
    if not RUN_ID_PATTERN.match(run_id) or ".." in run_id:
        raise ComptError(
            f"'{run_id}' is not a valid run id: use letters, digits, '-', '_' and '.' only."
        )
    return run_id


def default_runs_dir() -> Path:
    return Path(os.environ.get("COMPT_RUNS_DIR", "runs"))


@dataclass
class RunFolder:
    """Paths and safe readers/writers for one run's files."""

    path: Path

    @classmethod
    def create(cls, runs_dir: Path, run_id: str) -> RunFolder:
        check_run_id(run_id)
        path = Path(runs_dir) / run_id
        path.mkdir(parents=True, exist_ok=False)
        return cls(path)

    @classmethod
    def open(cls, runs_dir: Path, run_id: str) -> RunFolder:
        check_run_id(run_id)
        path = Path(runs_dir) / run_id
        if not (path / "config.json").is_file():
            raise ComptError(f"No run '{run_id}' in {runs_dir}.")
        return cls(path)

    @property
    def run_id(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    log_path = property(lambda self: self.path / "train.log")
    results_path = property(lambda self: self.path / "results.json")
    checkpoint_path = property(lambda self: self.path / "checkpoint.safetensors")
    best_checkpoint_path = property(lambda self: self.path / "best.safetensors")

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        return read_json(self.config_path, {}) or {}

    def read_status(self) -> dict[str, Any]:
        return read_json(self.status_path, {}) or {}

    def update_status(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into status.json (atomic replace); returns the new status."""
        status = self.read_status()
        status.update(fields)
        status["updated"] = now_iso()
        atomic_write_json(self.status_path, status)
        return status

    def start_status(self, total: int, status: str = "running") -> dict[str, Any]:
        return self.update_status(
            status=status, step=0, total=total, pid=os.getpid(), host=socket.gethostname(),
            started=now_iso(), started_ts=time.time(), finished=None, error=None,
        )

    def append_metrics(self, row: dict[str, Any]) -> None:
        with self.metrics_path.open("a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        return list(read_jsonl(self.metrics_path))

    def write_results(self, results: dict[str, Any]) -> None:
        atomic_write_json(self.results_path, results)

    def read_results(self) -> dict[str, Any] | None:
        return read_json(self.results_path)


def create_run_folder(
    runs_dir: Path, config: Any, run_id: str | None = None, status: str = "queued"
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
    folder.write_config({
        "run_id": folder.run_id,
        "created": now_iso(),
        "config": config.to_dict(),
        "resolved": resolved,
        "fingerprint": config.fingerprint(),
        "config_key": config.config_key(),
    })
    folder.update_status(status=status, step=0, total=None, pid=None, error=None)
    return folder
