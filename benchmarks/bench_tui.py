"""Benchmark compt-tui at 10,000 runs: first paint, filter / sort / group, a refresh tick, and
a config diff of 100 runs.

    python benchmarks/bench_tui.py                  # 10,000 runs, 20 running, 3 paints
    python benchmarks/bench_tui.py --runs 2000 --store /tmp/store   # keep/reuse a store

First paint is timed in a fresh process (imports included) from its spawn to the first
frame that shows runs, and on to the last of the 10,000 rows entering the table.
A refresh tick is timed on the UI thread (CPU time of that thread, and wall time): the
timer callback that hands work to the poller, the handler applying its updates, and the
table repaint that follows. Meanwhile 20 runs are "training": a separate process rewrites
their status.json and appends to their metrics every half second, like compt's trainer.
Filter keystrokes, sorts and group-bys are timed on the UI thread from the call to the end
of the first frame that shows the result (the rest of the rows follow in chunks). The
config diff is timed from ``c`` (compare, on 100 marked runs) and ``3`` (its tab) to the
first drawing of its grid (see ``measure_diff``). The
machine is shared: CPU time of the UI thread is the figure to compare with the targets;
wall time is printed next to it, with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

METHODS = ("pt", "ssum", "msum", "mcat")
TASKS = ["sent_movies", "entail", "negation"]


# -- the store ---------------------------------------------------------------------------


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data))  # benchmark data: no fsync needed


def build_store(runs_dir: Path, n_runs: int, n_running: int, owner_pid: int) -> None:
    """``n_runs`` finished run folders plus ``n_running`` live ones owned by ``owner_pid``."""
    from compt.config import RunConfig
    from compt.store import RunStore

    runs_dir.mkdir(parents=True, exist_ok=True)
    for i in range(n_runs + n_running):
        cfg = RunConfig(method=METHODS[i % 4], k=(8, 16, 32)[i // 4 % 3], seed=i // 12 % 3,
                        tasks=TASKS, group=f"sweep-{i // 36}")
        run_id = f"run-{i:06d}-{cfg.method}"
        folder = runs_dir / run_id
        folder.mkdir()
        write_json(folder / "config.json", {
            "run_id": run_id, "created": f"2026-11-{1 + i // 1440 % 28:02d}T"
            f"{i // 60 % 24:02d}:{i % 60:02d}:00+00:00", "config": cfg.to_dict(),
            "resolved": cfg.resolved(), "fingerprint": cfg.fingerprint(),
            "config_key": cfg.config_key()})
        if i < n_runs:
            scores = {t: 50.0 + (i * (j + 3)) % 40 for j, t in enumerate(TASKS)}
            write_json(folder / "status.json", {"status": "done", "step": 100, "total": 100})
            write_json(folder / "results.json", {"scores": scores,
                                                 "average": sum(scores.values()) / 3})
        else:
            write_json(folder / "status.json", {
                "status": "running", "step": 0, "total": 10_000, "pid": owner_pid,
                "host": socket.gethostname(), "started_ts": time.time(), "eta_s": 3600})
    RunStore(runs_dir).reindex()


def trainer(runs_dir: Path, run_ids: list[str], period: float) -> None:
    """Stand-in for 20 trainings: status rewritten atomically, a metrics row appended."""
    step = 0
    while True:
        step += 1
        for run_id in run_ids:
            folder = runs_dir / run_id
            status = json.loads((folder / "status.json").read_text())
            status.update(step=step, eta_s=3600 - step, loss=2.0 / step)
            tmp = folder / ".status.tmp"
            tmp.write_text(json.dumps(status))
            os.replace(tmp, folder / "status.json")
            with (folder / "metrics.jsonl").open("a") as fh:
                fh.write(json.dumps({"step": step, "loss": 2.0 / step}) + "\n")
        time.sleep(period)


# -- first paint (in a fresh process) -------------------------------------------------------


def child_paint(runs_dir: str) -> None:
    """Runs in a fresh interpreter: print when (epoch seconds) it painted the first rows and
    had them all, and its CPU time by first paint; the parent subtracts its spawn time."""
    import psutil

    process = psutil.Process()
    from tui.app import ComptApp
    from tui.widgets.runs_table import RunsTable

    painted: list[float] = []
    render_lines = RunsTable.render_lines

    def spy(self, crop):  # the first frame in which the table draws runs
        lines = render_lines(self, crop)
        if self.row_count and not painted:
            cpu = process.cpu_times()
            painted.extend([time.time(), cpu.user + cpu.system])
        return lines

    RunsTable.render_lines = spy

    async def main() -> dict:
        app = ComptApp(runs_dir)
        async with app.run_test(size=(80, 24)):
            table = app.runs_screen.table
            while not painted:
                await asyncio.sleep(0.001)
            lags = []  # how late a 1 ms timer fires while the rest of the rows go in
            while table.filling:
                t = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append(time.perf_counter() - t - 0.001)
            return {"painted_at": painted[0], "first_paint_cpu_s": painted[1],
                    "all_rows_at": time.time(),
                    "rows": table.row_count, "max_fill_step_s": max(lags, default=0.0)}

    print(json.dumps(asyncio.run(main())))


def measure_paint(runs_dir: Path, repeat: int) -> list[dict]:
    """First paints, timed from just before this process spawns the child.

    Not from the child's ``psutil.Process().create_time()``: on Linux that is the start
    in clock ticks since boot plus the boot time of /proc/stat's ``btime``, which is
    truncated to whole seconds, so it reads up to 1 s early (0.89 s on the machine of
    2026-11-27, which every first paint measured until then included).
    """
    out = []
    for _ in range(repeat):
        spawned = time.time()
        result = subprocess.run([sys.executable, __file__, "--child-paint", str(runs_dir)],
                                capture_output=True, text=True, check=True, cwd=ROOT)
        child = json.loads(result.stdout.strip().splitlines()[-1])
        out.append({**child, "first_paint_s": child["painted_at"] - spawned,
                    "all_rows_s": child["all_rows_at"] - spawned})
    return out


# -- refresh ticks (in this process) -----------------------------------------------------


def measure_ticks(runs_dir: Path, running: list[str], seconds: float, query: str) -> dict:
    from tui.app import ComptApp
    from tui.screens.runs import RunsScreen
    from tui.widgets.runs_table import RunsTable

    spent: list[tuple[float, str, float, float]] = []  # (when, what, cpu s, wall s)

    def timed(cls, name):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                spent.append((wall, name, time.thread_time() - cpu, time.perf_counter() - wall))

        setattr(cls, name, wrapper)

    timed(RunsScreen, "tick")
    timed(RunsScreen, "on_runs_changed")
    timed(RunsTable, "render_lines")

    writer = subprocess.Popen([sys.executable, __file__, "--trainer", str(runs_dir),
                               ",".join(running)])

    async def main() -> list[float]:
        app = ComptApp(runs_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.runs_screen
            while not screen.loaded or screen.table.filling:
                await pilot.pause(0.05)
            screen.show_filter(query)  # the 20 live rows are on top either way (newest)
            await pilot.pause(1.5)
            spent.clear()
            await pilot.pause(seconds)
        ticks = [t for t, name, *_ in spent if name == "tick"]
        per_tick = []
        for start, end in itertools.pairwise(ticks):  # a tick's work: up to the next tick
            window = [(cpu, wall) for t, _, cpu, wall in spent if start <= t < end]
            per_tick.append((sum(c for c, _ in window), sum(w for _, w in window)))
        return per_tick

    try:
        per_tick = asyncio.run(main())
    finally:
        writer.kill()
        writer.wait()
    cpu, wall = [c for c, _ in per_tick], [w for _, w in per_tick]
    applied = [c for _, name, c, _ in spent if name == "on_runs_changed"]
    return {"ticks": len(per_tick), "cpu_ms_median": 1000 * statistics.median(cpu),
            "cpu_ms_max": 1000 * max(cpu), "wall_ms_median": 1000 * statistics.median(wall),
            "wall_ms_max": 1000 * max(wall),
            "apply_ms_median": 1000 * statistics.median(applied) if applied else 0.0}


# -- filter, sort, group, diff (in this process) ----------------------------------------------

TYPED = ["s", "ss", "ssu", "ssum", "ssum k:8", ""]  # a filter typed key by key, then cleared


async def _settle(pilot, screen) -> None:
    while not screen.loaded or screen.table.filling:
        await pilot.pause(0.02)


def measure_actions(runs_dir: Path, repeat: int) -> dict[str, list[tuple[float, float]]]:
    """(CPU s, wall s) on the UI thread per action, up to the end of the next frame."""
    from tui.app import ComptApp
    from tui.widgets.runs_table import RunsTable

    frames: list[tuple[float, float]] = []
    render_lines = RunsTable.render_lines

    def spy(self, crop):
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return render_lines(self, crop)
        finally:
            frames.append((time.thread_time() - cpu, time.perf_counter() - wall))

    RunsTable.render_lines = spy
    out: dict[str, list[tuple[float, float]]] = {"filter keystroke": [], "sort": [],
                                                 "group by": []}

    async def main() -> None:
        app = ComptApp(runs_dir)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.runs_screen
            await _settle(pilot, screen)
            for _ in range(repeat):
                actions = [("filter keystroke", lambda q=q: screen.set_query(q)) for q in TYPED]
                actions += [("sort", screen.action_sort)] * 3
                actions += [("group by", screen.action_group)] * 3
                for name, action in actions:
                    frames.clear()
                    cpu, wall = time.thread_time(), time.perf_counter()
                    action()
                    spent_cpu = time.thread_time() - cpu
                    while not frames:
                        await asyncio.sleep(0)
                    spent_wall = time.perf_counter() - wall
                    out[name].append((spent_cpu + frames[0][0], spent_wall))
                    await _settle(pilot, screen)
                screen.sort_by("created")
                screen.group_by("none")
                await _settle(pilot, screen)

    try:
        asyncio.run(main())
    finally:
        RunsTable.render_lines = render_lines
    return out


def measure_diff(runs_dir: Path, n_runs: int) -> dict[str, float]:
    """From ``c`` (compare) then ``3`` (diff) on ``n_runs`` marked runs to the diff on screen.

    ``frame_s``: wall seconds from ``c`` to the end of the first drawing of the diff's grid
    with its rows in; ``settled_s``: to the pilot's next pause after that (the figure
    reported before 2026-11-27's third pass, which adds the pilot's own waits);
    ``cpu_s``: CPU seconds of the process (UI thread and the worker that builds the views)
    from ``c`` to that first frame. Wall times swing with the machine's load; CPU less.
    """
    from tui.app import ComptApp
    from tui.screens.compare import CompareScreen
    from tui.widgets.grid_view import GridTable

    drawn: list[tuple[float, float]] = []
    render_lines = GridTable.render_lines

    def spy(self, crop):
        try:
            return render_lines(self, crop)
        finally:
            if (not drawn and crop.height and self.row_count and self.parent is not None
                    and self.parent.id == "diff-view"):
                drawn.append((time.perf_counter(), time.process_time()))

    async def main() -> dict[str, float]:
        app = ComptApp(runs_dir)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.runs_screen
            await _settle(pilot, screen)
            groups = ",".join(f"sweep-{i}" for i in range(n_runs // 36 + 1))
            screen.show_filter(f"group:{groups}")
            await _settle(pilot, screen)
            screen.marked = {r.run_id for r in screen.shown[:n_runs]}
            for run_id in screen.marked:
                screen.rows[run_id].marked = True
            await pilot.pause(0.2)
            drawn.clear()
            started, cpu = time.perf_counter(), time.process_time()
            await pilot.press("c")
            while not (isinstance(app.screen, CompareScreen) and app.screen.views):
                await asyncio.sleep(0.005)
            await pilot.press("3")
            view = app.screen.query_one("#diff-view")
            while not view.query(GridTable) or not view.query_one(GridTable).row_count:
                await asyncio.sleep(0.005)
            await pilot.pause()
            settled = time.perf_counter() - started
            while not drawn:
                await asyncio.sleep(0.005)
            return {"runs": len(app.screen.run_ids), "frame_s": drawn[0][0] - started,
                    "cpu_s": drawn[0][1] - cpu, "settled_s": settled}

    GridTable.render_lines = spy
    try:
        return asyncio.run(main())
    finally:
        GridTable.render_lines = render_lines


# -- report --------------------------------------------------------------------------------


def machine() -> str:
    from machine import cpu_name

    cpu = cpu_name()
    import textual

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores, load average {load}; Python "
            f"{platform.python_version()}, Textual {textual.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="first-paint measurements")
    parser.add_argument("--seconds", type=float, default=10.0, help="time spent ticking")
    parser.add_argument("--store", type=Path, help="build (or reuse) the store here")
    parser.add_argument("--child-paint", help=argparse.SUPPRESS)
    parser.add_argument("--trainer", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_paint:
        child_paint(args.child_paint)
        return
    if args.trainer:
        trainer(Path(args.trainer[0]), args.trainer[1].split(","), 0.5)
        return

    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"],
                             start_new_session=True)  # the "training processes" stay alive
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs_dir = args.store or Path(tmp) / "runs"
            if not (runs_dir / "index.json").is_file():
                t = time.perf_counter()
                build_store(runs_dir, args.runs, args.running, owner.pid)
                print(f"store of {args.runs + args.running} runs built in "
                      f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
            else:  # a reused store: its running runs now belong to this owner
                for status in runs_dir.glob("*/status.json"):
                    data = json.loads(status.read_text())
                    if data.get("status") == "running":
                        data.update(pid=owner.pid, started_ts=time.time())
                        write_json(status, data)
            running = sorted(p.parent.name for p in runs_dir.glob("*/status.json")
                             if json.loads(p.read_text()).get("status") == "running")
            t = time.perf_counter()
            paints = measure_paint(runs_dir, args.repeat)
            print(f"first paints measured in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            t = time.perf_counter()
            ticks = measure_ticks(runs_dir, running, args.seconds, "status:running")
            ticks_all = measure_ticks(runs_dir, running, args.seconds, "")
            print(f"ticks measured in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            load_actions = os.getloadavg()[0]
            actions = measure_actions(runs_dir, args.repeat)
            load_diff = os.getloadavg()[0]
            diffs = [measure_diff(runs_dir, 100) for _ in range(args.repeat)]
    finally:
        owner.kill()
        owner.wait()

    first = [p["first_paint_s"] for p in paints]
    first_cpu = [p["first_paint_cpu_s"] for p in paints]
    full = [p["all_rows_s"] for p in paints]
    print(f"machine: {machine()}")
    print(f"store: {args.runs} finished + {len(running)} running runs")
    print(f"first paint (process start -> first rows on screen): median "
          f"{statistics.median(first):.2f} s  (runs: {', '.join(f'{x:.2f}' for x in first)}); "
          f"CPU time of the process by then: median {statistics.median(first_cpu):.2f} s")
    longest = max(p["max_fill_step_s"] for p in paints) * 1000
    print(f"all {paints[0]['rows']} rows in the table: median {statistics.median(full):.2f} s; "
          f"the UI thread answered within {longest:.0f} ms meanwhile")
    for label, t in (("filtered to the running runs", ticks), ("all runs listed", ticks_all)):
        print(f"refresh tick, UI thread, {label} ({t['ticks']} ticks, {len(running)} running "
              f"runs on screen): CPU median {t['cpu_ms_median']:.1f} ms, max "
              f"{t['cpu_ms_max']:.1f} ms; wall median {t['wall_ms_median']:.1f} ms, max "
              f"{t['wall_ms_max']:.1f} ms (applying the updates: "
              f"{t['apply_ms_median']:.1f} ms CPU)")
    print(f"load average before the actions: {load_actions:.1f}")
    for name, spent in actions.items():
        cpu, wall = [1000 * c for c, _ in spent], [1000 * w for _, w in spent]
        print(f"{name} ({len(spent)}x), UI thread to the first frame: CPU median "
              f"{statistics.median(cpu):.0f} ms, max {max(cpu):.0f} ms; wall median "
              f"{statistics.median(wall):.0f} ms, max {max(wall):.0f} ms")
    frames = ", ".join(f"{d['frame_s']:.2f}" for d in diffs)
    print(f"config diff of {diffs[0]['runs']} runs (load average before: {load_diff:.1f}), "
          f"c then 3 to its first frame: wall median "
          f"{statistics.median(d['frame_s'] for d in diffs):.2f} s ({frames}); process CPU "
          f"median {statistics.median(d['cpu_s'] for d in diffs):.2f} s; to the pilot's next "
          f"pause (the figure before): {statistics.median(d['settled_s'] for d in diffs):.2f} s")


if __name__ == "__main__":
    main()
