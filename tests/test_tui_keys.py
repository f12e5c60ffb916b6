"""Keys under lag, and the launch form's preflight, at 80x24.

``burst`` queues keystrokes all at once, as a terminal delivers them while the app is
busy: none is handled before the next arrives, so a focus change that is applied late
would send the following keys to the wrong widget. The preflight verdicts are read from
the messages the app posts (``run_test(message_hook=...)``).
"""

from __future__ import annotations

import pytest
from test_tui import SIZE, loaded, make_runs, wait_for
from textual import events
from textual.widgets import Input

from compt.runfolder import create_run_folder
from compt.store import RunStore
from tui.app import ComptApp
from tui.launch_form import plan_launch
from tui.screens.launch import LaunchScreen, Preflighted

pytestmark = pytest.mark.anyio
CHARS = {"tab": "\t", "enter": "\r", "slash": "/", "space": " "}


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def burst(pilot, *keys: str) -> None:
    """Queue every key before the app handles any of them (a lagging app), then settle."""
    for key in keys:
        pilot.app.post_message(events.Key(key, CHARS.get(key, key if len(key) == 1 else None)))
    await pilot.pause()
    await pilot.pause()


async def open_form(pilot) -> LaunchScreen:
    await loaded(pilot)
    await burst(pilot, "n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LaunchScreen))
    return pilot.app.screen


async def test_a_burst_after_tab_lands_in_the_next_field(runs_dir):
    make_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        methods = form.query_one("#field-methods", Input)
        methods.value = ""
        await burst(pilot, *"msum", "tab", *"zz")
        assert methods.value == "msum"
        assert form.query_one("#field-tasks", Input).value == "zz"  # selected on focus
        await burst(pilot, "shift+tab", "enter", "enter", *"32")
        assert form.focused is form.query_one("#field-k", Input)
        assert form.query_one("#field-k", Input).value == "32"
        assert methods.value == "msum" and form.query_one("#field-tasks").value == "zz"


async def test_keys_typed_right_after_n_go_to_the_form(runs_dir):
    make_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        sort = app.runs_screen.view.sort
        await burst(pilot, "n", *"pt")
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))
        assert app.runs_screen.view.sort == sort  # the s-less "pt" never reached the table
        assert "pt" in app.screen.query_one("#field-methods", Input).value


async def test_enter_in_the_filter_hands_the_next_key_to_the_table(runs_dir):
    make_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = app.runs_screen
        await burst(pilot, "slash", *"pt", "enter", "s")
        assert screen.filter_input.value == "pt" and screen.view.query == "pt"
        assert screen.view.sort == "status"  # the s sorted: created -> status
        assert screen.focused is screen.table
        await burst(pilot, "slash", "x", "escape", "G")
        assert screen.filter_input.value == "x"  # typed over the selected query, not "stop"
        assert screen.focused is screen.table


async def test_filter_hints_for_an_empty_store_no_match_and_unknown_keys(runs_dir):
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        info = app.runs_screen.query_one("#runs-info")
        assert "No runs yet: press n" in str(info.render())
    make_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        info = app.runs_screen.query_one("#runs-info")
        app.runs_screen.show_filter("nothing-like-this")
        assert "No run matches 'nothing-like-this'" in str(info.render())
        app.runs_screen.show_filter("methd:pt")
        assert "No run has the filter key methd" in str(info.render())
        app.runs_screen.show_filter("method:pt")
        assert str(info.render()).startswith("2/5 runs")


async def test_group_headers_fold_and_unfold(runs_dir):
    make_runs(runs_dir)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = app.runs_screen
        screen.group_by("method")
        await loaded(pilot)
        await burst(pilot, "home")  # the first header: msum's, over its one failed run
        assert screen.table.current_key == "group:method=msum"
        await burst(pilot, "z")
        await loaded(pilot)
        assert screen.table.row_count == 7  # 3 headers and 5 runs, msum's one folded away
        assert str(screen.table.get_cell(screen.table.current_key, "mark")) == "▶"
        await burst(pilot, "z")
        await loaded(pilot)
        assert screen.table.row_count == 8


async def preflight_verdict(runs_dir, values: dict[str, str]) -> Preflighted:
    """Fill the form, and return compt's preflight verdict on exactly those values."""
    seen: list[Preflighted] = []

    def hook(message) -> None:
        if isinstance(message, Preflighted):
            seen.append(message)

    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        form = await open_form(pilot)
        for name, value in values.items():
            form.query_one(f"#field-{name}", Input).value = value
        await wait_for(pilot, lambda: seen and all(seen[-1].form[n] == v
                                                  for n, v in values.items()), timeout=60)
        verdict = seen[-1]
        await pilot.pause()
        assert form.query_one("#launch").disabled == (verdict.error is not None)
        await pilot.press("ctrl+s")
        if verdict.error is not None:
            assert app.screen is form  # nothing launched
            assert "✗" in str(form.query_one("#launch-message").render())
        return verdict


async def test_preflight_refuses_k_larger_than_a_task(runs_dir):
    verdict = await preflight_verdict(runs_dir, {"tasks": "sent_movies", "k": "100000",
                                                 "extra": "analysis=false"})
    assert "k=100000 is larger than the train split of task 'sent_movies'" in verdict.error


async def test_preflight_refuses_hub_tasks_offline(runs_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    verdict = await preflight_verdict(runs_dir, {"tasks": "rte"})
    assert "Hugging Face Hub" in verdict.error


async def test_preflight_refuses_a_sweep_with_nothing_left_to_run(runs_dir):
    values = {"methods": "pt,ssum", "tasks": "sent_movies", "k": "8", "seeds": "0"}
    store = RunStore(runs_dir)
    for cell in plan_launch(values).cells:  # every cell of the sweep, already done
        folder = create_run_folder(runs_dir, cell.config)
        folder.update_status(status="done")
        folder.write_results({"scores": {"sent_movies": 60.0}, "average": 60.0})
    store.reindex()
    verdict = await preflight_verdict(runs_dir, values)
    assert "All 2 cells of this sweep are already done or running" in verdict.error
