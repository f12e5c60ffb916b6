"""Ctrl-C / SIGTERM reach a real `compt run` in any phase: it stops with a message, exits
128 + the signal, leaves a clean resumable status, and `compt retry` then finishes it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from compt.store import RunStore

# six tasks x 500 test examples: evaluation lasts long enough to be caught in the act
SLOW_EVAL = ["--model", "tiny-t5", "--tasks", "builtin", "-k", "4", "--max-steps", "2",
             "--device", "cpu", "--set", "eval_size=500", "--set", "analysis=false"]


def start(runs_dir, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "compt", "run", "--runs-dir", str(runs_dir),
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def status_of(runs_dir) -> dict:
    for path in runs_dir.glob("*/status.json"):
        try:
            return json.loads(path.read_text())
        except ValueError:  # caught mid-replace
            pass
    return {}


def wait_for(runs_dir, proc, predicate, timeout=120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = status_of(runs_dir)
        if predicate(status):
            return status
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"timed out; last status {status_of(runs_dir)}")


def test_sigint_while_evaluating_exits_130_and_retry_finishes_the_run(runs_dir):
    proc = start(runs_dir, *SLOW_EVAL)
    wait_for(runs_dir, proc, lambda s: s.get("phase") == "evaluating")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "interrupted by SIGINT while evaluating" in " ".join(out.split())
    status = status_of(runs_dir)
    assert status["status"] == "interrupted" and status.get("error") is None
    run_id = next(runs_dir.glob("*/status.json")).parent.name
    assert RunStore(runs_dir).get(run_id)["status"] == "interrupted"
    assert not (runs_dir / run_id / "results.json").exists()

    retry = subprocess.run([sys.executable, "-m", "compt", "retry", run_id, "--runs-dir",
                            str(runs_dir)], capture_output=True, text=True, timeout=60)
    assert retry.returncode == 0, retry.stderr
    assert "resuming" in retry.stdout
    deadline = time.monotonic() + 300
    while status_of(runs_dir).get("status") != "done" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status_of(runs_dir)["status"] == "done"
    assert json.loads((runs_dir / run_id / "results.json").read_text())["steps"] == 2


def test_sigterm_during_training_stops_at_a_step_boundary_with_exit_143(runs_dir):
    proc = start(runs_dir, "--model", "tiny-t5", "--tasks", "sent_movies", "-k", "4",
                 "--max-steps", "100000", "--device", "cpu")
    wait_for(runs_dir, proc, lambda s: (s.get("step") or 0) >= 1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (out, err)
    status = status_of(runs_dir)
    assert status["status"] == "stopped"
    assert f"at step {status['step']}/{status['total']}" in " ".join(out.split())
    assert next(runs_dir.glob("*/checkpoint.safetensors")).is_file()
