"""Pilot tests of the dashboard: every screen and action at 80x24, on fixture run folders.

The fixture runs are real run folders (compt.runfolder) with hand-written status, metrics,
logs and results, indexed by the real store; "running" runs are owned by a sleeping
child process, so liveness, stop and quit-and-reopen behave as with a training.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.command import CommandList

from compt.config import RunConfig
from compt.runfolder import RunFolder, create_run_folder
from compt.store import RunStore
from tui.app import ComptApp, main
from tui.screens.compare import CompareScreen
from tui.screens.detail import RunDetailScreen
from tui.screens.help import HelpScreen
from tui.screens.launch import LaunchScreen
from tui.screens.modals import ConfirmModal, ErrorModal, ExportModal

pytestmark = pytest.mark.anyio  # async tests run on anyio's pytest plugin (comes with anyio)
SIZE = (80, 24)
TASKS = ["sent_movies", "entail"]
CREATED = "2026-11-24T07:{:02d}:00+00:00"


def fixture_results(method: str, seed: int) -> dict:
    base = 60.0 + 2 * seed + {"pt": 0.0, "ssum": 8.0}.get(method, 4.0)
    scores = {"sent_movies": base + 5.0, "entail": base - 3.0}
    results = {
        "scores": scores, "average": sum(scores.values()) / 2,
        "metrics": {t: {"accuracy": s} for t, s in scores.items()},
        "primary_metric": dict.fromkeys(scores, "accuracy"),
        "eval_size": dict.fromkeys(scores, 100), "per_prompt": None, "router": None,
        "predictions": {"sent_movies": {"labels": ["positive", "negative"],
                                        "combined": [[40, 10], [8, 42]], "source": None,
                                        "private": None}},
        "steps": 20, "duration_s": 12.0, "train_time_s": 10.0,
    }
    if method != "pt":
        columns = ["src_1", "src_2", "all_src", "private", "total"]
        results["per_prompt"] = {"columns": columns, "scores": {
            t: {c: s - 10 + 2 * i for i, c in enumerate(columns)} for t, s in scores.items()}}
        results["router"] = {"tasks": TASKS, "sources": ["src_1", "src_2"],
                             "logits": [[0.5, -0.5], [-0.2, 0.2]],
                             "weights": [[0.73, 0.27], [0.4, 0.6]]}
    return results


def add_run(runs_dir: Path, run_id: str, minute: int, status: str = "done", **cfg) -> RunFolder:
    """A run folder with a fixed creation time (so the newest-first order is known)."""
    cfg = {"tasks": TASKS, "n_sources": 2, "k": 8, **cfg}
    folder = create_run_folder(runs_dir, RunConfig(**cfg), run_id=run_id)
    record = folder.read_config()
    record["created"] = CREATED.format(minute)
    folder.write_config(record)
    folder.update_status(status=status, step=20 if status == "done" else 3, total=20,
                         finished="2026-11-24T08:00:00+00:00" if status != "running" else None)
    return folder


def make_runs(runs_dir: Path) -> dict[str, RunFolder]:
    """Four finished runs (pt/ssum x seeds 0/1, groups g-pt/g-ssum) and a failed one."""
    folders = {}
    minute = 0
    for method in ("pt", "ssum"):
        for seed in (0, 1):
            run_id = f"{method}-s{seed}"
            folder = add_run(runs_dir, run_id, minute, method=method, seed=seed,
                             group=f"g-{method}")
            for step in range(1, 21):
                folder.append_metrics({"step": step, "epoch": 1, "loss": 2.0 / step,
                                       "lr": 0.1, "temperature": 1.0, "time": step})
            folder.write_results(fixture_results(method, seed))
            folder.log_path.write_text("".join(f"step {i} loss {2 / i:.3f}\n"
                                               for i in range(1, 21)))
            folders[run_id] = folder
            minute += 1
    failed = add_run(runs_dir, "msum-failed", minute, status="failed", method="msum", k=16)
    failed.update_status(error="CUDA out of memory at step 3")
    folders["msum-failed"] = failed
    RunStore(runs_dir).reindex()
    return folders


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def runs(runs_dir):
    return make_runs(runs_dir)


@pytest.fixture
def sleeper():
    """Start stand-ins for training processes (own session, like detached runs)."""
    procs = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                                start_new_session=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def add_running(runs_dir: Path, run_id: str, pid: int, minute: int = 30) -> RunFolder:
    folder = add_run(runs_dir, run_id, minute, status="running", method="ssum", seed=5)
    folder.update_status(status="running", step=3, total=20, pid=pid, host=socket.gethostname(),
                         started_ts=time.time(), eta_s=85, loss=0.9)
    folder.append_metrics({"step": 1, "loss": 1.5})
    RunStore(runs_dir).sync(run_id)
    return folder


async def wait_for(pilot, condition, timeout: float = 60.0) -> None:
    """Let the app work until ``condition()`` holds (workers and timers need real time; on a
    machine at load 20 that can take seconds, so the bound is generous)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition.__doc__ or condition}")
        await pilot.pause(0.05)


