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

import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from compt.errors import ComptError
from compt.executors import JobState, executor_for
from compt.executors.local import HOST, process_alive  # noqa: F401 - part of this API
from compt.runfolder import (
    RUN_ID_PATTERN,
    RunFolder,
    atomic_write_json,
    check_run_id,
    default_runs_dir,
    read_json,
)

INDEX_FILE = "index.json"
LOCK_FILE = ".index.lock"
TRASH_DIR = ".trash"
META_FILE = "meta.json"  # tags and note, editable after the run (config.json is immutable)
LAUNCH_FILE = "launch.json"  # the executor and job handle (local: pid/host) of a run
LOCK_TIMEOUT_S = 60.0
ACTIVE = ("queued", "running")
HPARAM_KEYS = ("prompt_len", "lr_router", "lr_source", "lr_private", "epochs", "batch_size",
               "temperature", "router", "placement", "sampling", "eval_size", "decoding",
               "prompt_encoder", "private_init", "init_sources_from")


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
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".index.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


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


def job_state(status: dict[str, Any], launch: dict[str, Any]) -> JobState:
    """What the run's executor knows about its job (unknown for an unknown executor)."""
    try:
        return executor_for(launch).state(launch, status)
    except ComptError:
        return JobState(None, f"unknown executor {launch.get('executor')}")


def job_line(status: dict[str, Any], launch: dict[str, Any]) -> str | None:
    """A scheduler's job in words with its state, ``slurm job 17_2: RUNNING on node3``
    (None for a local process: its pid says it all)."""
    if not launch.get("job_id"):
        return None
    try:
        executor = executor_for(launch)
    except ComptError:
        return None
    return f"{executor.describe(launch)}: {executor.state(launch, status).label or 'unknown'}"


def live_state(status: dict[str, Any], launch: dict[str, Any]) -> tuple[str, int | None]:
    """The run's status corrected for a job that is gone, and the pid that owns it.

    A running run is owned by its training process (status.json); a queued one by the
    launcher, sweep queue or Slurm job that will start it (launch.json).
    """
    state = status.get("status") or "queued"
    pid = (status.get("pid") or launch.get("pid")) if state == "running" else launch.get("pid")
    if state in ACTIVE and job_state(status, launch).alive is False:
        state = "interrupted"
    return state, pid


# -- summaries ---------------------------------------------------------------------------


def read_meta(folder: RunFolder) -> dict[str, Any]:
    meta = read_json(folder.path / META_FILE, {})
    return meta if isinstance(meta, dict) else {}


def summarize(folder: RunFolder) -> dict[str, Any]:
    """Build the index summary (docs/CONTRACTS.md) of one run from its folder."""
    record = folder.read_config()
    cfg = record.get("config") or {}
    resolved = record.get("resolved") or {}
    status = folder.read_status()
    results = folder.read_results() or {}
    meta = read_meta(folder)
    launch = read_json(folder.path / LAUNCH_FILE, {}) or {}
    scores = results.get("scores") or {}
    lrs = resolved.get("learning_rates") or {}
    state, pid = live_state(status, launch)
    hparams = {key: cfg.get(key) for key in HPARAM_KEYS}
    hparams.update(
        prompt_len=resolved.get("prompt_len", cfg.get("prompt_len")),
        epochs=resolved.get("epochs", cfg.get("epochs")),
        batch_size=resolved.get("batch_size", cfg.get("batch_size")),
        temperature=resolved.get("initial_temperature", cfg.get("temperature")),
        **{f"lr_{name}": lrs.get(name, cfg.get(f"lr_{name}")) for name in
           ("router", "source", "private")},
    )
    error = status.get("error")
    return {
        "run_id": folder.run_id,
        "created": record.get("created") or "",
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
        "average": results.get("average"),
        "duration_s": results.get("duration_s"),
        "pid": pid,
        "host": status.get("host") or launch.get("host"),
        "group": cfg.get("group") or "",
        "name": cfg.get("name") or "",
        "tags": list(meta.get("tags", cfg.get("tags") or [])),
        "note": meta.get("note", cfg.get("note") or ""),
        "error": str(error)[:500] if error else None,
        "fingerprint": record.get("fingerprint"),
        "config_key": record.get("config_key"),
        "executor": launch.get("executor") or "local",
        "job_id": launch.get("job_id"),
    }


