"""Run benchmark phases' cells with a fixed number of trainings at a time, in priority order.

A phase is one ``compt sweep``-like grid (store, group, base settings, grid options). Where
``compt sweep`` hands each grid to its own queue, this pool keeps ONE cap over every phase
it is given, so a wide machine (a GPU host with 16 cores) stays full across phases and the
first phases finish first. Cells already done (or running) in the store are skipped with
compt's own sweep planner, so stopping and re-running continues. ``until`` stops starting
new cells after that many seconds (the running ones finish).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compt.store import RunStore  # noqa: E402
from compt.sweep import expand, load_sweep, plan  # noqa: E402


@dataclass
class Phase:
    """One grid of runs: its store, its group, the settings of every run, the grid options."""

    runs_dir: Path
    group: str
    sets: list[str]
    grid: list[str] = field(default_factory=list)

    def pending(self) -> list[list[str]]:
        """The ``--set`` lists of the cells not yet done, in grid order."""
        base, grid = load_sweep(None, self.sets, self.grid)
        cells = plan(expand(base, grid), RunStore(self.runs_dir))
        return [[*self.sets, *(f"{k}={_text(v)}" for k, v in c.values.items())]
                for c in cells if c.runs]


def _text(value: object) -> str:
    """A grid value as ``--set`` reads it back (a list as ``[a,b]``)."""
    return "[" + ",".join(map(str, value)) + "]" if isinstance(value, list) else str(value)


def run_phases(phases: Iterable[Phase], jobs: int, until_s: float | None = None) -> None:
    """Train every pending cell of ``phases`` (in order), ``jobs`` at a time."""
    began = time.time()
    work = [(p, sets) for p in phases for sets in p.pending()]
    finished = 0
    lock = threading.Lock()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    def train(item: tuple[Phase, list[str]]) -> None:
        nonlocal finished
        phase, sets = item
        if until_s is not None and time.time() - began > until_s:
            return
        phase.runs_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "compt", "run", "--runs-dir", str(phase.runs_dir),
                "--group", phase.group, "--detached"]
        for s in sets:
            argv += ["--set", s]
        ran = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, env=env, check=False)
        with lock:
            finished += 1
            status = "ok" if ran.returncode == 0 else f"FAILED ({ran.stderr.strip()[-300:]})"
            print(f"[{time.time() - began:6.0f}s] {finished}/{len(work)} {phase.group} "
                  f"{' '.join(sets[len(phase.sets):])}: {status}", flush=True)

    print(f"{len(work)} cells to run, {jobs} at a time", flush=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(train, work))


def campaign_parser(description: str, phases: Iterable[str]) -> argparse.ArgumentParser:
    """The options every campaign script (bench_real, bench_glue) shares."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--phases", default=",".join(phases))
    parser.add_argument("--report", action="store_true", help="only write the page")
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time")
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="extra key=value for every run (e.g. device=cuda)")
    parser.add_argument("--until", type=float, help="start no run after this many seconds")
    parser.add_argument("--no-report", action="store_true", help="train only")
    return parser
