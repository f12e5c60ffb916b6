"""Detached runs with real processes: kill -9 and resume, stop, queue cap, own sessions."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest

from compt import launcher
from compt.errors import ComptError
from compt.executors import local
from compt.launcher import launch_run, launch_sweep, queue_path, retry, stop
from compt.runfolder import read_json
from compt.store import HOST, RunStore, process_alive


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def log_of(store: RunStore, run_id: str) -> str:
    path = store.folder(run_id).log_path
    return path.read_text() if path.exists() else "(no log)"


def finished(store: RunStore, *run_ids: str) -> bool:
    states = [store.get(r)["status"] for r in run_ids]
    for run_id, state in zip(run_ids, states, strict=True):
        if state in ("failed", "interrupted"):
            pytest.fail(f"{run_id} is {state}:\n{log_of(store, run_id)}")
    return all(s == "done" for s in states)


def test_processes_start_from_argument_lists_in_their_own_session(runs_dir, tiny_cfg,
                                                                  monkeypatch):
    calls = []

    class Recorder:
        pid = 4242

        def __init__(self, argv, **kwargs):
            calls.append((argv, kwargs))

    monkeypatch.setattr(local.subprocess, "Popen", Recorder)
    run_id = launch_run(tiny_cfg, runs_dir, group="g-1")
    group, ids = launch_sweep([tiny_cfg], runs_dir, jobs=2)

    (run_argv, run_kw), (queue_argv, queue_kw) = calls
    assert run_argv[:4] == [sys.executable, "-m", "compt", "run"]
    assert run_argv[run_argv.index("--run-id") + 1] == run_id
    assert "--resume" not in run_argv
    assert queue_argv[:4] == [sys.executable, "-m", "compt.executors.local", "queue"]
    assert queue_argv[queue_argv.index("--name") + 1] == group
    for kwargs in (run_kw, queue_kw):
        assert kwargs["start_new_session"] is True and not kwargs.get("shell")
        assert kwargs["stdin"] == subprocess.DEVNULL
    store = RunStore(runs_dir)
    assert store.get(run_id)["group"] == "g-1" and store.get(run_id)["pid"] == 4242
    assert [store.get(r)["group"] for r in ids] == [group]
    assert read_json(queue_path(runs_dir, group))["runs"] == ids


def test_retry_failed_queues_failed_and_interrupted_runs(runs_dir, make_run, monkeypatch):
    failed = make_run("20260101-000000-pt-0001", status="failed")
    lost = make_run("20260101-000001-pt-0002", status="running")
    lost.update_status(pid=dead_pid(), host=HOST, started_ts=time.time())
    calls = []
    monkeypatch.setattr(local.subprocess, "Popen",
                        lambda argv, **kw: calls.append(argv) or type("P", (), {"pid": 1})())
    make_run("20260101-000002-pt-0003", status="stopped")
    make_run("20260101-000003-pt-0004", status="done")

    ids = launcher.retry_failed(runs_dir, jobs=3)

    assert ids == [failed.run_id, lost.run_id]
    store = RunStore(runs_dir)
    assert [store.get(r)["status"] for r in ids] == ["queued", "queued"]
    assert failed.read_status()["error"] is None
    (argv,) = calls
    record = read_json(queue_path(runs_dir, argv[argv.index("--name") + 1]))
    assert record["runs"] == ids and record["jobs"] == 3
    assert launcher.retry_failed(runs_dir) == []  # nothing failed any more (queued now)


def test_bad_names_are_refused_before_anything_starts(runs_dir, tiny_cfg):
    with pytest.raises(ComptError):
        launch_run(tiny_cfg, runs_dir, group="../evil")
    with pytest.raises(ComptError):
        launch_run(tiny_cfg, runs_dir, run_id="a/../../b")
    with pytest.raises(ComptError):
        stop("../..", runs_dir)
    with pytest.raises(ComptError):
        launch_sweep([tiny_cfg], runs_dir, group="x/y")
    assert list(runs_dir.iterdir()) == []


def test_retry_refuses_finished_and_live_runs(runs_dir, make_run):
    done = make_run(status="done")
    live = make_run(status="running")
    live.update_status(pid=os.getpid(), host=HOST, started_ts=time.time())
    with pytest.raises(ComptError, match="finished"):
        retry(done.run_id, runs_dir)
    with pytest.raises(ComptError, match="running"):
        retry(live.run_id, runs_dir)
    with pytest.raises(ComptError, match="No run"):
        retry("missing", runs_dir)
    assert live.read_status()["status"] == "running"


def test_kill_9_then_retry_resumes_to_the_uninterrupted_scores(runs_dir, tiny_cfg, wait_for):
    cfg = dataclasses.replace(tiny_cfg, max_steps=30, checkpoint_every=4, k=8)
    reference = launch_run(cfg, runs_dir)
    victim = launch_run(cfg, runs_dir)
    store = RunStore(runs_dir)
    folder = store.folder(victim)
    wait_for(lambda: folder.checkpoint_path.exists(), 90, "the first checkpoint")
    pid = folder.read_status()["pid"]
    assert os.getsid(pid) == pid  # a session of its own: a closed terminal cannot reach it
    os.killpg(pid, signal.SIGKILL)
    wait_for(lambda: not process_alive(pid), 10, "the kill")

    assert store.get(victim)["status"] == "interrupted"
    assert [r["run_id"] for r in store.list(status="interrupted")] == [victim]
    retry(victim, runs_dir)
    wait_for(lambda: finished(store, reference, victim), 120, "both runs")

    assert "resumed from checkpoint at step" in log_of(store, victim)
    assert "resumed from checkpoint at step 0" not in log_of(store, victim)
    ref, resumed = store.folder(reference).read_results(), folder.read_results()
    assert resumed["scores"] == ref["scores"]
    assert store.get(victim)["scores"] == store.get(reference)["scores"] == ref["scores"]


def test_stop_a_group_with_a_capped_queue(runs_dir, tiny_cfg, wait_for):
    cfg = dataclasses.replace(tiny_cfg, max_steps=5000, checkpoint_every=1000)
    configs = [dataclasses.replace(cfg, seed=s) for s in (0, 1)]
    group, (first, second) = launch_sweep(configs, runs_dir, jobs=1)
    store = RunStore(runs_dir)
    wait_for(lambda: "training ssum" in log_of(store, first), 90, "training to start")

    assert store.get(first)["status"] == "running"
    assert store.get(second)["status"] == "queued"  # the cap: one at a time
    pid = store.get(first)["pid"]
    assert sorted(stop(group, runs_dir)) == sorted([first, second])

    assert not process_alive(pid)
    assert [store.get(r)["status"] for r in (first, second)] == ["stopped", "stopped"]
    assert store.folder(first).checkpoint_path.exists()  # saved on SIGTERM
    assert "stopped at step" in log_of(store, first)
    queue = read_json(queue_path(runs_dir, group))
    wait_for(lambda: not process_alive(queue["pid"]), 10, "the queue to exit")
    assert read_json(queue_path(runs_dir, group))["finished"]
    assert not store.folder(second).log_path.exists()  # never started
    assert stop(group, runs_dir) == []
