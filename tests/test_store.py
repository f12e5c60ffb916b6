"""The run store: summaries, live status, a self-healing index, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time

import psutil
import pytest

from compt.errors import ComptError
from compt.runfolder import atomic_write_json
from compt.store import HOST, IndexStorage, RunStore

SCORES = {"sent_movies": 60.0, "sent_products": 80.0}


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sync_summarises_the_folder(runs_dir, make_run):
    folder = make_run(scores=SCORES, method="msum", k=8, seed=2, n_sources=4, group="g1")
    record = folder.read_config()
    record["resolved"]["tasks"] = ["sent_movies", "sent_products"]
    record["resolved"]["batch_size"] = 8
    folder.write_config(record)

    summary = RunStore(runs_dir).sync(folder.run_id)

    assert summary["run_id"] == folder.run_id
    assert (summary["status"], summary["method"], summary["k"], summary["seed"]) == (
        "done", "msum", 8, 2)
    assert summary["n_sources"] == 4 and summary["group"] == "g1"
    assert summary["scores"] == SCORES and summary["average"] == 70.0
    assert summary["hparams"]["batch_size"] == 8
    assert summary["hparams"]["lr_router"] == record["resolved"]["learning_rates"]["router"]
    assert summary["hparams"]["epochs"] == record["resolved"]["epochs"] > 0
    assert summary["fingerprint"] == record["fingerprint"]
    assert summary["duration_s"] == 12.5
    stored = json.loads((runs_dir / "index.json").read_text())["runs"][folder.run_id]
    assert stored == summary


def test_task_names_come_from_resolved_then_scores_then_config(runs_dir, make_run):
    store = RunStore(runs_dir)
    plain = make_run(tasks=["builtin"])  # suites are resolved when the folder is made
    assert store.get(plain.run_id)["tasks"][:2] == ["sent_movies", "sent_products"]
    scored = make_run(tasks=["builtin"], scores={"topic": 50.0, "negation": 40.0})
    record = scored.read_config()
    del record["resolved"]["tasks"]
    scored.write_config(record)
    assert store.sync(scored.run_id)["tasks"] == ["topic", "negation"]
    del record["resolved"]
    scored.write_config(record)
    (scored.path / "results.json").unlink()
    assert store.sync(scored.run_id)["tasks"] == ["builtin"]


def test_list_filters_and_newest_first(runs_dir, make_run):
    make_run("20260101-000000-pt-0001", method="pt", k=8, seed=0, scores=SCORES)
    make_run("20260101-000001-ssum-0002", method="ssum", k=8, seed=1, scores=SCORES,
             group="sweep-a")
    make_run("20260101-000002-ssum-0003", method="ssum", k=16, seed=1, status="failed",
             tasks=["topic"], group="sweep-a")
    store = RunStore(runs_dir)
    ids = lambda runs: [r["run_id"][-4:] for r in runs]  # noqa: E731

    assert ids(store.list()) == ["0003", "0002", "0001"]
    assert ids(store.list(method="ssum")) == ["0003", "0002"]
    assert ids(store.list(k=8, seed=1)) == ["0002"]
    assert ids(store.list(status="failed")) == ["0003"]
    assert ids(store.list(task="topic")) == ["0003"]
    assert ids(store.list(task="sent_movies", group="sweep-a")) == ["0002"]
    store.set_tags("20260101-000001-ssum-0002", add=["best"])
    assert ids(store.list(tag="best")) == ["0002"]
    assert store.list(method="mcat") == []


def test_running_run_with_dead_process_is_interrupted(runs_dir, make_run):
    folder = make_run(status="running")
    store = RunStore(runs_dir)
    folder.update_status(pid=os.getpid(), host=HOST, started_ts=time.time())
    store.sync(folder.run_id)
    assert store.get(folder.run_id)["status"] == "running"

    folder.update_status(pid=dead_pid())
    assert store.get(folder.run_id)["status"] == "interrupted"
    assert [r["run_id"] for r in store.list(status="interrupted")] == [folder.run_id]
    assert store.list(status="running") == []


def test_recycled_pid_does_not_look_alive(runs_dir, make_run):
    """Our own pid, but the run started before this process existed: another program."""
    folder = make_run(status="running")
    born = psutil.Process().create_time()
    folder.update_status(pid=os.getpid(), host=HOST, started_ts=born - 3600)
    assert RunStore(runs_dir).sync(folder.run_id)["status"] == "interrupted"


def test_other_hosts_are_not_judged(runs_dir, make_run):
    folder = make_run(status="running")
    folder.update_status(pid=dead_pid(), host="some-other-host")
    assert RunStore(runs_dir).sync(folder.run_id)["status"] == "running"


def test_queued_run_whose_launcher_died_is_interrupted(runs_dir, make_run):
    folder = make_run(status="queued")
    atomic_write_json(folder.path / "launch.json",
                      {"pid": dead_pid(), "host": HOST, "time": time.time()})
    assert RunStore(runs_dir).sync(folder.run_id)["status"] == "interrupted"


def test_finished_run_heals_a_stale_index_entry(runs_dir, make_run):
    folder = make_run(status="running")
    folder.update_status(pid=os.getpid(), host=HOST, started_ts=time.time())
    store = RunStore(runs_dir)
    store.sync(folder.run_id)
    folder.write_results({"scores": SCORES, "average": 70.0})
    folder.update_status(status="done")  # the run's last index update was lost

    assert store.list()[0]["average"] == 70.0
    stored = json.loads((runs_dir / "index.json").read_text())["runs"][folder.run_id]
    assert stored["status"] == "done"


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage"])
def test_damaged_index_is_rebuilt_from_folders(runs_dir, make_run, damage):
    folders = [make_run(scores={"sent_movies": float(i)}, seed=i) for i in range(5)]
    make_run(status="failed")
    RunStore(runs_dir).set_note(folders[0].run_id, "keep me")
    index = runs_dir / "index.json"
    if damage == "delete":
        index.unlink()
    elif damage == "truncate":
        index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])
    else:
        index.write_text("[1, 2")

    store = RunStore(runs_dir)
    runs = {r["run_id"]: r for r in store.list()}
    assert len(runs) == 6
    assert runs[folders[3].run_id]["scores"] == {"sent_movies": 3.0}
    assert runs[folders[0].run_id]["note"] == "keep me"
    assert len(json.loads(index.read_text())["runs"]) == 6  # rewritten, valid again


def test_sync_into_a_lost_index_keeps_every_run(runs_dir, make_run):
    """A writer finding no index must not create one holding only its own run."""
    folders = [make_run(seed=i) for i in range(3)]
    (runs_dir / "index.json").unlink()
    RunStore(runs_dir).sync(folders[0].run_id)
    assert len(json.loads((runs_dir / "index.json").read_text())["runs"]) == 3


def test_reindex_restores_every_entry(runs_dir, make_run):
    folders = [make_run(scores={"sent_movies": float(i)}, seed=i) for i in range(4)]
    store = RunStore(runs_dir)
    store.set_tags(folders[1].run_id, add=["paper", "fig3"])
    before = {r["run_id"]: r for r in store.list()}
    (runs_dir / "index.json").write_bytes(b'{"runs":{"x')
    (runs_dir / "not-a-run").mkdir()  # no config.json: ignored

    assert store.reindex() == 4
    assert {r["run_id"]: r for r in store.list()} == before
    assert before[folders[1].run_id]["tags"] == ["paper", "fig3"]


def test_index_file_layout_survives_updates(runs_dir, make_run):
    """Spliced updates (first, middle, last, new) keep index.json valid TinyDB JSON."""
    for i in range(3):
        make_run(seed=i, sync=False)
    store = RunStore(runs_dir)
    assert store.reindex() == 3
    order = list(json.loads((runs_dir / "index.json").read_text())["runs"])
    for i, run_id in enumerate([order[0], order[1], order[2]]):
        store.set_note(run_id, f"note {i}\nwith a newline")
    newcomer = make_run(seed=9)
    runs = json.loads((runs_dir / "index.json").read_text())["runs"]
    assert list(runs) == [*order, newcomer.run_id]
    assert [runs[r]["note"] for r in order] == [f"note {i}\nwith a newline" for i in range(3)]
    assert {r["seed"] for r in runs.values()} == {0, 1, 2, 9}


def test_index_written_by_another_tool_is_still_updated(runs_dir, make_run):
    folder = make_run(seed=1)
    data = json.loads((runs_dir / "index.json").read_text())
    (runs_dir / "index.json").write_text(json.dumps(data, indent=4))  # not our layout
    other = make_run(seed=2)
    runs = json.loads((runs_dir / "index.json").read_text())["runs"]
    assert set(runs) == {folder.run_id, other.run_id}


def test_resolve_ids_prefixes_and_groups(runs_dir, make_run):
    make_run("20260101-000000-pt-aaaa", group="sweep-x")
    make_run("20260101-000001-pt-aabb", group="sweep-x")
    make_run("20260102-000000-ssum-cccc")
    store = RunStore(runs_dir)
    assert store.resolve("20260101-000000-pt-aaaa") == ["20260101-000000-pt-aaaa"]
    assert store.resolve("20260102") == ["20260102-000000-ssum-cccc"]
    assert store.resolve("sweep-x") == ["20260101-000000-pt-aaaa", "20260101-000001-pt-aabb"]
    with pytest.raises(ComptError, match="matches 2 runs"):
        store.resolve("20260101")
    with pytest.raises(ComptError, match="No run or group"):
        store.resolve("nothing")


@pytest.mark.parametrize("bad", ["../outside", "/etc", "a/b", "..", ".trash", "x\\y", ""])
def test_run_ids_cannot_escape_the_runs_folder(runs_dir, make_run, bad):
    make_run()
    (runs_dir.parent / "outside").mkdir()
    (runs_dir.parent / "outside" / "config.json").write_text("{}")
    store = RunStore(runs_dir)
    for call in (store.get, store.resolve, store.sync, store.folder, store.remove):
        with pytest.raises(ComptError):
            call(bad)
    assert (runs_dir.parent / "outside" / "config.json").exists()


def test_unknown_run_is_a_user_error(runs_dir, make_run):
    make_run()
    store = RunStore(runs_dir)
    with pytest.raises(ComptError, match="No run 'nope'"):
        store.get("nope")
    with pytest.raises(ComptError, match="No run 'nope'"):
        store.sync("nope")
    assert len(store.list()) == 1


def test_tags_and_notes(runs_dir, make_run):
    folder = make_run(tags=["from-config"])
    store = RunStore(runs_dir)
    assert store.set_tags(folder.run_id, add=["a", "b", "a"]) == ["from-config", "a", "b"]
    assert store.set_tags(folder.run_id, remove=["from-config", "b"]) == ["a"]
    store.set_note(folder.run_id, "  learning rate too high  ")
    assert store.get(folder.run_id)["note"] == "learning rate too high"
    with pytest.raises(ComptError, match="tag"):
        store.set_tags(folder.run_id, add=["a,b"])
    assert folder.read_config()["config"]["tags"] == ["from-config"]  # config.json untouched


def test_remove_moves_to_trash_or_purges(runs_dir, make_run):
    kept, trashed, purged = make_run(seed=0), make_run(seed=1), make_run(seed=2)
    store = RunStore(runs_dir)
    target = store.remove(trashed.run_id)
    assert target == runs_dir / ".trash" / trashed.run_id and (target / "config.json").exists()
    assert store.remove(purged.run_id, purge=True) is None
    assert not purged.path.exists()
    assert [r["run_id"] for r in store.list()] == [kept.run_id]
    assert store.reindex() == 1  # the trash is not a run


def test_remove_refuses_a_live_run(runs_dir, make_run):
    folder = make_run(status="running")
    folder.update_status(pid=os.getpid(), host=HOST, started_ts=time.time())
    with pytest.raises(ComptError, match="stop it first"):
        RunStore(runs_dir).remove(folder.run_id)
    assert folder.path.exists()


def test_missing_runs_folder_lists_nothing(tmp_path):
    store = RunStore(tmp_path / "nowhere")
    assert store.list() == []
    assert not (tmp_path / "nowhere").exists()
    with pytest.raises(ComptError):
        store.reindex()


def test_torn_metrics_line_is_ignored(runs_dir, make_run):
    folder = make_run(scores=SCORES)
    folder.append_metrics({"step": 1, "loss": 2.0})
    with folder.metrics_path.open("a") as fh:
        fh.write('{"step": 2, "lo')
    assert folder.read_metrics() == [{"step": 1, "loss": 2.0}]
    assert RunStore(runs_dir).sync(folder.run_id)["scores"] == SCORES


# -- several processes -------------------------------------------------------------------


def _sync_at_once(runs_dir, run_id, barrier, rounds):
    store = RunStore(runs_dir)
    for _ in range(rounds):
        barrier.wait()
        store.sync(run_id)


def test_eight_processes_syncing_at_once_lose_nothing(runs_dir, make_run):
    folders = [make_run(scores={"sent_movies": 10.0 + i}, seed=i, sync=False) for i in range(8)]
    filler = {f"old-{i}": {"run_id": f"old-{i}", "note": "x" * 200} for i in range(3000)}
    IndexStorage(runs_dir / "index.json").write({"runs": filler})  # slower writes, more overlap
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_sync_at_once, args=(runs_dir, f.run_id, barrier, 5))
             for f in folders]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0] * 8

    runs = json.loads((runs_dir / "index.json").read_text())["runs"]
    assert len(runs) == 8 + len(filler)
    for folder in folders:
        assert runs[folder.run_id]["scores"] == {"sent_movies": 10.0 + runs[folder.run_id]["seed"]}


def _keep_writing(runs_dir, run_ids, stop_at):
    store = RunStore(runs_dir)
    while time.time() < stop_at:
        for run_id in run_ids:
            store.set_note(run_id, "x" * int(time.time() * 1000 % 500))


def test_readers_never_see_partial_json(runs_dir, make_run):
    folders = [make_run(seed=i) for i in range(20)]
    ctx = multiprocessing.get_context("fork")
    writer = ctx.Process(target=_keep_writing,
                         args=(runs_dir, [f.run_id for f in folders], time.time() + 1.5))
    writer.start()
    reads = 0
    storage = IndexStorage(runs_dir / "index.json")
    while writer.is_alive():
        raw = (runs_dir / "index.json").read_bytes()
        assert len(json.loads(raw)["runs"]) == 20
        assert len(storage.read()["runs"]) == 20
        reads += 1
    writer.join()
    assert writer.exitcode == 0 and reads > 10
