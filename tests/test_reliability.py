"""Nothing lost, nothing crashes (issue 10): one trainer per run, hostile names and markup,
write faults on real read-only / immutable / full filesystems, damaged index entries and
results, and the smaller lifecycle slips. Each test reproduces one reported failure."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from compt import launcher
from compt.errors import ComptError
from compt.executors import local
from compt.launcher import launch_sweep
from compt.names import INDEX_FILE, TRASH_DIR, check_run_id, check_tag
from compt.runfolder import RunFolder
from compt.store import HOST, RunStore

REPO = Path(__file__).resolve().parents[1]
TINY_CLI = ["--model", "tiny-t5", "--tasks", "sent_movies", "-k", "4", "--set", "eval_size=4",
            "--set", "analysis=false", "--device", "cpu"]


# -- 1. one trainer per run ----------------------------------------------------------------


@contextlib.contextmanager
def lock_held_by_another_process(folder: RunFolder):
    """A real second process that takes the run's trainer lock and keeps it."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from compt.runfolder import RunFolder
        with RunFolder(Path({str(folder.path)!r})).trainer_lock():
            print("locked", flush=True)
            time.sleep(120)
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_second_trainer_is_refused_naming_the_holder(runs_dir, make_run, compt):
    folder = make_run("dup", status="queued")
    folder.append_metrics({"step": 1, "loss": 1.0})
    with lock_held_by_another_process(folder) as holder:
        code, _, err = compt("run", "--runs-dir", runs_dir, "--run-id", "dup")
        assert code == 2
        message = " ".join(err.split())
        assert f"pid {holder.pid} on {HOST}" in message and "Traceback" not in err
    assert len(folder.read_metrics()) == 1  # the refused trainer touched nothing
    assert folder.read_status()["status"] == "queued"


def test_the_lock_dies_with_its_process(runs_dir, make_run):
    folder = make_run("dup", status="queued")
    with lock_held_by_another_process(folder):
        pass  # killed on exit
    with folder.trainer_lock():
        pass


def test_a_finished_run_is_not_retrained_in_place(runs_dir, make_run, compt):
    folder = make_run("r1-s0", scores={"sent_movies": 80.0})
    code, _, err = compt("run", "--runs-dir", runs_dir, "--run-id", "r1-s0", "--max-steps", "1")
    assert code == 2 and "--force" in err
    assert folder.read_results()["scores"] == {"sent_movies": 80.0}


def test_force_archives_the_finished_run_then_trains_with_the_new_options(
        runs_dir, make_run, compt):
    make_run("r1-s0", scores={"sent_movies": 80.0})
    code, out, err = compt("run", "--runs-dir", runs_dir, "--run-id", "r1-s0", "--force",
                           "--max-steps", "1", *TINY_CLI)
    assert code == 0, err
    trashed = list((runs_dir / TRASH_DIR).iterdir())
    assert [p.name for p in trashed] == ["r1-s0"]
    assert RunFolder(trashed[0]).read_results()["scores"] == {"sent_movies": 80.0}
    new = RunFolder(runs_dir / "r1-s0")
    assert new.read_config()["config"]["max_steps"] == 1
    assert new.read_status()["status"] == "done"


def test_options_for_an_existing_unfinished_run_are_refused(runs_dir, make_run, compt):
    make_run("q1", status="stopped")
    code, _, err = compt("run", "--runs-dir", runs_dir, "--run-id", "q1", "--max-steps", "1")
    assert code == 2 and "would be ignored" in " ".join(err.split())


# -- 2. and 3. names -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["index.json", "INDEX.JSON", ".trash", ".queues", "a/b",
                                  "..", "x\n", "tab\there", "[/]", ""])
def test_reserved_and_unsafe_names_are_refused(name):
    with pytest.raises(ComptError):
        check_run_id(name)


def test_run_id_index_json_never_reaches_the_store(runs_dir, make_run, compt):
    make_run("a1", scores={"sent_movies": 50.0})
    code, _, err = compt("run", "--runs-dir", runs_dir, "--run-id", "index.json", *TINY_CLI)
    assert code == 2 and "reserved" in err
    assert (runs_dir / INDEX_FILE).is_file()
    assert compt("ls", "--runs-dir", runs_dir)[0] == 0


def test_a_directory_in_the_index_place_is_repaired_by_reindex(runs_dir, make_run, compt):
    make_run("a1", scores={"sent_movies": 50.0}, sync=False)
    (runs_dir / INDEX_FILE).mkdir()
    (runs_dir / INDEX_FILE / "config.json").write_text("{}")
    code, out, _ = compt("ls", "--runs-dir", runs_dir)
    assert code == 0 and "a1" in out
    assert compt("reindex", "--runs-dir", runs_dir)[0] == 0
    assert (runs_dir / INDEX_FILE).is_file()
    assert [s["run_id"] for s in RunStore(runs_dir).list()] == ["a1"]
    assert any(p.name.startswith(INDEX_FILE) for p in (runs_dir / TRASH_DIR).iterdir())


