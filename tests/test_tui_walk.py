"""Findings of the dashboard walk (issue 22): NO_COLOR contrast of `failed`, the
screenshot toast, Seeds in the Table's order, compare labels at 80 columns, the tasks
cell, the log's wrap and filter, tags and notes from the TUI, and the runs table's bulk
row append behind the faster sort and group-by."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.style import Style
from test_tui import (  # noqa: F401 (anyio_backend, runs: fixtures)
    SIZE,
    add_run,
    anyio_backend,
    finished_rows,
    fixture_results,
    loaded,
    runs,
    runs_table_app,
    wait_for,
)
from test_tui_compare import eight_task_runs, shown
from test_tui_plots import open_compare
from textual.color import Color

from compt.store import RunStore
from tui.app import ComptApp
from tui.rows import STATUS_STYLE, RunRow
from tui.screens.compare import CompareScreen
from tui.screens.detail import RunDetailScreen
from tui.screens.modals import TextModal
from tui.widgets.grid_view import GridTable

pytestmark = pytest.mark.anyio


def luminance(colour: Color) -> float:
    def channel(v: int) -> float:
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b)


def contrast(app: ComptApp, style: str, background: Color) -> float:
    """WCAG contrast of a status word on the table, through the app's own line filters
    (with NO_COLOR: ANSI colours to the theme's, then to greys)."""
    segments = [Segment("failed", Style.parse(style))]
    for line_filter in app._filters:
        segments = line_filter.apply(segments, background)
    shown = segments[0].style
    fg = Color.from_rich_color(shown.color) if shown.color else Color.parse("#e0e0e0")
    bg = Color.from_rich_color(shown.bgcolor) if shown.bgcolor else background.monochrome
    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_failed_stands_out_with_no_color(runs_dir, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE):
        for name in ("background", "surface"):
            background = Color.parse(app.theme_variables[name])
            assert contrast(app, STATUS_STYLE["failed"], background) >= 4.5
            assert contrast(app, "bold red", background) < 2  # the old style: 1.3:1
            assert contrast(app, STATUS_STYLE["done"], background) >= 4.5


async def test_screenshot_toast_is_plain_words(runs_dir, tmp_path):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.action_screenshot(filename="shot.svg", path=str(tmp_path))
        await wait_for(pilot, lambda: len(app._notifications) > 0)
        [note] = list(app._notifications)
        assert note.message == f"Saved screenshot to {tmp_path / 'shot.svg'}"
        assert (tmp_path / "shot.svg").is_file()


async def test_seeds_list_configurations_in_the_tables_order(runs_dir):
    """ssum is trained first, but the Table puts pt first: Seeds and Heatmap follow it."""
    for minute, (method, seed) in enumerate([("ssum", 0), ("ssum", 1), ("pt", 0), ("pt", 1)]):
        folder = add_run(runs_dir, f"{method}-s{seed}", minute, method=method, seed=seed)
        folder.write_results(fixture_results(method, seed))
    RunStore(runs_dir).reindex()
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("A", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.views)
        views = app.screen.views
        table_methods = [row.labels[0] for row in views["table"].rows]
        assert table_methods == ["pt", "ssum"]
        assert [m.title.split()[0] for m in views["seeds"]] == table_methods
        assert [m.title.split()[0] for m in views["heatmap"]] == ["ssum", "ssum"]  # pt: none


async def open_detail(pilot) -> RunDetailScreen:
    """The second run's detail screen (ssum-s1 in make_runs), its summary read."""
    await loaded(pilot)
    await pilot.press("down", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunDetailScreen)
                   and pilot.app.screen.summary)
    return pilot.app.screen


