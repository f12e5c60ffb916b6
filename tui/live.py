"""Live state of runs, read from their folders only when something changed.

A refresh tick must stay cheap however many runs the store holds: only active runs are
polled, a status.json is parsed only when its mtime moved, metrics are tailed by byte
offset, and a finished run's loss curve is read once, when its row first scrolls into
view. A lock lets the loader and the poller threads share one instance.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compt.runfolder import RunFolder, RunStatus
from compt.store import ACTIVE, live_state
from tui.tails import JsonlTail

LOSS_HISTORY = 256  # losses kept per run: plenty for an 8-glyph sparkline


@dataclass
class LiveUpdate:
    """What changed for one run: its status.json (with the corrected state), its losses."""

    run_id: str
    status: dict[str, Any] | None = None
    losses: list[float] | None = None

    @property
    def state(self) -> str | None:
        return None if self.status is None else self.status.get("status")


class LiveRuns:
    """Change detection over run folders: status mtimes, metrics offsets, loss histories."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir)
        self._mtimes: dict[str, int] = {}
        self._status: dict[str, RunStatus] = {}
        self._states: dict[str, str] = {}  # the state last reported (after the liveness check)
        self._tails: dict[str, JsonlTail] = {}
        self._losses: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def poll(self, run_ids: list[str]) -> list[LiveUpdate]:
        """Updates for the given (active) runs whose status, process or losses changed."""
        updates = []
        with self._lock:
            for run_id in run_ids:
                status = self._read_status(run_id)
                losses = self._read_losses(run_id)
                if status is not None or losses is not None:
                    updates.append(LiveUpdate(run_id, status, losses))
        return updates

    def history(self, run_ids: list[str]) -> list[LiveUpdate]:
        """Loss curves of runs not read before (finished runs scrolled into view)."""
        with self._lock:
            fresh = [r for r in run_ids if r not in self._tails]
            return [LiveUpdate(r, losses=self._read_losses(r) or []) for r in fresh]

    def forget(self, run_id: str) -> None:
        with self._lock:
            for cache in (self._mtimes, self._status, self._states, self._tails, self._losses):
                cache.pop(run_id, None)

    def _read_status(self, run_id: str) -> dict[str, Any] | None:
        """The run's status if its file changed or its process died since the last poll."""
        folder = RunFolder(self.runs_dir / run_id)
        try:
            mtime = folder.status_path.stat().st_mtime_ns
        except OSError:
            return None
        changed = run_id not in self._status or mtime != self._mtimes.get(run_id)
        if changed:
            self._status[run_id] = folder.read_status()
            self._mtimes[run_id] = mtime
        status = self._status[run_id]
        state = status.get("status") or "queued"
        if state in ACTIVE:  # a process that died leaves "running" behind: ask the OS
            state, _pid = live_state(status, folder.read_launch())
        if changed or state != self._states.get(run_id):
            self._states[run_id] = state
            return {**status, "status": state}
        return None

    def _read_losses(self, run_id: str) -> list[float] | None:
        """All losses known so far, or None when no new training row arrived."""
        tail = self._tails.get(run_id)
        if tail is None:
            tail = self._tails[run_id] = JsonlTail(RunFolder(self.runs_dir / run_id).metrics_path)
        new = [row["loss"] for row in tail.rows()
               if isinstance(row.get("loss"), int | float) and "eval" not in row]
        if not new:
            return None
        history = self._losses.setdefault(run_id, deque(maxlen=LOSS_HISTORY))
        history.extend(float(v) for v in new)
        return list(history)
