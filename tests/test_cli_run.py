"""`compt run` from the command line: user mistakes exit 2 with one clear paragraph."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from compt.config import build_config
from compt.errors import ComptError
from tests.cli import run_bounded, run_compt


def compt(*args: str, runs_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMPT_RUNS_DIR": str(runs_dir), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    return run_compt(*args, env=env)


@pytest.mark.parametrize("args,message", [
    (["--set", "lr_routr=0.1"], "Did you mean 'lr_router'"),
    (["--method", "sssum"], "has value 'sssum'; allowed values: pt, "),
    (["--set", "k=eight"], "must be a whole number"),
    (["--tasks", "sent_movie"], "Did you mean 'sent_movies'"),
    (["-k", "100000"], "larger than the train split"),
    (["--model", "t5-base"], "--set model="),
    (["--tasks", "rte"], "local task definition"),
    (["--set", "init_sources_from=20260101-000000-ssum-0001"], "No checkpoint found"),
])
def test_user_mistakes_exit_2_without_a_traceback(runs_dir, args, message, monkeypatch,
                                                  tmp_path):
    monkeypatch.setenv("COMPT_CACHE", str(tmp_path / "no-lmbff-build"))  # rte: the hub's
    result = compt("run", *args, runs_dir=runs_dir)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not [p for p in runs_dir.iterdir() if p.is_dir()]  # no folder for a doomed run


def test_a_malformed_config_file_names_the_file(tmp_path, runs_dir):
    bad = tmp_path / "bad.toml"
    bad.write_text("method = [unclosed\n")
    result = compt("run", str(bad), runs_dir=runs_dir)
    assert result.returncode == 2 and "bad.toml" in result.stderr


def test_config_file_then_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("method: mcat\nk: 8\ntasks: [sent_movies, topic]\n")
    cfg = build_config(path, {"k": 32}, ["lr_router=0.2", "tags=a,b"])
    assert (cfg.method, cfg.k, cfg.tasks, cfg.lr_router, cfg.tags) == (
        "mcat", 32, ["sent_movies", "topic"], 0.2, ["a", "b"])
    assert cfg.learning_rates == {"router": 0.2, "source": 0.05, "private": 0.08}
    with pytest.raises(ComptError, match="Unknown config key 'methd'"):
        path.write_text("methd: ssum\n")
        build_config(path)


def test_a_tiny_run_writes_its_folder(runs_dir):
    result = compt("run", "--model", "tiny-t5", "--tasks", "sent_movies,topic", "-k", "4",
                   "--max-steps", "3", "--set", "eval_size=8", "--set", "analysis=false",
                   runs_dir=runs_dir)
    assert result.returncode == 0, result.stderr
    (folder,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "status.json", "metrics.jsonl", "train.log", "results.json",
            "checkpoint.safetensors"} <= names
    status = json.loads((folder / "status.json").read_text())
    assert status["status"] == "done" and status["step"] == status["total"] == 3
    resolved = json.loads((folder / "config.json").read_text())["resolved"]
    assert resolved["threads"] == int(os.environ["OMP_NUM_THREADS"])  # what scores depend on
    results = json.loads((folder / "results.json").read_text())
    assert set(results["scores"]) == {"sent_movies", "topic"}
    assert "average" in result.stdout and "chance" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["--tasks", "sent_movie"], "Did you mean 'sent_movies'"),
    (["-k", "100000"], "larger than the train split"),
])
def test_task_and_k_mistakes_are_caught_before_torch_is_imported(runs_dir, args, message):
    """Importing torch costs seconds of CPU; a typo must not wait for it."""
    probe = ("import sys\nfrom compt.cli import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit as e:\n    assert e.code == 2, e.code\n"
             "assert 'torch' not in sys.modules, 'torch was imported'\n")
    env = {**os.environ, "COMPT_RUNS_DIR": str(runs_dir), "PYTHONPATH": os.getcwd()}
    result = run_bounded([sys.executable, "-c", probe, "run", *args], env)
    assert result.returncode == 0, result.stderr
    assert message in result.stderr


def test_child_commands_are_bounded_by_cpu_time_not_wall_time():
    """A slow machine (sleeping here) passes; a runaway child is still stopped."""
    waits = run_bounded([sys.executable, "-c", "import time; time.sleep(3); print('ok')"],
                        cpu_s=1)
    assert waits.returncode == 0 and waits.stdout == "ok\n"
    spins = run_bounded([sys.executable, "-c", "while True: pass"], cpu_s=1)
    assert spins.returncode != 0


def test_version_and_shell_completion(runs_dir):
    from compt import __version__

    assert run_compt("--version").stdout == f"compt {__version__}\n"
    named = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}  # no bash here
    script = run_compt("--show-completion", "bash", env=named).stdout
    assert "_COMPT_COMPLETE=complete_bash" in script
    env = {**os.environ, "_COMPT_COMPLETE": "complete_bash", "COMP_WORDS": "compt ls --sta",
           "COMP_CWORD": "2"}
    assert run_compt(env=env).stdout.split() == ["--status"]


def test_help_keeps_square_brackets_that_rich_would_read_as_markup():
    result = run_compt("run", "--help", env={**os.environ, "COLUMNS": "100"})
    assert "also a [slurm] table" in " ".join(result.stdout.replace("│", " ").split())


def test_the_final_table_gives_each_score_its_chance_level_and_explains_the_metrics():
    from rich.console import Console

    from compt.cli.run_cmd import results_table

    confusion = [[30, 5], [10, 55]]  # gold rows: 35 of label 0, 65 of label 1
    results = {"scores": {"sent_movies": 85.0, "mrpc": 80.0}, "average": 82.5,
               "primary_metric": {"sent_movies": "accuracy", "mrpc": "f1_accuracy"},
               "eval_size": {"sent_movies": 100, "mrpc": 100},
               "predictions": {t: {"combined": confusion} for t in ("sent_movies", "mrpc")}}
    console = Console(width=100, record=True)
    console.print(results_table(results, "run"))
    lines = console.export_text().splitlines()
    rows = {cells[0]: cells[1:] for line in lines
            if len(cells := [c.strip() for c in line.replace("┃", "│").split("│")[1:-1]]) > 1}
    assert rows["task"] == ["metric", "score", "chance", "n"]
    assert rows["sent_movies"] == ["accuracy", "85.0", "65.0", "100"]  # always 1: 65 right
    assert rows["mrpc"] == ["f1_accuracy", "80.0", "32.5", "100"]  # F1 of class 0 is 0
    text = " ".join(" ".join(lines).split())
    assert "f1_accuracy: the mean of accuracy and the F1 of the positive class" in text
    assert "matthews" not in text  # only the metrics the table uses


def test_evaluation_and_analysis_show_a_count_and_an_eta(monkeypatch):
    from rich.console import Console

    from compt.cli import run_cmd

    monkeypatch.setattr(run_cmd, "console", Console(record=True, width=100))
    reporter = run_cmd.ProgressReporter()
    reporter.phase("loading model and data")
    reporter.start(10, 0)
    reporter.step(10, 0.5)
    reporter.phase("evaluating")
    reporter.count(120, 400)
    reporter.phase("per-prompt analysis")
    reporter.count(2, 5)
    reporter.finish()
    lines = {line.split()[0]: line.split() for line in
             run_cmd.console.export_text().splitlines()}
    assert "120/400" in lines["evaluating"] and "eta" in lines["evaluating"]
    assert "2/5" in lines["per-prompt"] and "eta" in lines["per-prompt"]
    assert "10/10" in lines["training"] and "0.5000" in lines["training"]


def test_quick_is_a_preset_that_options_override(runs_dir, capsys):
    from compt.cli import main
    from compt.config import QUICK

    with pytest.raises(SystemExit) as ended:
        main(["run", "--quick", "--model", "tiny-t5", "--tasks", "sent_movies", "-k", "4",
              "--max-steps", "2", "--set", "eval_size=8"])
    assert ended.value.code in (0, None), capsys.readouterr().err
    (folder,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    config = json.loads((folder / "config.json").read_text())["config"]
    assert (config["max_steps"], config["eval_size"], config["analysis"]) == (2, 8, False)
    assert QUICK["analysis"] is False and QUICK["max_steps"] < 250  # the default's steps
    assert json.loads((folder / "status.json").read_text())["status"] == "done"
