"""`compt run` from the command line: user mistakes exit 2 with one clear paragraph."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from compt.config import build_config
from compt.errors import ComptError


def compt(*args: str, runs_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMPT_RUNS_DIR": str(runs_dir), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "compt", *args], capture_output=True,
                          text=True, env=env, timeout=120)


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
    results = json.loads((folder / "results.json").read_text())
    assert set(results["scores"]) == {"sent_movies", "topic"}
    assert "average" in result.stdout