def _newest_first(summaries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(summaries, key=lambda s: (s.get("created") or "", s["run_id"]), reverse=True)


class RunStore:
    """All runs under one folder: summaries from the index, details from the folders."""

    def __init__(self, runs_dir: Path | str | None = None) -> None:
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.index_path = self.runs_dir / INDEX_FILE
        self._lock = FileLock(self.runs_dir / LOCK_FILE, timeout=LOCK_TIMEOUT_S)
        self._db = _IndexDB(self.index_path, storage=IndexStorage)
        self._table: RunTable = self._db.table("runs", cache_size=0)  # no query cache: shared file

    # -- locking and the raw index ---------------------------------------------------

    def locked(self) -> FileLock:
        """The index write lock (re-entrant within this store); raises ComptError on timeout."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        try:
            return self._lock.acquire()
        except Timeout:
            raise ComptError(
                f"The run index {self.index_path} stayed locked by another compt process for "
                f"{LOCK_TIMEOUT_S:.0f} s. Wait for it to finish, then try again."
            ) from None

    def _rows(self) -> dict[str, dict[str, Any]]:
        """Every summary in the index, rebuilding the index first if it is unreadable."""
        try:
            return self._read_index()
        except IndexUnreadable:
            return {s["run_id"]: s for s in self._rebuild()}

    def _read_index(self) -> dict[str, dict[str, Any]]:
        # straight from the storage: TinyDB's Document copies cost 20% of `compt ls`
        return self._db.storage.read().get(self._table.name, {})

    def _rebuild(self) -> list[dict[str, Any]]:
        """Recover from a missing/corrupt index: rescan folders, and save if possible."""
        if not self.runs_dir.is_dir():
            return []
        try:
            with self.locked():
                try:  # another process may have rebuilt it while we waited
                    return list(self._read_index().values())
                except IndexUnreadable:
                    summaries = self.scan()
                    self._table.replace_all(summaries)
                    return summaries
        except (OSError, ComptError):
            return self.scan()  # read-only store or a stuck lock: still answer

    def run_ids_on_disk(self) -> list[str]:
        """Names of the run folders (those with a config.json), in no particular order."""
        try:
            entries = list(os.scandir(self.runs_dir))
        except OSError:
            return []
        return [e.name for e in entries if not e.name.startswith(".")
                and RUN_ID_PATTERN.match(e.name) and os.path.isfile(Path(e.path, "config.json"))]

    def scan(self) -> list[dict[str, Any]]:
        """Summaries built from the folders alone (no index involved)."""
        return [summarize(RunFolder(self.runs_dir / run_id)) for run_id in self.run_ids_on_disk()]

    # -- public API --------------------------------------------------------------------

    def folder(self, run_id: str) -> RunFolder:
        return RunFolder.open(self.runs_dir, run_id)

    def sync(self, run_id: str) -> dict[str, Any]:
        """Re-read one run's folder and upsert its summary; returns the summary."""
        check_run_id(run_id)
        path = self.runs_dir / run_id
        with self.locked():
            if not (path / "config.json").is_file():
                try:
                    self._table.remove(doc_ids=[run_id])
                except IndexUnreadable:
                    self._rebuild()
                raise ComptError(f"No run '{run_id}' in {self.runs_dir}.")
            summary = summarize(RunFolder(path))
            try:
                self._table.put(summary)
            except IndexUnreadable:
                self._rebuild()  # the rescan includes this run
        return summary

    def sync_many(self, run_ids: Iterable[str]) -> list[dict[str, Any]]:
        """``sync`` several runs with a single index write (a sweep queues many at once)."""
        with self.locked():
            summaries = [summarize(self.folder(run_id)) for run_id in run_ids]
            try:
                self._table.put_many(summaries)
            except IndexUnreadable:
                self._rebuild()
        return summaries

    def reindex(self) -> int:
        """Rebuild the index from the run folders; returns the number of runs."""
        if not self.runs_dir.is_dir():
            raise ComptError(f"Runs folder {self.runs_dir} does not exist.")
        with self.locked():
            summaries = self.scan()
            self._table.replace_all(summaries)
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
    ) -> list[dict[str, Any]]:
        """Summaries matching every given filter, newest first, with live status."""
        rows = [self._live(s) if s.get("status") in ACTIVE else s
                for s in self._rows().values()]
        out = [
            s for s in rows
            if (status is None or s.get("status") == status)
            and (method is None or s.get("method") == method)
            and (k is None or s.get("k") == k)
            and (seed is None or s.get("seed") == seed)
            and (group is None or s.get("group") == group)
            and (task is None or task in (s.get("tasks") or ()))
            and (tag is None or tag in (s.get("tags") or ()))
        ]
        return _newest_first(out)

    def get(self, run_id: str) -> dict[str, Any]:
        """One run's summary, built from its folder (cheaper than reading the whole index)."""
        return summarize(self.folder(run_id))

    def resolve(self, run_or_group: str) -> list[str]:
        """Run ids named by a run id, a unique run id prefix, or a group name."""
        check_run_id(run_or_group)
        if (self.runs_dir / run_or_group / "config.json").is_file():
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
    ) -> list[str]:
        """Add and remove tags (stored in the run's meta.json); returns the new tags."""
        add, remove = [t.strip() for t in add], {t.strip() for t in remove}
        if any(not t or "," in t for t in add):
            raise ComptError("A tag must be non-empty and contain no comma.")
        with self.locked():
            folder = self.folder(run_id)
            tags = self.get(run_id)["tags"]
            tags = [t for t in tags if t not in remove] + [t for t in add if t not in tags]
            self._write_meta(folder, tags=list(dict.fromkeys(tags)))
            return self.sync(run_id)["tags"]

    def set_note(self, run_id: str, text: str) -> None:
        """Replace the run's free-text note (an empty text clears it)."""
        with self.locked():
            self._write_meta(self.folder(run_id), note=text.strip())
            self.sync(run_id)

    def _write_meta(self, folder: RunFolder, **fields: Any) -> None:
        atomic_write_json(folder.path / META_FILE, {**read_meta(folder), **fields})

    def remove(self, run_id: str, purge: bool = False) -> Path | None:
        """Move a run to ``runs/.trash/`` (or delete it with ``purge``); returns where it went."""
        check_run_id(run_id)
        source = self.runs_dir / run_id
        if (source / "config.json").is_file():
            state = summarize(RunFolder(source))["status"]
            if state in ACTIVE:
                raise ComptError(
                    f"Run '{run_id}' is {state}; stop it first (compt stop {run_id}).")
        elif run_id not in self._rows():
            raise ComptError(f"No run '{run_id}' in {self.runs_dir}.")
        with self.locked():
            target = None
            if source.is_dir():
                if purge:
                    shutil.rmtree(source)
                else:
                    trash = self.runs_dir / TRASH_DIR
                    trash.mkdir(exist_ok=True)
                    target = trash / run_id
                    if target.exists():
                        target = trash / f"{run_id}.{time.strftime('%Y%m%d-%H%M%S')}"
                    os.replace(source, target)
            try:
                self._table.remove(doc_ids=[run_id])
            except IndexUnreadable:
                self._rebuild()
        return target

    # -- live status -------------------------------------------------------------------

    def _live(self, summary: dict[str, Any]) -> dict[str, Any]:
        """Refresh an active run from its folder (progress, a dead process); heal the index."""
        folder = RunFolder(self.runs_dir / summary["run_id"])
        status = folder.read_status()
        if not status:
            return summary
        launch = read_json(folder.path / LAUNCH_FILE, {}) or {}
        state, pid = live_state(status, launch)
        if state not in ACTIVE and state != "interrupted":
            try:  # finished, but its last index update was lost: fix the index
                return self.sync(summary["run_id"])
            except ComptError:
                pass
        live = {**summary, "status": state, "pid": pid, "step": status.get("step"),
                "total": status.get("total") or summary.get("total"),
                **{key: status.get(key) for key in ("phase", "phase_done", "phase_total")}}
        if launch.get("job_id"):  # a scheduler's job: its own state next to compt's
            live["job_state"] = job_state(status, launch).label
        return live
