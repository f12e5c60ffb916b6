"""The run store: run folders are the truth, ``runs/index.json`` (TinyDB) a fast summary.

One lean summary document per run, keyed by run id, so ``compt ls`` never opens 10,000
folders. TinyDB is neither multi-process safe nor atomic on its own, so:

* every write holds one ``filelock`` lock (``runs/.index.lock``) for its whole
  read-modify-write, and
* :class:`IndexStorage` re-reads the file on every read and writes by temp file + fsync +
  ``os.replace``, so a reader sees the old index or the new one, never partial JSON.

A missing or unreadable index never breaks a command: the store rebuilds it from the
folders (``reindex``). Tags and notes live in the folder too (``meta.json``), so a rebuild
keeps them. A ``running`` or ``queued`` run whose job is gone shows as ``interrupted``: the
executor recorded in its ``launch.json`` (a local process, a Slurm job) says whether it is.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
import shutil
import time
from collections.abc import Container, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

import orjson
from filelock import AcquireReturnProxy, FileLock, Timeout
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from compt.errors import ComptError
from compt.executors import JobState, executor_for
from compt.files import atomic_write_bytes
from compt.host import HOST, process_alive
from compt.names import (
    INDEX_FILE,
    LOCK_FILE,
    PLAN_LOCK_FILE,
    TRASH_DIR,
    check_note,
    check_run_id,
    check_tag,
    is_run_name,
)
from compt.runfolder import (
    ACTIVE,
    Launch,
    Meta,
    RunFolder,
    RunStatus,
    Status,
    default_runs_dir,
    is_number,
)

__all__ = ["ACTIVE", "HOST", "INDEX_FILE", "LOCK_FILE", "TRASH_DIR", "RunStore", "Summary",
           "job_line", "job_state", "live_state", "process_alive", "read_meta", "summarize"]

LOCK_TIMEOUT_S = 60.0
PLAN_TIMEOUT_S = 600.0  # a Slurm submission of a large grid may take minutes
HPARAM_KEYS = ("prompt_len", "lr_router", "lr_source", "lr_private", "epochs", "batch_size",
               "temperature", "router", "placement", "sampling", "eval_size", "decoding",
               "prompt_encoder", "private_init", "init_sources_from")
log = logging.getLogger("compt.store")


class IndexUnreadable(Exception):
    """The index file is missing or not valid JSON: the caller rebuilds it."""


class IndexStorage(Storage):
    """TinyDB storage safe to share between processes (with the store's lock for writes).

    Reads always go back to the file (another process may have replaced it) and return
    fresh objects the caller owns. Writes replace the file atomically.

    The file is ordinary TinyDB JSON laid out one document per line, which lets
    :meth:`upsert` replace or append one run without parsing the other 10,000 (parsing
    is what makes a whole-file update slow; copying bytes is cheap).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _read_raw(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise IndexUnreadable(f"{self.path} does not exist") from None
        except IsADirectoryError:
            raise IndexUnreadable(f"{self.path} is a directory") from None

    def read(self) -> dict[str, Any]:
        try:
            data = orjson.loads(self._read_raw())
        except orjson.JSONDecodeError as exc:
            raise IndexUnreadable(f"{self.path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise IndexUnreadable(f"{self.path} does not hold TinyDB tables")
        return data

    def write(self, data: dict[str, Any]) -> None:
        parts = []
        for name, docs in data.items():
            lines = b"\n,".join(_doc_line(doc_id, doc) for doc_id, doc in docs.items())
            parts.append(orjson.dumps(name) + b":{\n" + lines + b"\n}")
        self._replace(b"{" + b",".join(parts) + b"}\n")

    def upsert(self, table: str, doc_id: str, doc: dict[str, Any]) -> None:
        """Insert or replace one document, splicing its line into the file."""
        raw = self._read_raw()
        head, tail = b"{" + orjson.dumps(table) + b":{\n", b"\n}}\n"
        if not (raw.startswith(head) and raw.endswith(tail)):
            data = self.read()  # another layout (or a torn file: read() raises)
            data[table] = {**data.get(table, {}), doc_id: doc}
            self.write(data)
            return
        body, line = raw[len(head):-len(tail)], _doc_line(doc_id, doc)
        key = orjson.dumps(doc_id) + b":"
        found = body.find(b"\n," + key)
        start = 0 if body.startswith(key) else found + 2 if found >= 0 else None
        if start is None:
            body = body + b"\n," + line if body else line
        else:
            end = body.find(b"\n", start)
            body = body[:start] + line + (body[end:] if end >= 0 else b"")
        self._replace(head + body + tail)

    def _replace(self, raw: bytes) -> None:
        atomic_write_bytes(self.path, raw)


def _doc_line(doc_id: str, doc: Any) -> bytes:
    # orjson escapes control characters, so a document never contains a raw newline
    return orjson.dumps(str(doc_id)) + b":" + orjson.dumps(doc, default=str)


class RunTable(Table):
    """A TinyDB table whose document ids are run ids (strings)."""

    document_id_class = str

    def put(self, summary: dict[str, Any]) -> None:
        """Insert or replace one run's summary."""
        self._storage.upsert(self.name, summary["run_id"], summary)
        self.clear_cache()

    def put_many(self, summaries: Iterable[dict[str, Any]]) -> None:
        """Insert or replace several summaries with one write."""
        tables = self._storage.read()
        tables[self.name] = {**tables.get(self.name, {}), **{s["run_id"]: s for s in summaries}}
        self._storage.write(tables)
        self.clear_cache()

    def replace_all(self, summaries: Iterable[dict[str, Any]]) -> None:
        """Make the table hold exactly ``summaries`` (one write, for reindex)."""
        try:
            tables = self._storage.read()
        except IndexUnreadable:
            tables = {}  # rebuilding a lost index
        tables[self.name] = {s["run_id"]: s for s in summaries}
        self._storage.write(tables)
        self.clear_cache()


class _IndexDB(TinyDB):
    table_class = RunTable


# -- liveness ----------------------------------------------------------------------------


def job_state(status: Mapping[str, Any], launch: Mapping[str, Any]) -> JobState:
    """What the run's executor knows about its job (unknown for an unknown executor)."""
    plain_launch, plain_status = dict(launch), dict(status)
    try:
        return executor_for(plain_launch).state(plain_launch, plain_status)
    except ComptError:
        return JobState(None, f"unknown executor {launch.get('executor')}")


def job_line(status: Mapping[str, Any], launch: Mapping[str, Any]) -> str | None:
    """A scheduler's job in words with its state, ``slurm job 17_2: RUNNING on node3``
    (None for a local process: its pid says it all)."""
    if not launch.get("job_id"):
        return None
    plain_launch, plain_status = dict(launch), dict(status)
    try:
        executor = executor_for(plain_launch)
    except ComptError:
        return None
    state = executor.state(plain_launch, plain_status).label or "unknown"
    return f"{executor.describe(plain_launch)}: {state}"


def live_state(status: RunStatus, launch: Launch) -> tuple[str, int | None]:
    """The run's status corrected for a job that is gone, and the pid that owns it.

    A running run is owned by its training process (status.json); a queued one by the
    launcher, sweep queue or Slurm job that will start it (launch.json).
    """
    state = status.get("status") or Status.QUEUED
    pid = (status.get("pid") or launch.get("pid")) if state == Status.RUNNING \
        else launch.get("pid")
    if state in ACTIVE or (state == Status.STOPPED and launch.get("job_id")):
        job = job_state(status, launch)
        if job.run_status:  # e.g. a time limit that killed the training mid-stop
            state = job.run_status
        elif state in ACTIVE and job.alive is False:
            state = Status.INTERRUPTED
    return str(state), pid


# -- summaries ---------------------------------------------------------------------------


class Summary(TypedDict):
    """One run in the index (docs/CONTRACTS.md, "Index summary")."""

    run_id: str
    created: str
    status: str
    step: int | None
    total: int | None
    method: str | None
    tasks: list[str]
    k: int | None
    seed: int | None
    data_seed: int | None
    n_sources: int | None
    model: str | None
    hparams: dict[str, Any]
    scores: dict[str, float]
    average: float | None
    duration_s: float | None
    pid: int | None
    host: str | None
    group: str
    name: str
    tags: list[str]
    note: str
    error: str | None
    problem: str | None
    fingerprint: str | None
    config_key: str | None
    executor: str
    job_id: str | None
    # only in a live listing (``RunStore.list`` / ``get`` of an active run)
    phase: NotRequired[str | None]
    phase_done: NotRequired[int | None]
    phase_total: NotRequired[int | None]
    job_state: NotRequired[str | None]
    # only for runs trained with dev_size (the dev-selected state's test scores)
    best_scores: NotRequired[dict[str, float]]
    best_average: NotRequired[float | None]
    # only for runs whose data carry a caveat (a stand-in test set): {task: caveat}
    task_notes: NotRequired[dict[str, str]]
    task_sources: NotRequired[dict[str, str]]  # {task: "lm-bff", "hub: nyu-mll/glue", ...}


def read_meta(folder: RunFolder) -> Meta:
    return folder.read_meta()


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _checked_results(folder: RunFolder, state: str) -> tuple[
        dict[str, float], float | None, float | None, str | None, dict[str, Any]]:
    """Scores, average, duration and a problem (shown in listings) from results.json.

    A results.json of the wrong shape is never trusted in part: its run lists without
    scores, marked, rather than breaking every listing and report.
    """
    results = folder.read_results()
    if results is None:
        if folder.results_path.exists():
            return {}, None, None, "results.json is unreadable or has the wrong shape", {}
        return {}, None, None, "results.json is missing" if state == Status.DONE else None, {}
    scores = {str(k): float(v) for k, v in (results.get("scores") or {}).items()}
    # optional: only runs trained with dev_size have dev-selected scores
    best: dict[str, Any] = {}
    if "best_scores" in results:
        best["best_scores"] = results["best_scores"]
    if "best_average" in results:
        best["best_average"] = results["best_average"]
    data = {str(task): record for task, record in (results.get("data") or {}).items()
            if isinstance(record, dict)}
    for key, field in (("task_notes", "note"), ("task_sources", "source")):
        found = {task: str(record[field]) for task, record in data.items() if record.get(field)}
        if found:
            best[key] = found
    return (scores, _number(results.get("average")), _number(results.get("duration_s")), None,
            best)


def summarize(folder: RunFolder) -> Summary:
    """Build the index summary (docs/CONTRACTS.md) of one run from its folder."""
    record = folder.read_config()
    cfg: dict[str, Any] = record.get("config") or {}
    resolved: dict[str, Any] = record.get("resolved") or {}
    status = folder.read_status()
    meta = folder.read_meta()
    launch = folder.read_launch()
    lrs = resolved.get("learning_rates") or {}
    state, pid = live_state(status, launch)
    error = status.get("error")
    if not isinstance(cfg, dict) or not cfg:
        cfg, state = {}, Status.FAILED
        error = error or "config.json is empty or unreadable; this run cannot start."
    scores, average, duration, problem, best = _checked_results(folder, state)
    if not record:
        problem = "config.json is empty or unreadable"
    hparams = {key: cfg.get(key) for key in HPARAM_KEYS}
    hparams.update(
        prompt_len=resolved.get("prompt_len", cfg.get("prompt_len")),
        epochs=resolved.get("epochs", cfg.get("epochs")),
        batch_size=resolved.get("batch_size", cfg.get("batch_size")),
        temperature=resolved.get("initial_temperature", cfg.get("temperature")),
        **{f"lr_{name}": lrs.get(name, cfg.get(f"lr_{name}")) for name in
           ("router", "source", "private")},
    )
    tags = meta.get("tags", cfg.get("tags") or [])
    summary: Summary = {
        "run_id": folder.run_id,
        "created": str(record.get("created") or ""),
        "status": state,
        "step": status.get("step"),
        "total": status.get("total") or resolved.get("total_steps"),
        "method": cfg.get("method"),
        "tasks": list(resolved.get("tasks") or scores or cfg.get("tasks") or []),
        "k": cfg.get("k"),
        "seed": cfg.get("seed"),
        "data_seed": resolved.get("data_seed", cfg.get("data_seed")),
        "n_sources": cfg.get("n_sources"),
        "model": cfg.get("model"),
        "hparams": hparams,
        "scores": scores,
        "average": average,
        "duration_s": duration,
        "pid": pid,
        "host": status.get("host") or launch.get("host"),
        "group": str(cfg.get("group") or ""),
        "name": str(cfg.get("name") or ""),
        "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
        "note": str(meta.get("note", cfg.get("note") or "")),
        "error": str(error)[:500] if error else None,
        "problem": problem,
        "fingerprint": record.get("fingerprint"),
        "config_key": record.get("config_key"),
        "executor": launch.get("executor") or "local",
        "job_id": launch.get("job_id"),
    }
    if "best_scores" in best:
        summary["best_scores"] = best["best_scores"]
    if "best_average" in best:
        summary["best_average"] = best["best_average"]
    for key in ("task_notes", "task_sources"):
        if key in best:
            summary[key] = best[key]
    return summary


def _job_end(summary: Summary) -> Summary:
    """An interrupted or stopped run of a scheduler's job with how the job ended next to it
    (``TIMEOUT``, ``NODE_FAIL``, ``PREEMPTED``): why it stopped, and that retry resumes it.
    A stopped run whose job the scheduler ended (or requeued) is interrupted (or queued),
    as in ``live_state``."""
    if summary.get("status") not in (Status.INTERRUPTED, Status.STOPPED) \
            or not summary.get("job_id"):
        return summary
    launch = {"executor": summary.get("executor"), "job_id": summary.get("job_id")}
    job = job_state({"status": summary["status"]}, launch)
    if summary["status"] == Status.STOPPED and not job.run_status:
        return summary
    return {**summary, "status": job.run_status or summary["status"], "job_state": job.label}


def _well_formed(run_id: str, summary: Any) -> bool:
    """An index entry a listing can use (anything else is skipped until reindex)."""
    return (isinstance(summary, dict) and summary.get("run_id") == run_id
            and isinstance(summary.get("status"), str)
            and isinstance(summary.get("scores", {}), dict)
            and isinstance(summary.get("tags", []), list))


def _newest_first(summaries: Iterable[Summary]) -> list[Summary]:
    return sorted(summaries, key=lambda s: (s.get("created") or "", s["run_id"]), reverse=True)


class RunStore:
    """All runs under one folder: summaries from the index, details from the folders."""

    def __init__(self, runs_dir: Path | str | None = None) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.index_path = self.runs_dir / INDEX_FILE
        self._lock = FileLock(self.runs_dir / LOCK_FILE, timeout=LOCK_TIMEOUT_S)
        self._db = _IndexDB(self.index_path, storage=IndexStorage)
        self._table: RunTable = self._db.table("runs", cache_size=0)  # no query cache: shared file
        self._warned = False

    # -- locking and the raw index ---------------------------------------------------

    def locked(self) -> AcquireReturnProxy[FileLock]:
        """The index write lock (re-entrant within this store); raises ComptError on timeout."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        try:
            return self._lock.acquire()
        except Timeout:
            raise ComptError(
                f"The run index {self.index_path} stayed locked by another compt process for "
                f"{LOCK_TIMEOUT_S:.0f} s. Wait for it to finish, then try again."
            ) from None

    @contextlib.contextmanager
    def planning(self) -> Iterator[None]:
        """Held by a sweep from its plan until its new runs are in the index.

        Without it, identical sweeps started together all see an empty store and train
        every cell once each. A separate lock from the index's: a sweep holding this one
        still writes the index, and nothing else waits on it.
        """
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.runs_dir / PLAN_LOCK_FILE)
        try:
            lock.acquire(timeout=PLAN_TIMEOUT_S)
        except Timeout:
            raise ComptError(
                f"Another compt sweep has been planning in {self.runs_dir} for "
                f"{PLAN_TIMEOUT_S:.0f} s ({self.runs_dir / PLAN_LOCK_FILE} is locked). Wait "
                "for it to finish, then try again.") from None
        try:
            yield
        finally:
            lock.release()

    def _rows(self) -> dict[str, Summary]:
        """Every summary in the index, rebuilding the index first if it is unreadable, and
        adding the runs it lacks (see :meth:`_heal`)."""
        try:
            rows = self._read_index()
        except IndexUnreadable:
            return {s["run_id"]: s for s in self._rebuild()}
        return self._heal(rows)

    def _heal(self, rows: dict[str, Summary]) -> dict[str, Summary]:
        """``rows`` plus the run folders the index lacks, written back when it can be.

        A run whose index update failed (a full or read-only disk) would otherwise stay
        invisible after the fault is fixed until a manual ``compt reindex``. Finding them
        costs one directory listing; only names missing from the index are looked at.
        """
        missing = [summarize(RunFolder(self.runs_dir / run_id))
                   for run_id in self.run_ids_on_disk(known=rows)]
        if not missing:
            return rows
        try:
            with self.locked():  # `rm` forgets and moves a run under this lock: recheck
                missing = [s for s in missing if RunFolder(self.runs_dir / s["run_id"]).exists()]
                self._table.put_many(cast(list[dict[str, Any]], missing))
        except (OSError, ComptError, IndexUnreadable):
            if not self._warned:  # still faulty: list them, and say how to fix the index
                self._warned = True
                log.warning("%d runs are missing from %s and it cannot be written now; they "
                            "are listed from their folders (`compt reindex` rebuilds it).",
                            len(missing), self.index_path)
        return {**rows, **{s["run_id"]: s for s in missing}}

    def _read_index(self) -> dict[str, Summary]:
        """The index's well-formed entries; damaged ones are skipped with one warning."""
        # straight from the storage: TinyDB's Document copies cost 20% of `compt ls`
        rows = self._db.storage.read().get(self._table.name, {})
        good = {k: v for k, v in rows.items() if _well_formed(k, v)}
        if len(good) < len(rows) and not self._warned:
            self._warned = True
            log.warning("%d entries of %s are damaged and were skipped; `compt reindex` "
                        "rebuilds the index from the run folders.", len(rows) - len(good),
                        self.index_path)
        return cast(dict[str, Summary], good)

    def _rebuild(self) -> list[Summary]:
        """Recover from a missing/corrupt index: rescan folders, and save if possible."""
        if not self.runs_dir.is_dir():
            return []
        try:
            with self.locked():
                try:  # another process may have rebuilt it while we waited
                    return list(self._read_index().values())
                except IndexUnreadable:
                    summaries = self.scan()
                    self._write_all(summaries)
                    return summaries
        except (OSError, ComptError):
            return self.scan()  # read-only store or a stuck lock: still answer

    def _write_all(self, summaries: list[Summary]) -> None:
        """Make the index hold exactly ``summaries``; whatever sits in its place (a
        directory, say) is moved to the trash first."""
        if self.index_path.is_dir() and not self.index_path.is_symlink():
            self.runs_dir.joinpath(TRASH_DIR).mkdir(exist_ok=True)
            os.replace(self.index_path, self.runs_dir / TRASH_DIR /
                       f"{INDEX_FILE}.{time.strftime('%Y%m%d-%H%M%S')}.{os.getpid()}")
        self._table.replace_all(cast(list[dict[str, Any]], summaries))

    def run_ids_on_disk(self, known: Container[str] = frozenset()) -> list[str]:
        """Names of the run folders (those with a config.json) not in ``known``, in no
        particular order.

        A link to another folder of this store is an alias, not a run: counting it would
        count that run twice.
        """
        try:
            entries = list(os.scandir(self.runs_dir))
        except OSError:
            return []
        return [e.name for e in entries
                if e.name not in known and is_run_name(e.name)
                and not (e.is_symlink() and self._is_alias(Path(e.path)))
                and RunFolder.is_run(Path(e.path))]

    def _is_alias(self, link: Path) -> bool:
        try:
            return link.resolve().parent == self.runs_dir.resolve()
        except OSError:  # a loop
            return True

    def scan(self) -> list[Summary]:
        """Summaries built from the folders alone (no index involved)."""
        return [summarize(RunFolder(self.runs_dir / run_id)) for run_id in self.run_ids_on_disk()]

    # -- public API --------------------------------------------------------------------

    def folder(self, run_id: str) -> RunFolder:
        return RunFolder.open(self.runs_dir, run_id)

    def sync(self, run_id: str) -> Summary:
        """Re-read one run's folder and upsert its summary; returns the summary."""
        folder = RunFolder(self.runs_dir / check_run_id(run_id))
        with self.locked():
            if not folder.exists():
                self._forget(run_id)
                raise ComptError(f"No run '{run_id}' in {self.runs_dir}.")
            summary = summarize(folder)
            try:
                self._table.put(cast(dict[str, Any], summary))
            except IndexUnreadable:
                self._rebuild()  # the rescan includes this run
        return summary

    def _forget(self, run_id: str) -> None:
        """Drop one run's index entry (its folder is gone). A run the index never had
        (listed from its folder only) costs no write: on a full disk none would succeed."""
        try:
            if run_id in self._db.storage.read().get(self._table.name, {}):
                self._table.remove(doc_ids=[run_id])
        except IndexUnreadable:
            self._rebuild()

    def sync_many(self, run_ids: Iterable[str]) -> list[Summary]:
        """``sync`` several runs with a single index write (a sweep queues many at once)."""
        with self.locked():
            summaries = [summarize(self.folder(run_id)) for run_id in run_ids]
            try:
                self._table.put_many(cast(list[dict[str, Any]], summaries))
            except IndexUnreadable:
                self._rebuild()
        return summaries

    def reindex(self) -> int:
        """Rebuild the index from the run folders; returns the number of runs."""
        if not self.runs_dir.is_dir():
            raise ComptError(f"Runs folder {self.runs_dir} does not exist.")
        with self.locked():
            summaries = self.scan()
            self._write_all(summaries)
        return len(summaries)

    def list(
        self,
        status: str | None = None,
        method: str | None = None,
        task: str | None = None,
        k: int | None = None,
        seed: int | None = None,
        group: str | None = None,
        tag: str | None = None,
    ) -> list[Summary]:
        """Summaries matching every given filter, newest first, with live status."""
        rows = [self._live(s) if s.get("status") in ACTIVE else _job_end(s)
                for s in self._rows().values()]
        out = [
            s for s in rows if s is not None
            and (status is None or s.get("status") == status)
            and (method is None or s.get("method") == method)
            and (k is None or s.get("k") == k)
            and (seed is None or s.get("seed") == seed)
            and (group is None or s.get("group") == group)
            and (task is None or task in (s.get("tasks") or ()))
            and (tag is None or tag in (s.get("tags") or ()))
        ]
        return _newest_first(out)

    def get(self, run_id: str) -> Summary:
        """One run's summary, built from its folder (cheaper than reading the whole index)."""
        return summarize(self.folder(run_id))

    def resolve(self, run_or_group: str) -> builtins.list[str]:
        """Run ids named by a run id, a unique run id prefix, or a group name."""
        check_run_id(run_or_group)
        if RunFolder(self.runs_dir / run_or_group).exists():
            return [run_or_group]
        rows = _newest_first(self._rows().values())
        group = [s["run_id"] for s in reversed(rows) if s.get("group") == run_or_group]
        if group:
            return group
        matches = [s["run_id"] for s in rows if s["run_id"].startswith(run_or_group)]
        if len(matches) == 1:
            return matches
        if matches:
            shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
            raise ComptError(
                f"'{run_or_group}' matches {len(matches)} runs ({shown}); give more of the id."
            )
        raise ComptError(f"No run or group '{run_or_group}' in {self.runs_dir}.")

    def set_tags(
        self, run_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> builtins.list[str]:
        """Add and remove tags (stored in the run's meta.json); returns the new tags."""
        added, removed = [check_tag(t) for t in add], {t.strip() for t in remove}
        with self.locked():
            folder = self.folder(run_id)
            tags = self.get(run_id)["tags"]
            tags = [t for t in tags if t not in removed] + [t for t in added if t not in tags]
            folder.write_meta(tags=list(dict.fromkeys(tags)))
            return self.sync(run_id)["tags"]

    def set_note(self, run_id: str, text: str) -> None:
        """Replace the run's free-text note (an empty text clears it)."""
        note = check_note(text)
        with self.locked():
            self.folder(run_id).write_meta(note=note)
            self.sync(run_id)

    def remove(self, run_id: str, purge: bool = False, unstarted: bool = False) -> Path | None:
        """Move a run to ``runs/.trash/`` (or delete it with ``purge``); returns where it
        went, or None when only its index entry was left (or it was purged).

        The index entry goes first: should moving the folder then fail, the entry is put
        back, so the index and the folders agree whichever step a fault stops.
        ``unstarted``: the caller knows no process owns the run yet (a sweep undoing itself).
        """
        folder = RunFolder(self.runs_dir / check_run_id(run_id))
        if folder.exists():
            state = None if unstarted else summarize(folder)["status"]
            if state in ACTIVE:
                raise ComptError(
                    f"Run '{run_id}' is {state}; stop it first (compt stop {run_id}).")
        elif run_id not in self._rows():
            raise ComptError(f"No run '{run_id}' in {self.runs_dir}.")
        with self.locked():
            self._forget(run_id)
            if not folder.path.is_dir():
                return None
            try:
                return self._discard(folder.path, purge)
            except OSError:
                if folder.exists():
                    self.sync(run_id)
                raise

    def _discard(self, source: Path, purge: bool) -> Path | None:
        if purge:
            shutil.rmtree(source)
            return None
        trash = self.runs_dir / TRASH_DIR
        trash.mkdir(exist_ok=True)
        target = trash / source.name
        if target.exists():
            target = trash / f"{source.name}.{time.strftime('%Y%m%d-%H%M%S')}"
        os.replace(source, target)
        return target

    def archive(self, run_id: str) -> Path | None:
        """Move a finished run to the trash so that its id can be trained afresh (--force)."""
        return self.remove(run_id)

    # -- live status -------------------------------------------------------------------

    def _live(self, summary: Summary) -> Summary | None:
        """Refresh an active run from its folder (progress, a dead process); heal the index.

        None: the run's folder is gone (its stale entry is dropped)."""
        folder = RunFolder(self.runs_dir / summary["run_id"])
        status = folder.read_status()
        if not status:
            if folder.path.is_dir():
                return summary
            try:
                with self.locked():
                    self._forget(summary["run_id"])
            except (OSError, ComptError):
                pass  # a read-only store: still leave the gone run out of the listing
            return None
        launch = folder.read_launch()
        state, pid = live_state(status, launch)
        if state not in ACTIVE and state != Status.INTERRUPTED:
            try:  # finished, but its last index update was lost: fix the index
                return self.sync(summary["run_id"])
            except (ComptError, OSError):
                pass
        live: Summary = {**summary, "status": state, "pid": pid, "step": status.get("step"),
                         "total": status.get("total") or summary.get("total"),
                         "phase": status.get("phase"), "phase_done": status.get("phase_done"),
                         "phase_total": status.get("phase_total")}
        if launch.get("job_id"):  # a scheduler's job: its own state next to compt's
            live["job_state"] = job_state(status, launch).label
        return live
