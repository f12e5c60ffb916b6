"""Pilot tests: user strings that look like Rich markup, and finished runs with broken results.

Each opens the screens a user would and checks what is on screen: the strings exactly
as typed, and a visible marker (never "No results yet", never a crash) for damage.
"""

from __future__ import annotations

import pytest
from test_tui import SIZE, add_run, loaded, wait_for
from test_tui_compare import shown

from compt.store import RunStore
from tui.app import ComptApp
from tui.screens.compare import CompareScreen
from tui.screens.detail import RunDetailScreen

pytestmark = pytest.mark.anyio
MARKUP = ["[/]", "[bold]x[/", "[link=file:///etc]y"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_markup_in_tags_notes_and_groups_is_shown_as_typed(runs_dir):
    folder = add_run(runs_dir, "r1", 0, group="g1")
    folder.write_results({"scores": {"sent_movies": 70.0, "entail": 60.0}, "average": 65.0})
    add_run(runs_dir, "r2", 1, seed=1).write_results({"scores": {"sent_movies": 72.0,
                                                                 "entail": 61.0},
                                                      "average": 66.5})
    store = RunStore(runs_dir)
    store.reindex()
    store.set_tags("r1", add=MARKUP)
    store.set_note("r1", "[/]note[b]")
    app = ComptApp(runs_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        app.runs_screen.show_filter("[/]")  # a filter word that is markup matches as text
        await wait_for(pilot, lambda: [r.run_id for r in app.runs_screen.shown] == ["r1"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen)
                       and app.screen.summary.get("tags"))
        await pilot.pause()
        overview = shown(app.screen.query_one("#overview-view"))
        assert ", ".join(MARKUP) in overview and "[/]note[b]" in overview
        app.notify("tag [/] saved")  # notifications quote user strings: no markup either
        await pilot.pause()
        await pilot.press("escape")
        app.runs_screen.show_filter("")
        await loaded(pilot)
        await pilot.press("A", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen)
                       and app.screen.views)
        await pilot.press("3")
        await pilot.pause()
        assert "r1" in shown(app.screen.query_one("#diff-view GridTable"))
    assert app.return_code in (0, None)


@pytest.mark.parametrize("content, words", [
    ('{"scores": [1, 2], "average": "n/a"}', "scores are not numbers"),
    ('{"scores": {"entail": 60.0}, "average": "n/a"}', "average is not a number"),
    ("{not json", "unreadable"),
    (None, "missing"),
])
async def test_a_done_run_with_broken_results_is_marked(runs_dir, content, words):
    folder = add_run(runs_dir, "broken", 0)
    if content is not None:
        folder.results_path.write_text(content)
    RunStore(runs_dir).reindex()
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        app.open_run("broken")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen)
                       and app.screen.results_problem)
        detail = app.screen
        await pilot.pause()
        assert words in detail.results_problem
        assert "⚠" in str(detail.query_one("#detail-info").render())
        await pilot.press("4")
        await pilot.pause()
        text = shown(detail.query_one("#heatmap-view Static"))
        assert "⚠" in text and "No results yet" not in text
        assert "heatmap" not in detail.views  # nothing to export