async def test_compare_keeps_avg_and_n_beside_the_labels(runs_dir):
    eight_task_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        compare = await open_compare(pilot, "1")
        table = compare.query_one("#table-view").query_one(GridTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        for key in ("home", "right", "right", "end"):
            await pilot.press(key)
            header = shown(table).splitlines()[0].split()
            assert header[:4] == ["method", "k", "avg", "n"]


async def test_long_variant_labels_become_letters_so_scores_show(runs_dir):
    """Configurations differing in several keys: the frozen variant label was the whole
    width; now a letter, spelled out in a note, and the first task's scores are on screen."""
    for minute, (batch, size) in enumerate([(20, 40), (8, 100), (16, 60)]):
        folder = add_run(runs_dir, f"pt-b{batch}", minute, method="pt", batch_size=batch,
                         eval_size=size)
        folder.write_results(fixture_results("pt", minute))
    RunStore(runs_dir).reindex()
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        compare = await open_compare(pilot, "1")
        table = compare.query_one("#table-view").query_one(GridTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        lines = shown(table).splitlines()
        assert lines[0].split()[:5] == ["method", "k", "variant", "avg", "n"]
        assert "sent_movies" in lines[0]
        assert [line.split()[2] for line in lines[1:4]] == ["A", "B", "C"]
        notes = str(compare.query_one("#table-view .grid-notes").render())
        assert "variant: A = batch_size=16 eval_size=60" in notes  # the table's own order
        assert "B = batch_size=20 eval_size=40" in notes


def test_tasks_cell_reads_like_the_cli():
    run = RunRow({"run_id": "r", "tasks": ["sent_movies", "entail", "cola"]})
    assert run.cells()["tasks"].text == "sent_movies+2"
    assert RunRow({"run_id": "r", "tasks": ["cola"]}).cells()["tasks"].text == "cola"


async def test_log_wraps_long_lines_and_filters(runs, runs_dir):  # noqa: F811 (fixture)
    long_line = "config " + " ".join(f"key_{i}=value_{i}" for i in range(30))  # ~450 chars
    with runs["ssum-s1"].log_path.open("a") as fh:
        fh.write(long_line + "\nTraceback: CUDA error\n")
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot)
        log = detail.query_one("#run-log")
        await wait_for(pilot, lambda: log.line_count == 22)
        await pilot.press("2")
        await pilot.pause()
        text = shown(log.shown)
        assert "key_29=value_29" in text  # wrapped, not cut at the pane's edge
        await pilot.press("slash", *"cuda")
        await wait_for(pilot, lambda: len(log.shown.lines) == 1)
        assert "Traceback: CUDA error" in shown(log.shown)
        await pilot.press("enter")  # keep the filter; appended lines are filtered too
        with runs["ssum-s1"].log_path.open("a") as fh:
            fh.write("step 21 loss 0.09\nanother cuda line\n")
        await wait_for(pilot, lambda: log.line_count == 24)
        await wait_for(pilot, lambda: len(log.shown.lines) == 2)
        await pilot.press("slash", "escape")  # clear: every line back
        await wait_for(pilot, lambda: "step 21 loss 0.09" in shown(log.shown))
        assert isinstance(app.screen, RunDetailScreen)
        await pilot.press("escape")  # no filter open: back to the runs
        assert not isinstance(app.screen, RunDetailScreen)


async def test_tags_and_note_edited_from_the_detail_screen(runs, runs_dir):  # noqa: F811
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TextModal))
        app.screen.query_one("#text").value = "baseline, " + "x" * 200  # too long a tag
        await pilot.press("enter")
        assert isinstance(app.screen, TextModal)  # refused in place, with compt's reason
        assert "is not a valid tag" in str(app.screen.query_one("#text-hint").render())
        app.screen.query_one("#text").value = "baseline, [bold]keep[/]"
        await pilot.press("enter")
        await wait_for(pilot, lambda: detail.summary.get("tags") == ["baseline", "[bold]keep[/]"])
        assert app.store.get("ssum-s1")["tags"] == ["baseline", "[bold]keep[/]"]
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TextModal))
        assert app.screen.query_one("#text").value == "baseline, [bold]keep[/]"
        app.screen.query_one("#text").value = "[bold]keep[/]"  # deleting a tag removes it
        await pilot.press("enter")
        await wait_for(pilot, lambda: detail.summary.get("tags") == ["[bold]keep[/]"])
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, TextModal))
        app.screen.query_one("#text").value = "lr too high?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: detail.summary.get("note") == "lr too high?")
        assert "lr too high?" in shown(detail.query_one("#overview-view"))
        assert app.store.get("ssum-s1")["note"] == "lr too high?"


async def test_rows_appended_in_bulk_read_as_rows_added_one_by_one():
    """RunsTable._append_rows fills DataTable's private state in one pass: the table must
    answer and draw exactly as one built by the public add_row."""
    from textual.geometry import Region

    from tui.widgets.runs_table import RunsTable

    rows = finished_rows(450)
    app = runs_table_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(RunsTable)

        async def state() -> tuple:
            await pilot.pause()
            table.move_cursor(row=300)
            await pilot.pause()
            drawn = [strip.text for strip in table.render_lines(Region(0, 0, *table.size))]
            return (table.row_count, drawn, table.get_row_at(300), table.get_row_index("run-00007"),
                    table.get_cell("run-00449", "average"), table.current_key)

        table.show(rows)
        await wait_for(pilot, lambda: not table.filling)
        bulk = await state()
        table.clear()
        for row in rows:
            table.add_row(*list(row.cells().values())[:len(table.columns)], key=row.run_id)
        assert await state() == bulk
        assert bulk[0] == 450 and bulk[-1] == "run-00300"


async def test_runs_list_columns_sort_arrows_and_column_steps(runs, runs_dir):  # noqa: F811
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        table = app.runs_screen.table
        labels = lambda: [str(c.label) for c in table.ordered_columns]  # noqa: E731
        assert "created↓" in labels()  # newest first
        cells = {c.key.value: str(table.get_cell("pt-s0", c.key)) for c in table.ordered_columns}
        assert cells["group"] == "g-pt" and cells["created"] == "2026-11-24 07:00"
        assert cells["tasks"] == "sent_movies+1"
        await pilot.press("s")  # status, A to Z
        assert "status↑" in labels() and "created" in labels() and "created↓" not in labels()
        table_x = table.ordered_columns
        run_at = sum(c.get_render_width(table) for c in table_x[:[c.key.value for c in
                                                                   table_x].index("run")])
        presses = 0
        while round(table.scroll_x) < min(run_at, table.max_scroll_x):
            await pilot.press("right")
            presses += 1
            assert presses <= 10, "the run id takes more than 10 presses to reach"
        assert round(table.scroll_x) == min(run_at, table.max_scroll_x)
        await pilot.press("left")
        assert round(table.scroll_x) < run_at
