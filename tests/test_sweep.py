"""Sweeps: grid parsing, planning against the store, and a real detached queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compt.config import RunConfig
from compt.errors import ComptError
from compt.launcher import queue_path
from compt.runfolder import read_json
from compt.store import RunStore, process_alive
from compt.sweep import expand, load_sweep, parse_grid_option, plan

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("text, key, values", [
    ("method=pt,ssum", "method", ["pt", "ssum"]),
    ("k=8, 16,32", "k", [8, 16, 32]),
    ("lr_router=0.1", "lr_router", [0.1]),
    ("k=[8, 16]", "k", [8, 16]),
    ("tasks=[[sent_movies, topic], [entail]]", "tasks", [["sent_movies", "topic"], ["entail"]]),
])
def test_parse_grid_option(text, key, values):
    assert parse_grid_option(text) == (key, values)


@pytest.mark.parametrize("text", ["k", "k=", "k=[]"])
def test_bad_grid_options(text):
    with pytest.raises(ComptError):
        parse_grid_option(text)


def test_grid_from_file_and_command_line(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('model = "tiny-t5"\nk = 4\n[grid]\nmethod = ["pt", "ssum"]\nseed = [0, 1]\n')
    base, grid = load_sweep(path, sets=["eval_size=8"], grid_options=["seed=5,6,7"])
    assert (base.model, base.k, base.eval_size) == ("tiny-t5", 4, 8)
    assert grid == {"method": ["pt", "ssum"], "seed": [5, 6, 7]}  # the command line wins

    cells = expand(base, grid)
    assert len(cells) == 6
    assert [c.values for c in cells[:2]] == [{"method": "pt", "seed": 5},
                                             {"method": "pt", "seed": 6}]
    assert {(c.config.method, c.config.seed, c.config.k) for c in cells} == {
        (m, s, 4) for m in ("pt", "ssum") for s in (5, 6, 7)}


def test_grid_mistakes_are_user_errors(tmp_path):
    with pytest.raises(ComptError, match="Unknown config key 'lr_routr'"):
        load_sweep(None, grid_options=["lr_routr=0.1,0.2"])
    with pytest.raises(ComptError, match="Grid cell method=xxx"):
        expand(RunConfig(), {"method": ["ssum", "xxx"]})
    path = tmp_path / "bad.toml"
    path.write_text('grid = "k"\n')
    with pytest.raises(ComptError, match="grid"):
        load_sweep(path)


def test_empty_grid_is_one_cell():
    cells = expand(RunConfig(k=8), {})
    assert len(cells) == 1 and cells[0].config.k == 8 and cells[0].values == {}


def test_plan_skips_done_and_active_cells(runs_dir, make_run):
    base = RunConfig(model="tiny-t5", tasks=["sent_movies", "sent_products"])
    done = make_run(status="done", seed=0, scores={"sent_movies": 1.0})
    make_run(status="failed", seed=1)
    active = make_run(status="queued", seed=2)
    make_run(status="done", seed=3, group="other", note="meta keys do not matter")
    store = RunStore(runs_dir)

    cells = plan(expand(base, {"seed": [0, 1, 2, 3, 4, 0]}), store)
    assert [c.action for c in cells] == ["done", "run", "active", "done", "run", "duplicate"]
    assert cells[0].existing == done.run_id and cells[2].existing == active.run_id

    forced = plan(expand(base, {"seed": [0, 1]}), store, force=True)
    assert [c.action for c in forced] == ["run", "run"]


def test_dry_run_prints_the_plan_and_starts_nothing(runs_dir, make_run, capsys, monkeypatch):
    from compt.cli import main

    monkeypatch.setenv("COLUMNS", "100")
    make_run(status="done", seed=1, method="pt")
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", "--grid", "method=pt,ssum", "--grid", "seed=0,1", "--set", "model=tiny-t5",
              "--set", "tasks=[sent_movies,sent_products]", "--dry-run"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "3 to run, 1 skipped" in out and "skip: done" in out and "dry run" in out
    assert len(RunStore(runs_dir).run_ids_on_disk()) == 1  # only the finished run


def test_sweep_of_eight_runs_finishes_after_the_shell_exits(runs_dir, tiny_cfg, wait_for):
    """8 runs started together by a detached queue; the launching process exits at once."""
    sets = [f"--set={k}={json.dumps(v)}" for k, v in tiny_cfg.to_dict().items()
            if k in ("model", "tasks", "k", "eval_size", "analysis", "max_steps", "device")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "compt", "sweep", "--grid", "seed=0,1,2,3,4,5,6,7", "--jobs", "8",
         "--group", "eight", "--runs-dir", str(runs_dir), *sets],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "8 to run, 0 skipped" in done.stdout

    store = RunStore(runs_dir)
    ids = store.resolve("eight")
    assert len(ids) == 8

    def all_done():
        states = {store.get(r)["status"] for r in ids}
        assert not states & {"failed", "interrupted"}, [store.folder(r).log_path.read_text()
                                                        for r in ids]
        return states == {"done"}

    wait_for(all_done, 150, "eight runs")
    # a run's status says done just before its last index update: once the queue (which
    # waits for its runs) is gone, every update has landed
    queue = read_json(queue_path(runs_dir, "eight"))
    wait_for(lambda: not process_alive(queue["pid"]), 60, "the queue to exit")
    index = json.loads((runs_dir / "index.json").read_text())["runs"]
    assert set(index) == set(ids)
    for run_id in ids:
        results = store.folder(run_id).read_results()
        assert index[run_id]["scores"] == results["scores"]
        assert index[run_id]["average"] == results["average"]
        assert index[run_id]["group"] == "eight"
    assert sorted(index[r]["seed"] for r in ids) == list(range(8))

    again = plan(expand(tiny_cfg, {"seed": list(range(8))}), store)
    assert {c.action for c in again} == {"done"}


def test_the_paper_example_parses_and_validates_offline():
    """examples/paper.toml: the paper's protocol, 36 valid cells, without the hub."""
    root = Path(__file__).resolve().parents[1]
    base, grid = load_sweep(root / "examples" / "paper.toml")
    assert (base.model, base.tasks, base.decoding, base.eval_size, base.private_init) == (
        "t5-base", ["glue"], "greedy", 100, "first_ids")
    cells = expand(base, grid)
    assert len(cells) == 36
    by_cell = {(c.config.method, c.config.k): c.config.effective_epochs for c in cells}
    assert by_cell[("ssum", 16)] == 50 and by_cell[("mcat", 32)] == 40
    assert by_cell[("pt", 8)] == 100  # doubled for k <= 10
    assert {c.config.seed for c in cells} == {0, 1, 2}
    readme = (root / "README.md").read_text()
    assert "examples/paper.toml" in readme and "## The paper's protocol" in readme
