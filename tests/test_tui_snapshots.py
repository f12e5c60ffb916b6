"""SVG snapshots of the main screens at 80x24, compare also at 120x40 (pytest-textual-snapshot).

A changed screen fails with a visual diff; after checking it, accept it with
``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import loaded, make_runs, wait_for
from test_tui_compare import eight_task_runs
from test_tui_plots import open_compare, sweep_runs
from textual.widgets import Input

from tui.app import ComptApp
from tui.screens.compare import CompareScreen
from tui.screens.detail import RunDetailScreen
from tui.screens.launch import LaunchScreen
from tui.widgets.grid_view import GridTable
from tui.widgets.plots import CurvesChart

SIZE = (80, 24)
WIDE = (120, 40)


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The fixture runs under a relative runs folder, so no temp path reaches the screen."""
    monkeypatch.chdir(tmp_path)
    make_runs(Path("runs"))
    return ComptApp(Path("runs"))


async def runs_ready(pilot) -> None:
    await loaded(pilot)
    table = pilot.app.runs_screen.table
    await wait_for(pilot, lambda: str(table.get_cell("pt-s0", "loss")) != "-")


def test_runs_screen(snap_compare, app):
    assert snap_compare(app, terminal_size=SIZE, run_before=runs_ready)


def test_runs_screen_grouped_by_method(snap_compare, app):
    async def grouped(pilot):
        await runs_ready(pilot)
        pilot.app.runs_screen.group_by("method")
        await loaded(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=grouped)


def test_run_detail_overview(snap_compare, app):
    async def detail(pilot):
        await loaded(pilot)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunDetailScreen)
                       and pilot.app.screen.results is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=detail)


def compare_view(view: str, *keys: str):
    """Open Compare on the four finished runs, on ``view`` (1-4), then press ``keys``."""
    async def compare(pilot):
        await loaded(pilot)
        await pilot.press("down", *["space"] * 4, "c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen)
                       and pilot.app.screen.views)
        await pilot.press(view, *keys)
        await pilot.pause()

    return compare


@pytest.mark.parametrize("size", [SIZE, WIDE], ids=["80x24", "120x40"])
@pytest.mark.parametrize("view", ["1", "2", "3"], ids=["table", "seeds", "diff"])
def test_compare(snap_compare, app, size, view):
    assert snap_compare(app, terminal_size=size, run_before=compare_view(view))


@pytest.mark.parametrize("keys", [(), ("end",)], ids=["left", "scrolled-right"])
def test_compare_eight_tasks(snap_compare, tmp_path, monkeypatch, keys):
    """Ten value columns at 80 columns: labels frozen, values scrolled, nothing cut."""
    monkeypatch.chdir(tmp_path)
    eight_task_runs(Path("runs"))

    async def compare(pilot):
        await loaded(pilot)
        await pilot.press("A", "c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen)
                       and pilot.app.screen.views)
        await pilot.press(*keys)
        await pilot.pause()

    assert snap_compare(ComptApp(Path("runs")), terminal_size=SIZE, run_before=compare)


def test_launch_form_with_a_mistake(snap_compare, app):
    async def form(pilot):
        await loaded(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LaunchScreen))
        for field in pilot.app.screen.query(Input):  # a blink timer under load hid the cursor
            field.cursor_blink = False
        pilot.app.screen.query_one("#field-k").value = "8,x"
        # under load the check may land a few frames later: wait for it, not for one frame
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#launch-message")
                       .has_class("invalid"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=form)


def test_help_screen(snap_compare, app):
    async def help_screen(pilot):
        await loaded(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=help_screen)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
@pytest.mark.parametrize("view,ks", [("5", (8,)), ("6", (4, 8, 16)), ("4", (8,))],
                         ids=["curves", "sweep", "heatmap"])
def test_plots(snap_compare, tmp_path, monkeypatch, view, ks, no_color):
    """The pictures at 80x24: curves of four runs, a k sweep, a heatmap with its legend;
    with NO_COLOR the runs differ by marker and the cells by shading character."""
    monkeypatch.chdir(tmp_path)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    sweep_runs(Path("runs"), ks=ks)

    async def plot(pilot):
        screen = await open_compare(pilot, view)
        await wait_for(pilot, lambda: screen.query_one(CurvesChart).curves
                       and screen.query(GridTable))
        await pilot.pause()

    assert snap_compare(ComptApp(Path("runs")), terminal_size=SIZE, run_before=plot)
