"""The dashboard's logic without a terminal: rows, filters, tails, live polling, the launch
form and the config diff."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time

import pytest

from compt.config import RunConfig
from compt.phases import ANALYSING, EVALUATING, LOADING, TRAINING, phase_progress, phase_text
from compt.runfolder import create_run_folder
from tui.diff import config_diff, render_diff
from tui.launch_form import FieldError, plan_launch
from tui.live import LiveRuns
from tui.rows import (
    GROUP_PREFIX,
    SPARK_GLYPHS,
    Group,
    RunRow,
    View,
    format_eta,
    matches,
    parse_query,
    sparkline,
)
from tui.tails import JsonlTail, LineTail


def summary(run_id, **fields):
    base = {"run_id": run_id, "created": "2026-11-24T07:00:00+00:00", "status": "done",
            "method": "ssum", "tasks": ["sent_movies", "nli"], "k": 8, "seed": 0,
            "group": "", "tags": [], "note": "", "average": 70.0,
            "hparams": {"lr_router": 0.1, "prompt_len": 20}}
    return {**base, **fields}


# -- rows -----------------------------------------------------------------------------


def test_sparkline_follows_the_values():
    top, middle, bottom = SPARK_GLYPHS[-1], SPARK_GLYPHS[4], SPARK_GLYPHS[0]
    assert sparkline([3.0, 2.0, 1.0], width=8) == top + middle + bottom
    assert sparkline([1.0, 1.0]) == SPARK_GLYPHS[3] * 2  # flat: mid height, not empty
    assert sparkline([]) == ""
    assert sparkline([float("nan"), 1.0, math.inf, 2.0]) == SPARK_GLYPHS[0] + SPARK_GLYPHS[-1]


def test_sparkline_averages_long_histories_into_its_width():
    line = sparkline([float(v) for v in range(100, 0, -1)], width=8)
    assert len(line) == 8
    assert line[0] == SPARK_GLYPHS[-1] and line[-1] == SPARK_GLYPHS[0]
    assert list(line) == sorted(line, reverse=True)


def test_format_eta():
    assert format_eta(42) == "42s"
    assert format_eta(125) == "2m05s"
    assert format_eta(7300) == "2h01m"
    assert format_eta(None) == "-" and format_eta(-1) == "-" and format_eta(math.nan) == "-"


def test_filter_words_fields_lists_negation_and_hparams():
    a = summary("r-a", status="running", k=8, tags=["paper"], group="g1")
    b = summary("r-b", method="pt", k=16, tasks=["nli"], hparams={"lr_router": 0.3})

    def hits(query):
        return [s["run_id"] for s in (a, b) if matches(s, parse_query(query))]

    assert hits("status:running") == ["r-a"]
    assert hits("k:8,16") == ["r-a", "r-b"]
    assert hits("k=16") == ["r-b"]
    assert hits("task:sent_movies") == ["r-a"]
    assert hits("tag:paper") == ["r-a"] and hits("-tag:paper") == ["r-b"]
    assert hits("lr_router:0.3") == ["r-b"]  # any config key, through report.lookup
    assert hits("PT") == ["r-b"]  # bare words: case-insensitive, anywhere
    assert hits("g1 ssum") == ["r-a"]  # every term must hold
    assert hits("") == ["r-a", "r-b"]


def test_view_sorts_and_groups():
    rows = [RunRow(summary(f"r{i}", created=f"2026-11-24T07:00:0{i}+00:00", method=m,
                           average=avg))
            for i, (m, avg) in enumerate([("pt", 60.0), ("ssum", 75.0), ("pt", 65.0)])]
    newest_first = View().arrange(rows)
    assert [r.run_id for r in newest_first] == ["r2", "r1", "r0"]
    by_average = View(sort="average", descending=True).arrange(rows)
    assert [r.run_id for r in by_average] == ["r1", "r2", "r0"]
    grouped = View(group_by="method").arrange(rows)
    assert isinstance(grouped[0], Group) and grouped[0].name == "pt"
    assert [r.run_id for r in grouped[1:3]] == ["r2", "r0"]
    assert grouped[3].key == f"{GROUP_PREFIX}method=ssum"
    header = grouped[0].cells()
    assert header["method"].text == "pt" and header["status"].text == "2 runs"
    assert header["average"].text == "62.5"


def test_run_row_cells_follow_live_status_and_marks():
    row = RunRow(summary("r1", status="queued", step=None, total=None))
    assert row.cells()["status"].text == "queued" and row.cells()["progress"].text == "-"
    row.apply(status={"status": "running", "step": 5, "total": 20, "eta_s": 75},
              losses=[2.0, 1.0])
    cells = row.cells()
    assert cells["status"].text == "running" and row.summary["status"] == "running"
    assert cells["progress"].text == "25%" and cells["eta"].text == "1m15s"
    assert cells["loss"].text == SPARK_GLYPHS[-1] + SPARK_GLYPHS[0]
    row.apply(marked=True)
    assert row.cells()["mark"].text == "✓"
    assert matches(row.summary, parse_query("status:running"))  # the filter sees it too


@pytest.mark.parametrize("phase, counts, status, progress", [
    (LOADING, {}, "loading", "-"),
    (TRAINING, {}, "running", "25%"),
    (EVALUATING, {"phase_done": 120, "phase_total": 400}, "eval", "30%"),
    (ANALYSING, {"phase_done": 2, "phase_total": 5}, "analysis", "2/5"),
])
def test_every_phase_of_a_running_run_shows_with_its_progress(phase, counts, status, progress):
    row = RunRow(summary("r1", status="running"))
    row.apply(status={"status": "running", "step": 5, "total": 20, "phase": phase, **counts})
    assert (row.cells()["status"].text, row.cells()["progress"].text) == (status, progress)


def test_phase_text_reads_status_json():
    assert phase_text({"phase": EVALUATING, "phase_done": 64, "phase_total": 200}) == (
        "evaluating 64/200")
    assert phase_text({"phase": TRAINING, "step": 30, "total": 40}) == "training 75%"
    assert phase_text({"phase": ANALYSING, "phase_done": 0, "phase_total": 6},
                      short=True) == "analysis 0/6"
    assert phase_text({"phase": LOADING}) == LOADING
    assert phase_progress({"phase": EVALUATING, "phase_done": "x", "phase_total": 9}) == (0, 9)


def test_a_done_run_without_a_readable_average_is_marked():
    assert RunRow(summary("r1", status="done", average=None)).cells()["status"].text == "done ⚠"
    assert RunRow(summary("r1", status="done", average=61.0)).cells()["status"].text == "done"


# -- tails ----------------------------------------------------------------------------


def test_line_tail_reads_only_appended_complete_lines(tmp_path):
    path = tmp_path / "train.log"
    tail = LineTail(path)
    assert tail.read() == []  # no file yet
    path.write_text("one\ntw")
    assert tail.read() == ["one"]
    with path.open("a") as fh:
        fh.write("o\nthree\n")
    assert tail.read() == ["two", "three"]
    assert tail.read() == []
    assert tail.offset == path.stat().st_size


def test_line_tail_starts_over_when_the_file_is_replaced_or_truncated(tmp_path):
    path = tmp_path / "train.log"
    path.write_text("old line\n" * 3)
    tail = LineTail(path)
    assert len(tail.read()) == 3
    path.write_text("new\n")  # shorter: truncated or rewritten
    assert tail.read() == ["new"]
    replacement = tmp_path / "other"
    replacement.write_text("a\nb\nc\nd\ne\n")  # longer, but a different file
    os.replace(replacement, path)
    assert tail.read() == ["a", "b", "c", "d", "e"]


def test_line_tail_backlog_skips_the_cut_line(tmp_path):
    path = tmp_path / "train.log"
    path.write_text("".join(f"line {i:03d}\n" for i in range(100)))
    tail = LineTail(path, backlog=30)  # 9-byte lines: 3 whole ones and the end of a 4th
    assert tail.read() == ["line 097", "line 098", "line 099"]


def test_jsonl_tail_skips_corrupt_lines_and_waits_for_a_torn_one(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 2.0}\nnot json\n[1, 2]\n{"step": 2, "lo')
    tail = JsonlTail(path)
    assert tail.rows() == [{"step": 1, "loss": 2.0}]
    with path.open("a") as fh:
        fh.write('ss": 1.5}\n')
    assert tail.rows() == [{"step": 2, "loss": 1.5}]


# -- live polling ---------------------------------------------------------------------


def _running_run(runs_dir, run_id, pid):
    folder = create_run_folder(runs_dir, RunConfig(method="ssum"), run_id=run_id)
    folder.update_status(status="running", step=1, total=10, pid=pid,
                         host=socket.gethostname(), started_ts=time.time())
    return folder


def test_live_runs_reports_only_what_changed(runs_dir):
    folder = _running_run(runs_dir, "r-live", os.getpid())
    live = LiveRuns(runs_dir)
    first = live.poll(["r-live"])
    assert first[0].state == "running" and first[0].losses is None
    assert live.poll(["r-live"]) == []  # nothing changed: nothing read, nothing posted
    folder.append_metrics({"step": 1, "loss": 2.0})
    folder.append_metrics({"step": 1, "eval": {"nli": 50.0}, "average": 50.0})
    update = live.poll(["r-live"])[0]
    assert update.status is None and update.losses == [2.0]  # eval rows carry no loss
    time.sleep(0.01)
    folder.update_status(step=2)
    folder.append_metrics({"step": 2, "loss": 1.0})
    update = live.poll(["r-live"])[0]
    assert update.status["step"] == 2 and update.losses == [2.0, 1.0]


def test_live_runs_sees_a_dead_process_as_interrupted(runs_dir):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        _running_run(runs_dir, "r-dies", proc.pid)
        live = LiveRuns(runs_dir)
        assert live.poll(["r-dies"])[0].state == "running"
    finally:
        proc.kill()
        proc.wait()
    # status.json did not change, but the process is gone
    assert live.poll(["r-dies"])[0].state == "interrupted"
    assert live.poll(["r-dies"]) == []


def test_live_runs_history_reads_each_finished_run_once(runs_dir):
    folder = create_run_folder(runs_dir, RunConfig(), run_id="r-done")
    for step, loss in enumerate([3.0, 2.0, 1.0], 1):
        folder.append_metrics({"step": step, "loss": loss})
    live = LiveRuns(runs_dir)
    assert live.history(["r-done"])[0].losses == [3.0, 2.0, 1.0]
    assert live.history(["r-done"]) == []


# -- the launch form ------------------------------------------------------------------


def test_launch_form_expands_a_sweep():
    plan = plan_launch({"methods": "pt, ssum", "k": "8,16", "seeds": "0,1,2", "sources": "2",
                        "tasks": "sent_movies,entail", "concurrency": "2",
                        "extra": "max_steps=6 eval_size=16"})
    assert len(plan.cells) == 12 and plan.jobs == 2
    configs = plan.configs
    assert {c.method for c in configs} == {"pt", "ssum"}
    assert {c.seed for c in configs} == {0, 1, 2}
    assert all(c.max_steps == 6 and c.eval_size == 16 for c in configs)
    assert "Sweep of 12 runs" in plan.describe()
    single = plan_launch({"methods": "msum"})
    assert len(single.cells) == 1 and single.describe().startswith("1 run: msum")


@pytest.mark.parametrize(("form", "field", "words"), [
    ({"methods": "ssum,sum"}, "methods", "Unknown method sum"),
    ({"k": "8,x"}, "k", "whole number"),
    ({"seeds": ""}, "seeds", "at least one"),
    ({"tasks": "sent_movie"}, "tasks", "Did you mean 'sent_movies'"),
    ({"concurrency": "0"}, "concurrency", "at least 1"),
    ({"group": "a/b"}, "group", "not a valid run id"),
    ({"extra": "k=4"}, "extra", "its own field"),
    ({"extra": "max_stepz=4"}, "extra", "Did you mean 'max_steps'"),
    ({"extra": "eval_size=-1"}, "extra", "positive"),
])
def test_launch_form_names_the_wrong_field(form, field, words):
    with pytest.raises(FieldError) as caught:
        plan_launch(form)
    assert caught.value.field == field
    assert words in str(caught.value)


# -- config diff ----------------------------------------------------------------------


def test_config_diff_shows_only_differing_keys_and_scores():
    a = RunConfig(method="ssum", seed=0).to_dict()
    b = RunConfig(method="ssum", seed=1, lr_router=0.3).to_dict()
    diff = config_diff({"A": a, "B": b}, {"A": {"scores": {"nli": 60.0}, "average": 60.0},
                                          "B": {"scores": {"nli": 64.5}, "average": 64.5}})
    assert diff.keys == ["k", "method", "lr_router", "seed"]  # config order; k, method always
    assert diff.values[diff.keys.index("lr_router")] == ["-", "0.3"]
    assert diff.scores == [("nli", ["60.0", "64.5"]), ("average", ["60.0", "64.5"])]
    markdown = render_diff(diff, "markdown")
    assert "| lr_router | - | 0.3 |" in markdown
    assert render_diff(diff, "csv").splitlines()[0] == "key,A,B"
    assert "lr\\_router & - & 0.3" in render_diff(diff, "latex")
    assert json.dumps(diff.values)  # plain strings throughout