def test_markup_in_tags_notes_and_groups_is_text(runs_dir, make_run, compt):
    make_run("r1-s0", scores={"sent_movies": 50.0})
    assert compt("tag", "--runs-dir", runs_dir, "r1-s0", "[/]", "[bold]x")[0] == 0
    assert compt("note", "--runs-dir", runs_dir, "r1-s0", "see [/] and [red]")[0] == 0
    code, out, err = compt("show", "--runs-dir", runs_dir, "r1-s0")
    assert code == 0, err
    assert "[/], [bold]x" in out and "see [/] and [red]" in out
    code, out, _ = compt("tag", "--runs-dir", runs_dir, "r1-s0", "more")
    assert code == 0 and "[/]" in out
    code, _, err = compt("run", "--runs-dir", runs_dir, "--group", "[/]", *TINY_CLI)
    assert code == 2 and "not a valid group name" in " ".join(err.split())


def test_control_characters_in_tags_and_notes_are_refused(runs_dir, make_run, compt):
    make_run("r1-s0")
    assert compt("tag", "--runs-dir", runs_dir, "r1-s0", "a\x1b[31m")[0] == 2
    assert compt("note", "--runs-dir", runs_dir, "r1-s0", "bell\x07")[0] == 2
    assert check_tag("  spaced  ") == "spaced"


# -- 4. write faults -----------------------------------------------------------------------


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip() or 'not permitted'})")


@pytest.fixture
def read_only(runs_dir):
    """Make the store read-only for real (root ignores permission bits): a ro bind mount."""
    mounted = []

    def freeze() -> None:
        _mount("--bind", str(runs_dir), str(runs_dir))
        mounted.append(runs_dir)
        _mount("-o", "remount,ro,bind", str(runs_dir))

    yield freeze
    for path in mounted:
        subprocess.run(["umount", str(path)], check=True)


@pytest.fixture
def immutable():
    """``chattr +i`` a file (undone afterwards); skips where the filesystem has no flags."""
    paths = []

    def freeze(path: Path) -> None:
        result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"chattr +i is not available here: {result.stderr.strip()}")
        paths.append(path)

    yield freeze
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.parametrize("args", [["tag", "r1-s0", "x"], ["note", "r1-s0", "hi"],
                                  ["rm", "r1-s0"], ["reindex"]])
def test_a_read_only_store_gives_one_message_and_exit_2(runs_dir, make_run, compt, read_only,
                                                        args):
    make_run("r1-s0", scores={"sent_movies": 50.0})
    read_only()
    code, _, err = compt(*args, "--runs-dir", runs_dir)
    assert code == 2 and "Traceback" not in err
    assert "Read-only file system" in err and err.count("error:") == 1
    assert compt("ls", "--runs-dir", runs_dir)[0] == 0


def test_rm_with_an_immutable_index_leaves_folder_and_index_agreeing(
        runs_dir, make_run, compt, immutable):
    make_run("r1-s0", scores={"sent_movies": 50.0})
    immutable(runs_dir / INDEX_FILE)
    code, _, err = compt("rm", "--runs-dir", runs_dir, "r1-s0")
    assert code == 2 and "Traceback" not in err
    assert (runs_dir / "r1-s0").is_dir()  # the index could not change, so neither did this
    code, out, _ = compt("show", "--runs-dir", runs_dir, "r1-s0")
    assert code == 0 and "r1-s0" in out


def test_a_sweep_that_fails_midway_leaves_no_queued_orphans(runs_dir, tiny_cfg, monkeypatch):
    def no_queue(*args, **kwargs):
        raise OSError(28, "No space left on device", str(runs_dir / ".queues"))

    monkeypatch.setattr(local, "launch_queue", no_queue)
    configs = [tiny_cfg.__class__(**{**tiny_cfg.to_dict(), "seed": s}) for s in (0, 1)]
    with pytest.raises(OSError):
        launch_sweep(configs, runs_dir, group="g1")
    assert RunStore(runs_dir).list() == []
    assert not [p for p in runs_dir.iterdir() if RunFolder.is_run(p)]


@pytest.fixture
def small_disk(tmp_path):
    path = tmp_path / "small"
    path.mkdir()
    _mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(path))
    yield path
    subprocess.run(["umount", str(path)], check=True)


def test_a_full_disk_during_a_sweep_exits_2_and_leaves_no_orphans(small_disk, compt, tiny_cfg):
    runs = small_disk / "runs"
    (small_disk / "filler").write_bytes(b"\0" * 200_000)
    code, _, err = compt("sweep", "--runs-dir", runs, "--set", "model=tiny-t5",
                         "--set", "tasks=[sent_movies]", "--grid", "seed=0,1,2,3,4,5,6,7",
                         "--grid", "k=4,5,6,7,8,9,10,11")
    assert code == 2 and "Traceback" not in err and "No space left" in " ".join(err.split())
    (small_disk / "filler").unlink()
    assert [s for s in RunStore(runs).scan() if s["status"] == "queued"] == []


