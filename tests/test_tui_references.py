"""The TUI compare screen shows the reference rows a report command has cached, and never
computes them itself."""

from __future__ import annotations

import pytest
from test_tui import add_run, wait_for
from test_tui_compare import SIZE, open_compare, shown

import compt.references
from compt.references import Computer, config_reader, references_for
from compt.runfolder import RunFolder
from compt.store import RunStore
from tui.app import ComptApp
from tui.widgets.grid_view import GridTable

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def two_runs(runs_dir):
    for seed in (0, 1):
        folder = add_run(runs_dir, f"pt-s{seed}", seed, method="pt", seed=seed)
        folder.write_results({"scores": {"sent_movies": 60.0, "entail": 40.0}, "average": 50.0})
    RunStore(runs_dir).reindex()
    return RunStore(runs_dir).list()




async def test_compare_shows_cached_references_only(runs_dir, tmp_path, monkeypatch):
    runs = two_runs(runs_dir)
    monkeypatch.setattr(compt.references, "cache_root", lambda: tmp_path / "refs")

    def refuse(*args):
        raise AssertionError("the TUI computed a reference")

    monkeypatch.setattr(Computer, "_compute", refuse)
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:  # a cold cache: the trained row alone
        compare = await open_compare(pilot, 2)
        table = compare.query_one("#table-view").query_one(GridTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert "majority" not in shown(table)

    with monkeypatch.context() as patch:
        patch.setattr(Computer, "_compute", lambda *a: (a[4], 70.0))
        read = config_reader(lambda r: RunFolder(runs_dir / r["run_id"]).read_config()["config"])
        references_for(runs, read)  # what `compt table` leaves in the cache
    app = ComptApp(runs_dir)
    async with app.run_test(size=SIZE) as pilot:
        compare = await open_compare(pilot, 2)
        table = compare.query_one("#table-view").query_one(GridTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        text = shown(table)
        assert "majority" in text and "zero-shot" in text and "ref" in text
        pt = next(line for line in text.splitlines() if line.split()[:1] == ["pt"])
        assert "°" in pt  # 60.0 and 40.0 do not beat the 70.0 references
