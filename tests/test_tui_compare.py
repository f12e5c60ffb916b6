"""Pilot tests of the compare views at 80x24: frozen labels, horizontal steps, diffs of many runs.

What is asserted is what the terminal shows: the lines the grid tables render, after
scrolling the way a user would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import add_run, loaded, wait_for
from textual.geometry import Region

from compt.store import RunStore
from tui.app import ComptApp
from tui.grid import short_names
from tui.screens.compare import CompareScreen
from tui.widgets.grid_view import GridTable

pytestmark = pytest.mark.anyio
SIZE = (80, 24)
EIGHT = ["mnli", "qnli", "rte", "cola", "sst2", "stsb", "mrpc", "qqp"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def eight_task_runs(runs_dir: Path) -> None:
    """pt and ssum, two seeds each, on eight tasks: 10 value columns, too wide for 80."""
    for m, method in enumerate(("pt", "ssum")):
        for seed in (0, 1):
            folder = add_run(runs_dir, f"{method}-s{seed}", 2 * m + seed, method=method,
                             seed=seed, tasks=EIGHT)
            scores = {t: 50.0 + 10 * m + 2 * seed + i for i, t in enumerate(EIGHT)}
            folder.write_results({"scores": scores,
                                  "average": sum(scores.values()) / len(scores)})
    RunStore(runs_dir).reindex()


def shown(widget) -> str:
    """The text ``widget`` draws right now (as on the terminal)."""
    width, height = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, width, height)))


async def open_compare(pilot, count: int) -> CompareScreen:
    app = pilot.app
    await loaded(pilot)
    await pilot.press("A", "c")
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.views)
    assert len(app.screen.run_ids) == count
    await pilot.pause()
    return app.screen


async def test_eight_task_table_keeps_labels_values_and_markers_in_view(runs_dir):
    eight_task_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        compare = await open_compare(pilot, 4)
        table = compare.query_one("#table-view").query_one(GridTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert table.max_scroll_x > 0  # too wide for 80 columns: it scrolls, never squeezes
        seen = set()
        for _ in range(12):  # → one column at a time, to the end
            text = shown(table)
            lines = text.splitlines()
            assert lines[0].split()[:2] == ["method", "k"]  # the label columns stay
            assert [line.split()[:2] for line in lines[1:3]] == [["pt", "8"], ["ssum", "8"]]
            assert "…" not in text  # nothing cut to fit
            seen.update(lines[0].split())
            await pilot.press("right")
        assert seen >= {*EIGHT, "avg", "n"}
        last = shown(table).splitlines()
        ssum_row = last[2]
        assert "avg" in last[0] and "± 1.4*" in ssum_row  # the best avg: mean ± std and marker
        assert "± 1.4†" in last[1]  # the second marker too
        await pilot.press("home")
        assert "mnli" in shown(table).splitlines()[0]


async def test_seeds_view_scrolls_every_block_together(runs_dir):
    eight_task_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        compare = await open_compare(pilot, 4)
        await pilot.press("2")
        view = compare.query_one("#seeds-view")
        await wait_for(pilot, lambda: len(view.query(GridTable)) == 2)
        await pilot.pause()
        blocks = list(view.query(GridTable))
        await pilot.press("end")
        for block in blocks:
            lines = shown(block).splitlines()
            assert "avg" in lines[0]
            labels = [" ".join(line.split()[:2]) for line in lines[1:5]]
            assert labels[:2] == ["seed 0", "seed 1"] and labels[2].startswith("mean")


async def test_diff_of_many_runs_names_each_column(runs_dir):
    for i in range(30):
        add_run(runs_dir, f"20261127-0138{i:02d}-ssum-{i:06x}", i, method="ssum", seed=i,
                k=8 + i % 3)
    RunStore(runs_dir).reindex()
    app = ComptApp(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        compare = await open_compare(pilot, 30)
        await pilot.press("3")
        table = compare.query_one("#diff-view").query_one(GridTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        await pilot.press("end")  # the columns go in as they near the screen: all of them
        await wait_for(pilot, lambda: len(table.ordered_columns) == 31)
        header = [str(c.label) for c in table.ordered_columns]
        assert header[0] == "key" and len(set(header)) == 31  # every column tells its run
        assert {f"20261127-{h}" for h in header[1:]} == set(compare.run_ids)
        keys = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert {"method", "k", "seed"} <= set(keys)
        assert "common part '20261127-'" in str(compare.query_one("#diff-view .grid-notes")
                                                   .render())


def hundred_runs(runs_dir, method: str, vary_k: bool = False) -> list[str]:
    """100 finished runs of one method (seeds 0-99; k 8/9/10 in turn if ``vary_k``)."""
    ids = [f"20261127-{i:06d}-{method}-{i:06x}" for i in range(100)]
    for i, run_id in enumerate(ids):
        add_run(runs_dir, run_id, i, method=method, seed=i, **({"k": 8 + i % 3} if vary_k else {}))
    RunStore(runs_dir).reindex()
    return ids


async def open_diff(pilot) -> GridTable:
    """Compare all 100 runs, the Diff tab, once its rows are in."""
    compare = await open_compare(pilot, 100)
    await pilot.press("3")
    table = compare.query_one("#diff-view").query_one(GridTable)
    await wait_for(pilot, lambda: table.row_count > 0)
    await pilot.pause()
    return table


async def test_diff_of_100_runs_scrolls_to_the_last_run(runs_dir):
    """The value columns go into the table as they near the screen (GridTable): stepping
    right through a 100-run diff must show every run's column header, the last one
    included, and End must reach the last column at once."""
    ids = hundred_runs(runs_dir, "ssum", vary_k=True)
    app = ComptApp(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        table = await open_diff(pilot)
        names = table.grid.header[1:]
        assert {f"20261127-{n}" for n in names} == set(ids)
        assert table.loaded < len(names) // 2  # not all in: what follows tests the loading
        seen: set[str] = set()
        for _ in range(len(names) + 5):  # → one column at a time, to the end
            header = shown(table).splitlines()[0]
            assert header.split()[0] == "key"  # the label column stays
            seen.update(header.split()[1:])
            await pilot.press("right")
            await pilot.pause()
        header = shown(table).splitlines()[0].split()
        assert header[-1] == names[-1]  # the last run's column, fully on screen
        assert seen | set(header) >= set(names)  # no run's column was skipped
        assert table.scroll_x == table.max_scroll_x and table.loaded == len(names) + 1

        await pilot.press("home")
        await pilot.pause()
        assert shown(table).splitlines()[0].split()[1] == names[0]
        await pilot.press("end")  # straight to the last column, loading what is missing
        await pilot.pause()
        await wait_for(pilot, lambda: shown(table).splitlines()[0].split()[-1] == names[-1])


async def test_scrolling_the_diff_by_its_scrollbar_loads_the_next_columns(runs_dir):
    """The wheel or the scrollbar (any scroll_x change) brings the next columns in too."""
    hundred_runs(runs_dir, "pt")
    app = ComptApp(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_diff(pilot)
        for _ in range(200):
            if table.loaded == table.total and table.scroll_x == table.max_scroll_x:
                break
            table.scroll_to(x=table.max_scroll_x, animate=False)  # as far as it goes now
            await pilot.pause()
        assert shown(table).splitlines()[0].split()[-1] == table.grid.header[-1]


async def test_a_wider_terminal_puts_more_diff_columns_in(runs_dir):
    hundred_runs(runs_dir, "pt")
    app = ComptApp(runs_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_diff(pilot)
        narrow = table.loaded
        await pilot.resize_terminal(240, 30)
        await wait_for(pilot, lambda: table.loaded > narrow and table.size.width > 200)
        await pilot.pause()
        header = shown(table).splitlines()[0].split()
        names = table.grid.header[1:]
        assert len(header) > 12 and header[1:-1] == names[:len(header) - 2]  # a screenful
        assert names[len(header) - 2].startswith(header[-1])  # the last one cut at the edge
        assert sum(table.column_width(i) for i in range(table.loaded)) > 2 * 240


def test_short_names_drop_the_shared_prefix_at_a_separator():
    assert short_names(["20261127-013801-ssum-3fa9c1", "20261127-013802-pt-77b0e2"]) == (
        ["013801-ssum-3fa9c1", "013802-pt-77b0e2"], "20261127-")
    assert short_names(["run-a", "run-ab"]) == (["a", "ab"], "run-")
    assert short_names(["a", "ab"]) == (["a", "ab"], "")  # no separator: whole ids
    assert short_names(["x-1"]) == (["x-1"], "")