# -- 5. and 6. damaged index entries and results -----------------------------------------


@pytest.mark.parametrize("entry", [1, {"status": "done"}, {"run_id": "other", "status": "done"},
                                   {"run_id": "x", "status": "done", "scores": [1, 2]}])
def test_damaged_index_entries_are_skipped_with_one_warning(runs_dir, make_run, compt, entry):
    make_run("a1", scores={"sent_movies": 50.0})
    index = json.loads((runs_dir / INDEX_FILE).read_text())
    index["runs"]["x"] = entry
    (runs_dir / INDEX_FILE).write_text(json.dumps(index))
    for args in (["ls"], ["ls", "-f", "csv"], ["table"], ["show", "a"], ["rm", "x"]):
        code, out, err = compt(*args, "--runs-dir", runs_dir)
        assert "Traceback" not in err, args
        assert code in (0, 2), args
    code, out, err = compt("ls", "--runs-dir", runs_dir)
    assert code == 0 and "a1" in out
    assert err.count("warning:") == 1 and "compt reindex" in err
    assert compt("reindex", "--runs-dir", runs_dir)[0] == 0
    assert compt("ls", "--runs-dir", runs_dir)[2] == ""


def test_a_wrong_typed_results_json_is_marked_not_fatal(runs_dir, make_run, compt):
    make_run("good", scores={"sent_movies": 50.0})
    bad = make_run("bad", scores={"sent_movies": 60.0}, sync=False)
    bad.results_path.write_text(json.dumps({"scores": [1, 2], "average": "n/a"}))
    RunStore(runs_dir).sync("bad")
    for args in (["ls", "-f", "csv"], ["table"], ["seeds"], ["show", "bad"]):
        code, _, err = compt(*args, "--runs-dir", runs_dir)
        assert code == 0 and "Traceback" not in err, (args, err)
    code, out, _ = compt("ls", "--runs-dir", runs_dir)
    line = next(line for line in out.splitlines() if " bad " in line)
    assert line.split()[0] == "done!"
    assert "wrong shape" in compt("show", "bad", "--runs-dir", runs_dir)[1]


# -- 7. smaller ----------------------------------------------------------------------------


def test_a_done_run_without_results_is_marked(runs_dir, make_run):
    make_run("d1", status="done")
    summary = RunStore(runs_dir).get("d1")
    assert summary["status"] == "done" and summary["problem"] == "results.json is missing"


def test_an_empty_config_is_a_failed_run_not_a_queued_one(runs_dir, make_run):
    folder = make_run("e1", status="queued")
    folder.config_path.write_text("")
    assert RunFolder.is_run(folder.path)
    summary = RunStore(runs_dir).sync("e1")
    assert summary["status"] == "failed" and "config.json" in summary["error"]


def test_a_deleted_running_run_leaves_the_listing_and_rm_says_so(runs_dir, make_run, compt):
    folder = make_run("gone", status="running")
    folder.update_status(pid=os.getpid(), host=HOST, started_ts=time.time())
    RunStore(runs_dir).sync("gone")
    import shutil

    shutil.rmtree(folder.path)
    assert RunStore(runs_dir).list() == []
    make_run("gone2", status="done", scores={"sent_movies": 1.0})
    shutil.rmtree(runs_dir / "gone2")
    code, out, _ = compt("rm", "--runs-dir", runs_dir, "gone2")
    assert code == 0 and "None" not in out and "already gone" in out


def test_a_restart_does_not_show_the_dead_process_phase(runs_dir, make_run):
    folder = make_run("p1", status="running")
    folder.update_status(phase="evaluating", eta_s=3.0)
    status = folder.start_status(total=None)
    assert status["phase"] is None and status["eta_s"] is None


def test_redone_steps_are_not_logged_twice(runs_dir, make_run):
    folder = make_run("m1", status="stopped")
    for step in (1, 2, 3, 4):
        folder.append_metrics({"step": step, "loss": float(step)})
    folder.append_metrics({"step": 2, "eval": {"t": 1.0}, "average": 1.0})
    folder.truncate_metrics(2)
    assert [row["step"] for row in folder.read_metrics()] == [1, 2, 2]


def test_retry_failed_twice_skips_runs_already_queued(runs_dir, make_run, monkeypatch):
    make_run("f1", status="failed")
    make_run("f2", status="failed")
    monkeypatch.setattr(local.subprocess, "Popen",
                        lambda argv, **kw: type("P", (), {"pid": os.getpid()})())
    assert launcher.retry_failed(runs_dir) == ["f1", "f2"]
    assert launcher.retry_failed(runs_dir) == []
    assert [RunStore(runs_dir).get(r)["status"] for r in ("f1", "f2")] == ["queued", "queued"]
