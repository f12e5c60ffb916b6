"""The front door as a new user meets it: setup whatever env is active, sweep preflight,
and the messages of issue 14 (each through the real command line)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from compt.store import RunStore
from tests.cli import run_compt

REPO = Path(__file__).resolve().parents[1]


def compt(*args: str, runs_dir, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COMPT_RUNS_DIR": str(runs_dir), "HF_HUB_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "COLUMNS": "100", **env}
    return run_compt(*args, env=env)


def run_folders(runs_dir: Path) -> list[Path]:
    return [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]


# -- scripts/setup.sh -------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path):
    """A copy of the repository's setup script in an empty checkout, and a second venv that
    is active (VIRTUAL_ENV, PATH) as well as a conda env, like a user's shell."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", repo / "scripts" / "setup.sh")
    other = tmp_path / "other-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(other), "CONDA_PREFIX": str(tmp_path / "conda"),
           "PATH": f"{other / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("COMPT_VENV", None)
    return repo, other, env


def setup(repo: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(repo / "scripts" / "setup.sh"), *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_setup_makes_dot_venv_even_with_another_env_active(checkout):
    repo, other, env = checkout
    before = sorted(p.name for p in other.rglob("*"))
    result = setup(repo, env, "--no-install")
    assert result.returncode == 0, result.stderr
    python = repo / ".venv" / "bin" / "python"
    assert python.is_file()
    assert f"installing into {python}" in result.stdout
    assert sorted(p.name for p in other.rglob("*")) == before  # the active venv untouched
    # what .ci/run asks for is the same interpreter
    assert setup(repo, env, "--print-python").stdout.strip() == str(python)


def test_setup_installs_elsewhere_only_when_asked(checkout, tmp_path):
    repo, other, env = checkout
    assert setup(repo, env, "--here", "--print-python").stdout.strip() == str(
        other / "bin" / "python")
    chosen = tmp_path / "mine"
    assert setup(repo, {**env, "COMPT_VENV": str(chosen)}, "--print-python").stdout.strip() \
        == str(chosen / "bin" / "python")
    bad = setup(repo, env, "--bogus")
    assert bad.returncode == 2 and "unknown option '--bogus'" in bad.stderr


# -- compt sweep checks every cell first -------------------------------------------------


def test_sweep_with_bad_cells_is_refused_and_launches_nothing(runs_dir):
    result = compt("sweep", "--set", "model=tiny-t5", "--grid", "tasks=nosuch,sent_movies",
                   "--grid", "k=4,5000", runs_dir=runs_dir)
    assert result.returncode == 2, result.stderr
    err = " ".join(result.stderr.split())
    assert "Nothing was started: 3 of 4 grid cells cannot run" in err
    assert "Grid cell tasks=nosuch, k=4: Unknown task 'nosuch'" in err
    assert "Grid cell tasks=sent_movies, k=5000: k=5000 is larger than the train split" in err
    assert "tasks=sent_movies, k=4:" not in err
    assert "Traceback" not in result.stderr
    assert run_folders(runs_dir) == [] and not (runs_dir / ".queues").exists()


def test_sweep_with_an_invalid_value_names_every_bad_cell(runs_dir):
    result = compt("sweep", "--grid", "method=ssum,xxx,yyy", runs_dir=runs_dir)
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert "2 of 3 grid cells is not a valid config" in err
    assert "Grid cell method=xxx" in err and "Grid cell method=yyy" in err
    assert run_folders(runs_dir) == []


# -- messages ----------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_device_cuda_without_a_gpu_leaves_no_run_folder(runs_dir):
    result = compt("run", "--device", "cuda", "--model", "tiny-t5", runs_dir=runs_dir)
    assert result.returncode == 2 and "no CUDA GPU" in result.stderr
    assert run_folders(runs_dir) == [] and RunStore(runs_dir).list() == []


def test_a_learning_rate_typo_suggests_the_learning_rate_keys(runs_dir):
    result = compt("run", "--set", "lerning_rate=0.1", runs_dir=runs_dir)
    assert result.returncode == 2
    assert "Did you mean 'lr_router', 'lr_source' or 'lr_private'?" in result.stderr


def test_offline_glue_does_not_suggest_the_offline_switch_already_set(runs_dir, tmp_path):
    result = compt("run", "--tasks", "rte", runs_dir=runs_dir,
                   COMPT_CACHE=str(tmp_path / "no-lmbff-build"))
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert "Offline mode is on" in err and "set HF_DATASETS_OFFLINE=1" not in err
    assert "compt data build lm-bff --from DIR" in err  # the offline way to GLUE


def test_broken_json_rows_are_reported_in_full(tmp_path, runs_dir):
    task = tmp_path / "task"
    shutil.copytree(REPO / "examples" / "support_tickets", task)
    (task / "train.jsonl").write_text('{"subject": "a\tb", "message": "x", "team": "billing"}\n')
    result = compt("run", "--tasks", str(task / "support.toml"), runs_dir=runs_dir)
    assert result.returncode == 2
    assert "line 1: not valid JSON (Invalid control character at column 15)" in " ".join(
        result.stderr.split())


def test_show_of_a_failed_run_has_no_eta_and_large_numbers_stay_short(runs_dir, make_run):
    folder = make_run(status="failed", lr_router=1e30)
    folder.update_status(eta_s=42.0, error="it broke")
    result = compt("show", folder.run_id, runs_dir=runs_dir)
    assert result.returncode == 0, result.stderr
    assert "it broke" in result.stdout and "eta" not in result.stdout
    assert "1e+30" in result.stdout and "0" * 20 not in result.stdout


def test_ls_refuses_an_unknown_status(runs_dir):
    result = compt("ls", "--status", "bogus", runs_dir=runs_dir)
    assert result.returncode == 2
    assert "--status must be one of" in result.stderr and "'bogus'" in result.stderr


def test_help_texts_show_no_markup_or_rst_quotes():
    from typer.main import get_command

    from compt.cli import app

    group = get_command(app)
    texts = [group.commands[name].help or "" for name in group.commands]
    texts += [p.help or "" for c in group.commands.values() for p in c.params]
    assert not [t for t in texts if "``" in t]
    env = {**os.environ, "COLUMNS": "100"}
    shown = subprocess.run([sys.executable, "-m", "compt", "sweep", "--help"], env=env,
                           capture_output=True, text=True).stdout
    assert "a [grid] table" in " ".join(shown.replace("│", " ").split())


def test_reported_scores_state_their_evaluation_size(runs_dir, make_run):
    make_run(scores={"sent_movies": 70.0, "sent_products": 60.0}, eval_size=150)
    make_run(scores={"sent_movies": 72.0, "sent_products": 64.0}, eval_size=150, seed=1)
    for command in ("table", "seeds"):
        result = compt(command, runs_dir=runs_dir)
        assert result.returncode == 0, result.stderr
        assert "Scores on 150 test examples per task." in result.stdout
