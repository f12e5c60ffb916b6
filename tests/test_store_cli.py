"""``compt ls / show / diff / tag / note / rm / reindex / stop / retry`` from the command line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compt.store import RunStore

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def three_runs(make_run):
    a = make_run("20260101-000000-pt-aaaa", method="pt", k=8, seed=0,
                 tasks=["sent_movies", "sent_products", "paraphrase"],
                 scores={"sent_movies": 50.0, "sent_products": 60.0, "paraphrase": 70.0})
    b = make_run("20260101-000001-ssum-bbbb", method="ssum", k=8, seed=1,
                 tasks=["sent_movies", "sent_products", "paraphrase"],
                 scores={"sent_movies": 55.0, "sent_products": 70.0, "paraphrase": 70.0})
    c = make_run("20260101-000002-mcat-cccc", method="mcat", k=16, seed=0, status="failed")
    c.update_status(error="RunFailed: the loss became nan at step 3")
    RunStore(a.path.parent).sync(c.run_id)
    return a, b, c


def test_ls_table_fits_80_columns(compt, three_runs):
    code, out, _ = compt("ls")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == ["status", "id", "method", "tasks", "k", "seed", "prog", "avg"]
    assert lines[1].split()[:3] == ["failed", "20260101-000002-mcat-cccc", "mcat"]
    assert lines[2].split() == ["done", "20260101-000001-ssum-bbbb", "ssum", "sent_movies+2",
                                "8", "1", "100%", "65.0"]
    assert len(lines) == 4


def test_ls_at_80_columns_never_cuts_status_id_or_average(compt, make_run):
    """A long run id, a running run in evaluation and an interrupted one: the table still
    fits 80 columns and gives up the method and tasks, never the status, id or score."""
    done = make_run("20261124-081504-attempt-m-3fa9c3", method="attempt-m", seed=12345,
                    tasks=["sentiment_movies_long", "sent_products"],
                    scores={"sentiment_movies_long": 64.25, "sent_products": 70.0})
    running = make_run("20261124-081505-mcat-3fa9c4", status="running", k=128, method="mcat")
    running.update_status(phase="evaluating", phase_done=1200, phase_total=2400)
    stopped = make_run("20261124-081506-attempt-m-3fa9c5", status="interrupted",
                       method="attempt-m")
    RunStore(running.path.parent).sync(running.run_id)
    code, out, _ = compt("ls")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].split() == ["status", "id", "tasks", "k", "seed", "prog", "avg"]
    assert lines[1].split()[:2] == ["interrupted", stopped.run_id]
    assert lines[2].split()[:2] == ["running", running.run_id] and "eval 50%" in lines[2]
    assert lines[3].split()[:2] == ["done", done.run_id] and lines[3].endswith(" 67.1")
    assert "…" not in "".join(lines[0]) and "12345" in lines[3]
    assert compt("ls", "--status", "all")[1] == out


def test_ls_filters_and_limit(compt, three_runs):
    assert compt("ls", "--status", "failed")[1].count("2026") == 1
    assert compt("ls", "--method", "ssum", "-k", "8")[1].count("2026") == 1
    assert compt("ls", "--seed", "0")[1].count("2026") == 2
    assert compt("ls", "--task", "paraphrase")[1].count("2026") == 2
    out = compt("ls", "--limit", "1")[1]
    assert out.count("2026") == 1 and "1 of 3 runs" in out
    assert "No runs" in compt("ls", "--group", "nothing")[1]


def test_ls_json_and_csv(compt, three_runs):
    runs = json.loads(compt("ls", "--format", "json")[1])
    assert [r["run_id"][-4:] for r in runs] == ["cccc", "bbbb", "aaaa"]
    assert runs[1]["scores"]["sent_products"] == 70.0

    rows = list(csv.DictReader(io.StringIO(compt("ls", "-f", "csv")[1])))
    assert [r["run_id"][-4:] for r in rows] == ["cccc", "bbbb", "aaaa"]
    assert rows[2]["score.paraphrase"] == "70.0" and rows[2]["average"] == "60.0"
    assert rows[2]["tasks"] == "sent_movies;sent_products;paraphrase"
    assert rows[0]["score.paraphrase"] == "" and rows[0]["hparams.prompt_len"] == "10"


def test_show_prints_config_status_scores_and_log_tail(compt, three_runs):
    a = three_runs[0]
    a.log_path.write_text("".join(f"log line {i}\n" for i in range(40)))
    code, out, _ = compt("show", "20260101-000000", "--lines", "3")
    assert code == 0
    assert "20260101-000000-pt-aaaa" in out and "done" in out
    assert "log line 39" in out and "log line 37" in out and "log line 36" not in out
    assert "paraphrase" in out and "70.0" in out and "average" in out
    assert "learning_rate" not in out and "logit_scale" not in out  # defaults hidden
    assert "logit_scale" in compt("show", a.run_id, "--all")[1]

    failed = compt("show", three_runs[2].run_id)[1]
    assert "failed" in failed and "the loss became nan" in failed

    data = json.loads(compt("show", a.run_id, "--json")[1])
    assert data["config"]["method"] == "pt" and data["results"]["average"] == 60.0


def test_diff_shows_only_differences_and_score_deltas(compt, three_runs):
    code, out, _ = compt("diff", "20260101-000000", "20260101-000001")
    assert code == 0
    keys = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert "method" in keys and "seed" in keys
    assert "model" not in keys and "k" not in keys and "tasks" not in keys
    assert "+5.0" in out and "+10.0" in out and "+0.0" in out  # movies, products, paraphrase
    assert "+5.0" in next(line for line in out.splitlines() if line.startswith("average"))


def test_tag_note_rm_reindex(compt, three_runs, runs_dir):
    a, b, c = three_runs
    assert compt("tag", a.run_id, "paper", "fig3")[0] == 0
    assert compt("tag", a.run_id, "fig3", "--remove")[0] == 0
    assert compt("note", a.run_id, "baseline for table 1")[0] == 0
    assert "paper" in compt("show", a.run_id)[1]
    assert compt("ls", "--tag", "paper")[1].count("2026") == 1

    assert compt("rm", c.run_id)[0] == 0
    assert (runs_dir / ".trash" / c.run_id / "config.json").exists()
    assert compt("rm", b.run_id, "--purge")[0] == 0
    assert not b.path.exists()
    (runs_dir / "index.json").unlink()
    code, out, _ = compt("reindex")
    assert code == 0 and "indexed 1 runs" in out
    summary = RunStore(runs_dir).get(a.run_id)
    assert summary["tags"] == ["paper"] and summary["note"] == "baseline for table 1"


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_every_command_works_with_a_damaged_index(compt, three_runs, runs_dir, damage):
    a, b, c = three_runs
    index = runs_dir / "index.json"
    for args in (["ls"], ["ls", "-f", "json"], ["show", a.run_id], ["diff", a.run_id, b.run_id],
                 ["tag", a.run_id, "x"], ["note", a.run_id, "y"], ["stop", b.run_id],
                 ["rm", c.run_id], ["reindex"]):
        if damage == "delete":
            index.unlink(missing_ok=True)
        else:
            index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])
        code, _, err = compt(*args)
        assert (code, err) == (0, ""), args
    assert set(json.loads(index.read_text())["runs"]) == {a.run_id, b.run_id}


@pytest.mark.parametrize("args, message", [
    (["show", "nope"], "No run or group 'nope'"),
    (["show", "../../etc/passwd"], "not a valid run id"),
    (["diff", "20260101-000000-pt-aaaa", "../x"], "not a valid run id"),
    (["show", "20260101"], "matches 3 runs"),
    (["rm", "/tmp"], "not a valid run id"),
    (["tag", "..", "x"], "not a valid run id"),
    (["tag", "20260101-000000-pt-aaaa", "a,b"], "comma"),
    (["note", "nope", "text"], "No run or group"),
    (["stop", "../runs"], "not a valid run id"),
    (["retry"], "either a run id or --failed"),
    (["retry", "20260101-000001-ssum-bbbb"], "finished"),
    (["ls", "--format", "xml"], "--format must be one of"),
    (["sweep", "--grid", "lr_routr=1,2", "--dry-run"], "Unknown config key 'lr_routr'"),
    (["sweep", "--jobs", "0"], "--jobs must be at least 1"),
    (["sweep", "--group", "../x"], "not a valid group name"),
])
def test_user_mistakes_exit_2_with_a_message(compt, three_runs, args, message):
    code, out, err = compt(*args)
    assert code == 2
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_stop_and_retry_with_nothing_to_do(compt, three_runs):
    assert "Nothing queued or running" in compt("stop", three_runs[0].run_id)[1]
    three_runs[2].path.rename(three_runs[2].path.with_name(".hidden"))
    RunStore(three_runs[0].path.parent).reindex()
    assert "No failed or interrupted runs" in compt("retry", "--failed")[1]


def test_ls_does_not_import_training_code(runs_dir, make_run):
    make_run(scores={"sent_movies": 1.0})
    probe = ("import sys\nfrom compt.cli import main\ntry:\n    main(['ls'])\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "heavy = {'torch', 'transformers', 'textual'} & set(sys.modules)\n"
             "assert not heavy, heavy\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "sent_movies" in done.stdout