async def loaded(pilot) -> None:
    screen = pilot.app.runs_screen
    await wait_for(pilot, lambda: screen.loaded and not screen.table.filling)


def column(app, key: str) -> list[str]:
    table = app.runs_screen.table
    return [str(cell) for cell in table.get_column(key)]


def row_text(app, run_id: str) -> dict[str, str]:
    table = app.runs_screen.table
    return {c.key.value: str(table.get_cell(run_id, c.key)) for c in table.ordered_columns}


# -- the runs screen ----------------------------------------------------------------------


async def test_runs_screen_lists_runs_newest_first_with_text_status(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert column(app, "run") == ["msum-failed", "ssum-s1", "ssum-s0", "pt-s1", "pt-s0"]
        assert column(app, "status") == ["failed", "done", "done", "done", "done"]
        assert row_text(app, "ssum-s1")["average"] == "71.0"
        assert row_text(app, "msum-failed")["progress"] == "15%"
        # loss curves of finished runs are read once their rows are on screen
        await wait_for(pilot, lambda: row_text(app, "pt-s0")["loss"] != "-")
        assert row_text(app, "pt-s0")["loss"][0] == "█"
        assert "5/5 runs" in str(app.runs_screen.query_one("#runs-info").render())


async def test_the_job_column_shows_while_a_run_has_a_scheduler_job(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert "job" not in row_text(app, "ssum-s1")  # local runs only: no column
    RunFolder(runs_dir / "ssum-s1").write_launch_record({"executor": "slurm", "job_id": "812_3"})
    RunStore(runs_dir).sync("ssum-s1")
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert row_text(app, "ssum-s1")["job"] == "812_3"
        assert row_text(app, "ssum-s0")["job"] == ""


async def test_filter_narrows_and_clears(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("slash")
        await pilot.press(*"status:done method:ssum")
        await pilot.press("enter")
        await wait_for(pilot, lambda: column(app, "run") == ["ssum-s1", "ssum-s0"])
        assert app.focused is app.runs_screen.table  # enter goes back to the table
        await pilot.press("slash", "ctrl+a", "ctrl+k")  # clear it
        await pilot.press(*"-k:8")
        await wait_for(pilot, lambda: column(app, "run") == ["msum-failed"])


async def test_sort_reverse_and_group(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = app.runs_screen
        screen.sort_by("average")
        await loaded(pilot)
        assert column(app, "run")[:4] == ["ssum-s1", "ssum-s0", "pt-s1", "pt-s0"]
        await pilot.press("S")
        await loaded(pilot)
        assert column(app, "run")[-1] == "ssum-s1"
        screen.group_by("none")
        for _ in range(2):  # none -> group -> method
            await pilot.press("g")
        await loaded(pilot)
        assert screen.view.group_by == "method"
        assert column(app, "method")[0] == "msum" and column(app, "status")[0] == "1 run"
        # enter on a group header compares that group
        screen.table.move_cursor(row=2)  # the "pt" header: msum header, failed run, pt
        assert screen.table.current_key == "group:method=pt"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert sorted(app.screen.run_ids) == ["pt-s0", "pt-s1"]


async def test_live_updates_keep_cursor_and_focus(runs, runs_dir, sleeper):
    proc = sleeper()
    folder = add_running(runs_dir, "live-1", proc.pid)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.runs_screen.table
        assert row_text(app, "live-1")["status"] == "running"
        assert row_text(app, "live-1")["eta"] == "1m25s"
        await pilot.press("down", "down")  # live-1 (newest), msum-failed, ssum-s1
        assert table.current_run_id == "ssum-s1"
        folder.update_status(step=10, eta_s=30)
        folder.append_metrics({"step": 2, "loss": 0.5})
        await wait_for(pilot, lambda: row_text(app, "live-1")["progress"] == "50%")
        assert row_text(app, "live-1")["eta"] == "30s"
        assert row_text(app, "live-1")["loss"] == "█▁"
        assert table.current_run_id == "ssum-s1" and app.focused is table
        # a new run appears at the top; the cursor stays on its run
        add_run(runs_dir, "new-run", 50, method="pt", seed=9)
        RunStore(runs_dir).sync("new-run")
        await wait_for(pilot, lambda: "new-run" in column(app, "run"))
        assert column(app, "run")[0] == "new-run"
        assert table.current_run_id == "ssum-s1"
        # the process dies without a word: the row says so
        proc.kill()
        proc.wait()
        await wait_for(pilot, lambda: row_text(app, "live-1")["status"] == "interrupted")


async def test_marks_and_copy_ids(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("down", "space", "space")  # marks ssum-s1 and ssum-s0
        assert row_text(app, "ssum-s1")["mark"] == "✓"
        assert [r.run_id for r in app.runs_screen.selection()] == ["ssum-s1", "ssum-s0"]
        await pilot.press("y")
        assert app.clipboard == "ssum-s1\nssum-s0"
        await pilot.press("A")  # mark all shown (not all are marked yet)
        assert len(app.runs_screen.selection()) == 5
        await pilot.press("A")
        assert [r.marked for r in app.runs_screen.rows.values()] == [False] * 5


def finished_rows(n: int) -> list:
    """``n`` finished ssum runs, run-00000 onwards, as runs-table rows."""
    from tui.rows import RunRow

    return [RunRow({"run_id": f"run-{i:05d}", "status": "done", "method": "ssum", "k": 8,
                    "seed": i % 3, "tasks": TASKS, "average": i / 100}) for i in range(n)]


def runs_table_app():
    """An app holding only a RunsTable."""
    from textual.app import App

    from tui.widgets.runs_table import RunsTable

    class TableApp(App):
        def compose(self):
            yield RunsTable()

    return TableApp()


async def test_table_keeps_cursor_and_screen_line_through_a_chunked_rebuild():
    """Thousands of rows go in by chunks; a rebuild puts the cursor back where it was."""
    from tui.widgets.runs_table import FIRST_CHUNK, RunsTable

    rows = finished_rows(1600)
    app = runs_table_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(RunsTable)
        table.show(rows)
        assert table.row_count == FIRST_CHUNK and table.filling  # painted before the rest
        await wait_for(pilot, lambda: not table.filling)
        assert table.row_count == 1600
        table.move_cursor(row=900)
        await pilot.pause()
        line = table.cursor_row - int(table.scroll_y)
        table.show(list(reversed(rows)))  # the run moves from row 900 to row 699
        table.show(list(reversed(rows)))  # a second rebuild before the first finished
        table.show(rows[::-1][:1000])  # and a third, smaller one
        await wait_for(pilot, lambda: not table.filling)
        assert table.row_count == 1000 and table.current_key == "run-00900"
        assert table.cursor_row == 699
        await pilot.pause()
        assert table.cursor_row - int(table.scroll_y) == line


async def test_a_rebuild_never_leaves_the_cursor_on_another_run_while_rows_pour_in():
    """Keys pressed while a large table is still filling act on the run the cursor was on:
    the first chunk reaches that run, wherever it now stands."""
    from tui.widgets.runs_table import FIRST_CHUNK, RunsTable

    rows = finished_rows(3000)
    app = runs_table_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(RunsTable)
        table.show(rows)
        await wait_for(pilot, lambda: not table.filling)
        table.move_cursor(row=2500)
        await pilot.pause()
        table.show(list(reversed(rows)))  # the run moves to row 499, past the first chunk
        assert table.filling and table.row_count < 3000  # still pouring in...
        assert table.current_key == "run-02500" and table.cursor_row == 499  # ...on its run
        await wait_for(pilot, lambda: not table.filling)
        assert table.current_key == "run-02500"
        assert FIRST_CHUNK < 499  # the case above is past the usual first chunk


async def test_runs_table_repaints_in_place():
    """Live updates replace cells without a rebuild (tui.widgets.runs_table.update_rows):
    what the table then draws is what a table built from the new rows draws, for changed
    rows on screen (the cursor's among them) and off screen, and nothing else moves."""
    from textual.geometry import Region

    from tui.rows import RunRow
    from tui.widgets.runs_table import RunsTable

    def rows(failed: set[int]) -> list[RunRow]:
        return [RunRow({"run_id": f"run-{i:03d}", "status": "failed" if i in failed else "done",
                        "method": "ssum", "k": 8, "seed": i % 3, "tasks": TASKS,
                        "average": None if i in failed else i / 10}) for i in range(300)]

    app = runs_table_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(RunsTable)

        async def drawn() -> list[str]:
            await pilot.pause()
            return [strip.text for strip in table.render_lines(Region(0, 0, *table.size))]

        old = rows(set())
        table.show(old)
        await wait_for(pilot, lambda: not table.filling)
        table.move_cursor(row=2)
        before = await drawn()
        changed = {2, 5, 250}  # the cursor's row, another on screen, one off screen
        new = rows(changed)
        cells = sum(a != b for o, n in zip(old, new, strict=True)
                    for a, b in zip(o.cells().values(), n.cells().values(), strict=True))
        assert cells > len(changed)  # status, progress, average
        assert table.update_rows((r.run_id, r.cells()) for r in new) == cells
        assert table.update_rows((r.run_id, r.cells()) for r in new) == 0  # nothing new
        after = await drawn()
        assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [
            3, 6]  # below the header line: rows 2 and 5, and only them
        assert "failed" in after[3] and "failed" in after[6]
        table.scroll_to(y=240, animate=False, immediate=True)
        off_screen = await drawn()
        assert "failed" in off_screen[250 - 240 + 1]
        table.scroll_to(y=0, animate=False, immediate=True)
        assert await drawn() == after
        table.show(new)  # the same rows, built from scratch
        await wait_for(pilot, lambda: not table.filling)
        assert table.cursor_row == 2
        assert await drawn() == after
        table.scroll_to(y=240, animate=False, immediate=True)
        assert await drawn() == off_screen


async def test_a_new_run_keeps_the_selected_run_and_the_view(runs_dir):
    """A run appearing at the top (newest first) shifts the rows by one: the cursor follows
    its run, that run keeps its screen line and the horizontal scroll stays where it was,
    also when the machine lags and two rebuilds run before the table repaints."""
    from tui.messages import RunsLoaded
    from tui.screens.runs import index_mtime

    for i in range(40):
        add_run(runs_dir, f"run-{i:02d}", i, method="ssum", seed=i)
    RunStore(runs_dir).reindex()
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen, table = app.runs_screen, app.runs_screen.table

        def view() -> tuple[str | None, int, float, float]:  # run, row, screen line, scroll x
            return (table.current_run_id, table.cursor_row, table.cursor_row - table.scroll_y,
                    table.scroll_x)

        async def settled() -> None:
            await loaded(pilot)
            await pilot.pause()  # the scroll is put back after the rows' first refresh

        async def new_run(run_id: str, minute: int, rebuilds: int) -> None:
            add_run(runs_dir, run_id, minute, method="pt", seed=minute)
            RunStore(runs_dir).sync(run_id)
            if rebuilds == 1:
                screen.tick()  # the poller sees the index change and reloads
            else:  # reloads queued behind each other, handled before any repaint
                for _ in range(rebuilds):
                    screen.post_message(RunsLoaded(screen._read_all(),
                                                   index_mtime(runs_dir)))
            await wait_for(pilot, lambda: column(app, "run")[0] == run_id)
            await settled()

        await pilot.press(*["down"] * 6, *["right"] * 4)
        await settled()
        run_id, row, line, x = view()
        assert (run_id, row, line) == ("run-33", 6, 6) and x > 0
        await new_run("new-1", 50, rebuilds=1)
        assert view() == (run_id, row + 1, line, x)
        await new_run("new-2", 51, rebuilds=2)
        assert view() == (run_id, row + 2, line, x)
        # scrolled down: the run stays on its screen line, not just in view
        await pilot.press(*["down"] * 20, *["up"] * 4)
        await settled()
        run_id, row, line, x = view()
        assert table.scroll_y > 0 and line > 0 and x > 0
        await new_run("new-3", 52, rebuilds=2)
        assert view() == (run_id, row + 1, line, x)
        assert app.focused is table


# -- stop / retry / delete ------------------------------------------------------------------


async def test_stop_asks_first_then_stops(runs, runs_dir, sleeper):
    proc = sleeper()
    add_running(runs_dir, "live-1", proc.pid)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert app.runs_screen.table.current_run_id == "live-1"
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await pilot.pause(0.3)
        assert proc.poll() is None  # cancelled: still training
        await pilot.press("x")
        await pilot.press("y")
        await wait_for(pilot, lambda: row_text(app, "live-1")["status"] == "stopped")
        assert proc.wait(timeout=5) is not None
        assert RunFolder(runs_dir / "live-1").read_status()["status"] == "stopped"


async def test_stop_is_offered_only_for_live_runs_retry_for_failed_ones(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = app.runs_screen
        await pilot.press("down")  # ssum-s1 is done: no x or r in the footer
        assert screen.check_action("stop", ()) is False
        assert screen.check_action("retry", ()) is False
        await pilot.press("x")
        assert not isinstance(app.screen, ConfirmModal)
        await pilot.press("home")  # the top run: msum-failed, the newest: retry, not stop
        await pilot.pause()
        assert screen.table.current_key == "msum-failed"
        assert screen.check_action("stop", ()) is False and screen.check_action("retry", ())
        assert screen.request("stop", ["msum-failed"]) is None  # and if asked anyway: refused


async def test_delete_moves_the_folder_to_trash(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("down", "d")
        assert isinstance(app.screen, ConfirmModal)
        assert "ssum-s1" in app.screen.question
        await pilot.press("y")
        await wait_for(pilot, lambda: "ssum-s1" not in column(app, "run"))
        assert not (runs_dir / "ssum-s1").exists()
        assert (runs_dir / ".trash" / "ssum-s1" / "config.json").is_file()
        assert "ssum-s1" not in [s["run_id"] for s in RunStore(runs_dir).list()]


async def test_retry_confirms_and_calls_the_launcher(runs, runs_dir, monkeypatch):
    import compt.launcher

    calls = []
    monkeypatch.setattr(compt.launcher, "retry", lambda run_id, d: calls.append((run_id, d)))
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("r")  # the cursor is on the failed run
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: calls)
        assert calls == [("msum-failed", runs_dir)]


async def test_worker_failure_becomes_an_error_modal(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.open_run("no-such-run")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorModal))
        assert "No run 'no-such-run'" in app.screen.message
        await pilot.press("escape")
        assert app.screen is app.runs_screen  # the empty detail screen closed itself


# -- run detail -------------------------------------------------------------------------


async def test_detail_shows_overview_log_chart_and_analyses(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        detail = app.screen
        await wait_for(pilot, lambda: detail.results is not None)
        assert detail.run_id == "ssum-s1"
        overview = detail.views["overview"]
        assert overview.rows == ["sent_movies", "entail", "average"]
        assert overview.values[-1][0] == 71.0
        log = detail.query_one("#run-log")
        assert log.lines[-1] == "step 20 loss 0.100"
        # the log is tailed by byte offset: appended lines arrive, nothing is re-read
        with runs["ssum-s1"].log_path.open("a") as fh:
            fh.write("evaluating\n")
        await wait_for(pilot, lambda: log.lines[-1] == "evaluating")
        assert log.line_count == 21
        chart = detail.query_one("LossChart")
        assert chart.steps == list(range(1, 21)) and chart.losses[-1] == pytest.approx(0.1)
        assert detail.views["heatmap"].columns == ["src_1", "src_2", "all_src", "private",
                                                   "total"]
        assert [m.title for m in detail.views["router"]][0].endswith("router weights (softmax)")
        assert detail.views["predictions"][0].title == "sent_movies (combined)"
        await pilot.press("4")
        assert detail.query_one("TabbedContent").active == "heatmap"
        await pilot.press("escape")
        assert app.screen is app.runs_screen


async def test_detail_of_a_pt_run_explains_missing_heatmap(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        app.open_run("pt-s0")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen)
                       and app.screen.results is not None)
        await pilot.pause()
        text = str(app.screen.query_one("#heatmap-view Static").render())
        assert "no per-prompt scores" in text
        await pilot.press("4", "e")  # nothing to export there: a warning, no dialog
        assert not isinstance(app.screen, ExportModal)


async def test_detail_export_writes_the_tab(runs, runs_dir, tmp_path):
    app = ComptApp(runs_dir)
    target = tmp_path / "heat.tex"
    async with app.run_test(size=SIZE) as pilot:
        app.open_run("ssum-s0")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen)
                       and "heatmap" in app.screen.views)
        await pilot.press("4", "e")
        assert isinstance(app.screen, ExportModal)
        app.screen.query_one("#path").value = str(target)  # .tex: latex
        await pilot.press("enter")
        await wait_for(pilot, target.is_file)
    text = target.read_text()
    assert "\\begin{tabular}" in text and "src\\_1" in text and "\\cellcolor" in text


# -- compare ------------------------------------------------------------------------------


async def open_compare(pilot, keys=("down", "space", "space", "space", "space", "c")):
    app = pilot.app
    await loaded(pilot)
    await pilot.press(*keys)
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.views)
    return app.screen


async def test_compare_shows_paper_table_seeds_diff_and_heatmap(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        compare = await open_compare(pilot)
        assert sorted(compare.run_ids) == ["pt-s0", "pt-s1", "ssum-s0", "ssum-s1"]
        table = compare.views["table"]
        assert [r.labels for r in table.rows] == [("pt", "8"), ("ssum", "8")]
        ssum_avg = table.rows[1].cells["avg"]
        assert ssum_avg.mean == pytest.approx(70.0) and ssum_avg.rank == 1
        assert ssum_avg.std == pytest.approx(1.41421, rel=1e-4)
        seeds = compare.views["seeds"]
        assert [m.title for m in seeds] == ["pt k=8", "ssum k=8 sources=2"]
        diff = compare.views["diff"]
        assert "seed" in diff.keys and "method" in diff.keys
        assert [m.title for m in compare.views["heatmap"]][0] == "ssum k=8 sources=2"
        await pilot.press("3")
        assert compare.query_one("TabbedContent").active == "diff"


async def test_compare_export_markdown_csv_and_copy(runs, runs_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        compare = await open_compare(pilot)
        await pilot.press("e")
        assert isinstance(app.screen, ExportModal)
        assert app.screen.query_one("#path").value == "compare-table.md"
        await pilot.press("enter")
        await wait_for(pilot, lambda: (tmp_path / "compare-table.md").is_file())
        markdown = (tmp_path / "compare-table.md").read_text()
        assert "| method | k |" in markdown and "**70.0 ± 1.4**" in markdown
        await pilot.press("e")
        await pilot.press("end", "backspace", "backspace", *"txt", "enter")
        assert isinstance(app.screen, ExportModal)  # .txt: which format? it says so
        assert "no known extension" in str(app.screen.query_one("#export-hint").render())
        await pilot.press("backspace", "backspace", "backspace", *"csv", "enter")
        await wait_for(pilot, lambda: (tmp_path / "compare-table.csv").is_file())
        assert (tmp_path / "compare-table.csv").read_text().startswith("method,k,")
        await pilot.press("y")
        assert app.clipboard == markdown
        await pilot.press("v")  # best: no run has best scores, so the table says so
        await wait_for(pilot, lambda: compare.value == "best"
                       and "best-checkpoint" in " ".join(compare.views["table"].notes))


async def test_export_refuses_folders_asks_before_overwriting(runs, runs_dir, tmp_path):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await open_compare(pilot)
        folder = tmp_path / "table.md"
        folder.mkdir()
        await pilot.press("e")
        modal = app.screen
        hint = modal.query_one("#export-hint")
        for path, says in ((folder, "is a folder"), (tmp_path / "new" / "t.md", "no folder")):
            modal.query_one("#path").value = str(path)
            await pilot.press("enter")
            assert app.screen is modal and says in str(hint.render())
        assert not (tmp_path / "new").exists()  # a typo in the folder creates nothing
        existing = tmp_path / "old.md"
        existing.write_text("keep me")
        modal.query_one("#path").value = str(existing)
        await pilot.press("enter")
        assert app.screen is modal and "press Enter again" in str(hint.render())
        assert existing.read_text() == "keep me"
        await pilot.press("enter")  # the second Enter on the same name overwrites
        await wait_for(pilot, lambda: existing.read_text() != "keep me")
        assert isinstance(app.screen, CompareScreen)


# -- launch form -------------------------------------------------------------------------


async def test_launch_form_validates_as_you_type(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        form = app.screen
        launch = form.query_one("#launch")
        await wait_for(pilot, lambda: not launch.disabled, timeout=30)  # after the preflight
        assert "✓ 1 run: ssum k=16" in str(form.query_one("#launch-message").render())
        k_field = form.query_one("#field-k")
        k_field.focus()
        await pilot.press("end", *",x")
        assert launch.disabled and k_field.has_class("invalid")
        assert "whole number" in str(form.query_one("#launch-message").render())
        await pilot.press("backspace", *"32")
        assert not k_field.has_class("invalid")
        await wait_for(pilot, lambda: not launch.disabled, timeout=30)
        form.query_one("#field-methods").value = "pt,ssum"
        form.query_one("#field-seeds").value = "0,1,2"
        await pilot.pause()
        assert "Sweep of 12 runs" in str(form.query_one("#launch-message").render())
        form.query_one("#field-tasks").value = "glue/nope"  # then try to launch anyway
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert form.query_one("#field-tasks").has_class("invalid")
        assert app.screen is form  # nothing launched, the form stays
        await pilot.press("escape")
        assert app.screen is app.runs_screen


# -- keys, help, palette, quitting ---------------------------------------------------------


async def test_help_lists_the_screen_keys(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rows = app.screen.rows()
        assert ("runs", "Compare", "c") in rows
        assert ("runs", "Delete", "d, del") in rows
        assert any(where == "everywhere" and keys.startswith("f1") for where, _, keys in rows)
        assert ("runs table", "Top", "home") in rows
        assert not any(where[:1].isupper() for where, _, _ in rows)  # words, not class names
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_compt_commands(runs, runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"group by method")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.runs_screen.view.group_by == "method")
        await pilot.press("ctrl+p")
        await pilot.press(*"pt-s1")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert app.screen.run_id == "pt-s1"


async def test_every_binding_has_an_id_and_a_description():
    from tui.screens.runs import RunsScreen
    from tui.widgets.runs_table import RunsTable

    for cls in (ComptApp, RunsScreen, RunDetailScreen, CompareScreen, LaunchScreen, RunsTable):
        for binding in cls.BINDINGS:
            assert binding.id and binding.description, (cls.__name__, binding)


async def test_quitting_leaves_runs_running_and_reopening_shows_them(runs, runs_dir, sleeper):
    proc = sleeper()
    folder = add_running(runs_dir, "live-1", proc.pid)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: app._exit)
    assert proc.poll() is None  # the training was not touched
    folder.update_status(step=15)
    again = ComptApp(runs_dir)
    async with again.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert row_text(again, "live-1")["status"] == "running"
        assert row_text(again, "live-1")["progress"] == "75%"


def test_no_color_keeps_every_value_as_text(runs, runs_dir, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def run() -> str:
        app = ComptApp(runs_dir)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            assert app.no_color
            return app.export_screenshot()

    svg = asyncio.run(run())
    for text in ("failed", "done", "71.0", "msum-failed"[:4]):
        assert text in svg


def test_main_rejects_a_file_as_runs_dir(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        main(["--runs-dir", str(target)])
    assert exit_info.value.code == 2
    assert "is a file, not a runs folder" in capsys.readouterr().err


def test_core_never_imports_textual():
    """Every module of the core package imports without pulling textual or plotext in."""
    code = ("import importlib, pkgutil, sys, compt\n"
            "for m in pkgutil.walk_packages(compt.__path__, 'compt.'):\n"
            "    if m.name != 'compt.__main__':\n"
            "        importlib.import_module(m.name)\n"
            "sys.exit('textual' in sys.modules or 'plotext' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- the real thing ------------------------------------------------------------------------


async def test_launch_a_real_tiny_run_and_watch_it_finish(runs_dir):
    """Through the form and compt's launcher: a detached tiny-t5 training, watched live."""
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        values = {"methods": "ssum", "tasks": "sent_movies,entail", "k": "8", "seeds": "0",
                  "sources": "2", "model": "tiny-t5",
                  "extra": "max_steps=6 eval_size=16 analysis=false"}
        for name, value in values.items():
            app.screen.query_one(f"#field-{name}").value = value
        await wait_for(pilot, lambda: "✓ 1 run: ssum k=8 seed=0 on sent_movies, entail with "
                       "tiny-t5" in str(app.screen.query_one("#launch-message").render()),
                       timeout=30)
        assert not app.screen.query_one("#launch").disabled
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is app.runs_screen and app.runs_screen.rows,
                       timeout=30)
        (run_id,) = app.runs_screen.rows
        assert app.runs_screen.rows[run_id].state in ("queued", "running")
        await pilot.press("enter")  # watch it from the detail screen
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        detail = app.screen
        await wait_for(pilot, lambda: detail.results is not None and detail.state == "done",
                       timeout=180)
        assert set(detail.results["scores"]) == {"sent_movies", "entail"}
        assert detail.query_one("LossChart").steps[-1] == 6
        assert detail.query_one("#run-log").line_count > 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: row_text(app, run_id)["status"] == "done", timeout=20)
        assert row_text(app, run_id)["progress"] == "100%"
        assert row_text(app, run_id)["average"] != "-"
