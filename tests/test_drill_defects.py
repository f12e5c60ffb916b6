"""The defects the reliability drills of issue 21 still found, one test each: hostile text
(markup label words, bidi tags, deeply nested files), hostile files in a run store (a log
linked to /dev/zero, a symlinked run), and the store's recovery after a write fault."""

from __future__ import annotations

import os
import threading

import pytest

from compt.cli.store_cmds import tail_lines
from compt.errors import ComptError
from compt.names import check_note, check_tag

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
