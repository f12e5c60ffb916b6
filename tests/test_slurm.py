"""The Slurm executor against a real single-node Slurm (tests/slurm/cluster.sh up).

Without a working Slurm (sinfo and sacct answering) these tests skip and say why; the
option parsing at the end needs no cluster.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compt.errors import ComptError
from compt.executors import build_executor, executor_for
from compt.executors.slurm import (
    SlurmExecutor,
    SlurmOptions,
    ctld_state,
    parse_time,
    slurm_state,
)
from compt.launcher import launch_run, launch_sweep, stop
from compt.runfolder import read_json
from compt.store import RunStore, live_state

REPO = Path(__file__).resolve().parent.parent
CLUSTER_STATE = Path(os.environ.get("COMPT_SLURM_STATE", "/var/tmp/compt-slurm"))


def _slurm_problem() -> str | None:
    """Why the Slurm tests cannot run here, or None."""
    for tool in ("sinfo", "sbatch", "sacct", "scancel", "srun"):
        if shutil.which(tool) is None:
            return f"no {tool} on PATH (start one with: bash tests/slurm/cluster.sh up)"
    outputs = []
    for argv in (["sinfo", "-h", "-o", "%t"], ["sacct", "-n", "-X", "-S", "now"]):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"{argv[0]} failed: {exc}"
        if done.returncode != 0:
            return f"{' '.join(argv)} failed: {done.stderr.strip()[:200]}"
        outputs.append(done.stdout)
    if not any(state in outputs[0] for state in ("idle", "mix", "alloc")):
        return f"no Slurm node is up (sinfo: {outputs[0].strip() or 'nothing'})"
    return None


@pytest.fixture(scope="module")
def slurm():
    problem = _slurm_problem()
    if problem:
        pytest.skip(f"Slurm is not available: {problem}")


@pytest.fixture(autouse=True)
def no_jobs_left_behind(runs_dir):
    """A failing test must not leave its (long) jobs running on the cluster."""
    yield
    jobs = [read_json(p, {}).get("job_id") for p in runs_dir.glob("*/launch.json")]
    if any(jobs) and shutil.which("scancel"):
        subprocess.run(["scancel", *filter(None, jobs)], capture_output=True, timeout=30)


def compt_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "compt", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def tiny_sets(cfg) -> list[str]:
    return [f"--set={k}={json.dumps(v)}" for k, v in cfg.to_dict().items()
            if k in ("model", "tasks", "k", "eval_size", "analysis", "max_steps", "device")]


def launch_of(store: RunStore, run_id: str) -> dict:
    return dict(store.folder(run_id).read_launch())


def settled(store: RunStore, *run_ids: str) -> bool:
    """All done; fails at once (with the logs) if one failed or was interrupted."""
    states = [store.get(r)["status"] for r in run_ids]
    for run_id, state in zip(run_ids, states, strict=True):
        if state in ("failed", "interrupted", "stopped"):
            folder = store.folder(run_id)
            logs = [p.read_text() for p in (folder.log_path, *folder.path.glob("slurm/*_log.*"),
                                            *folder.path.glob("slurm/*/*_log.*")) if p.exists()]
            pytest.fail(f"{run_id} is {state}:\n" + "\n".join(logs))
    return all(s == "done" for s in states)


def restart_slurmctld() -> None:
    """Kill the controller and start it again (it recovers its jobs from its state files)."""
    pid_file = CLUSTER_STATE / "slurmctld.pid"
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    assert subprocess.run(["scontrol", "ping"], capture_output=True).returncode != 0
    subprocess.run(["/usr/sbin/slurmctld"], check=True, timeout=30)
    deadline = time.monotonic() + 30
    while subprocess.run(["scontrol", "ping"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "slurmctld did not come back"
        time.sleep(0.2)


def long_run(tiny_cfg):
    """A run that trains until it is stopped."""
    return dataclasses.replace(tiny_cfg, max_steps=100000, epochs=100000, checkpoint_every=1000)


def training(store: RunStore, run_id: str) -> bool:
    log = store.folder(run_id).log_path
    return log.exists() and "training ssum" in log.read_text()


def ended(store: RunStore, run_id: str) -> str | None:
    state = store.get(run_id)["status"]
    return None if state in ("queued", "running") else state


def test_sweep_is_one_job_array_and_survives_a_controller_restart(slurm, runs_dir, tiny_cfg,
                                                                  wait_for):
    done = compt_cli("sweep", "--grid", "seed=0,1,2,3", "--jobs", "2", "--group", "arr",
                     "--executor", "slurm", "--runs-dir", str(runs_dir), *tiny_sets(tiny_cfg))
    assert done.returncode == 0, done.stderr
    assert "4 to run" in done.stdout and "(slurm)" in done.stdout
    store = RunStore(runs_dir)
    ids = store.resolve("arr")
    assert len(ids) == 4
    jobs = [launch_of(store, r)["job_id"] for r in ids]
    array = {j.split("_")[0] for j in jobs}
    assert len(array) == 1 and sorted(j.split("_")[1] for j in jobs) == ["0", "1", "2", "3"]
    submission = next((runs_dir / ".slurm" / "arr").glob("*/*_submission.sh")).read_text()
    assert "#SBATCH --array=0-3%2" in submission  # --jobs is the array's throttle
    for run_id, job_id in zip(ids, jobs, strict=True):  # submitit's files, from the run folder
        assert (runs_dir / run_id / "slurm" / job_id / f"{job_id}_submitted.pkl").is_file()

    wait_for(lambda: any(store.get(r)["status"] == "running" for r in ids), 120,
             "a run to start")
    restart = any("slurmctld" in p.read_text()
                  for p in (CLUSTER_STATE / "started.d").glob("*"))
    if restart:  # only a controller that cluster.sh started is ours to restart
        restart_slurmctld()
    wait_for(lambda: settled(store, *ids), 300, "the sweep")

    def indexed() -> dict:  # each run writes its summary just after its status
        index = json.loads((runs_dir / "index.json").read_text())["runs"]
        return index if all(index[r]["status"] == "done" for r in ids) else {}

    index = wait_for(indexed, 30, "every result in the index")
    for run_id in ids:
        results = store.folder(run_id).read_results()
        assert index[run_id]["scores"] == results["scores"] and results["scores"]
        assert index[run_id]["status"] == "done" and index[run_id]["executor"] == "slurm"
    assert "training ssum" in store.folder(ids[0]).log_path.read_text()  # compt's output
    wait_for(lambda: all((slurm_state(j) or ("",))[0] == "COMPLETED" for j in jobs), 30,
             "sacct to report COMPLETED")


def test_time_limit_interrupts_scancel_stops_and_compt_stop_cancels_the_pending(
        slurm, runs_dir, tiny_cfg, wait_for):
    """Three long runs (until stopped), one at a time: the time-limit signal, scancel, then
    compt stop."""
    group, ids = launch_sweep([dataclasses.replace(long_run(tiny_cfg), seed=s)
                               for s in (0, 1, 2)], runs_dir, jobs=1, executor=SlurmExecutor())
    store = RunStore(runs_dir)
    first, second, third = ids
    wait_for(lambda: training(store, first), 120, "the first run to train")
    assert store.get(first)["status"] == "running"

    def throttled() -> bool:  # the %1 throttle; sacct may list array tasks a moment late
        pending = store.list(group=group, status="queued")
        return (sorted(s["run_id"] for s in pending) == sorted([second, third])
                and all(str(s.get("job_state")).startswith("PENDING") for s in pending))

    wait_for(throttled, 30, "the other two array tasks to show PENDING")

    # what Slurm sends to the job's step before the time limit (--signal=USR2@60)
    step = launch_of(store, first)["job_id"] + ".0"
    subprocess.run(["scancel", "--signal=USR2", step], check=True)
    wait_for(lambda: store.get(first)["status"] == "interrupted", 60, "the time limit")
    assert store.folder(first).checkpoint_path.exists()
    assert "stopped at step" in store.folder(first).log_path.read_text()

    wait_for(lambda: training(store, second), 120, "the second run to train")
    subprocess.run(["scancel", launch_of(store, second)["job_id"]], check=True)
    wait_for(lambda: store.get(second)["status"] == "stopped", 60, "scancel to stop it")
    assert store.folder(second).checkpoint_path.exists()  # checkpointed on SIGTERM

    assert stop(group, runs_dir) == [third]
    assert store.get(third)["status"] == "stopped"
    third_job = launch_of(store, third)["job_id"]
    wait_for(lambda: (slurm_state(third_job) or ("",))[0] == "CANCELLED", 30,
             "the pending job to be cancelled")
    assert not store.folder(third).log_path.exists()  # never started


def test_kill_9_is_interrupted_and_retry_resumes_to_the_same_scores(slurm, runs_dir, tiny_cfg,
                                                                   wait_for):
    cfg = dataclasses.replace(tiny_cfg, max_steps=30, checkpoint_every=4, k=8)
    reference = launch_run(cfg, runs_dir, executor=SlurmExecutor())
    victim = launch_run(cfg, runs_dir, executor=SlurmExecutor())
    store = RunStore(runs_dir)
    folder = store.folder(victim)
    wait_for(lambda: folder.checkpoint_path.exists(), 120, "the first checkpoint")
    first_job = launch_of(store, victim)["job_id"]
    os.kill(folder.read_status()["pid"], signal.SIGKILL)

    wait_for(lambda: store.get(victim)["status"] == "interrupted", 30, "interrupted")
    assert [s["run_id"] for s in store.list(status="interrupted")] == [victim]
    wait_for(lambda: (slurm_state(first_job) or ("",))[0] == "FAILED", 30, "the job to end")
    assert compt_cli("retry", victim, "--runs-dir", str(runs_dir)).returncode == 0
    assert launch_of(store, victim)["job_id"] != first_job  # a new job, same options
    wait_for(lambda: settled(store, reference, victim), 240, "both runs")

    log = folder.log_path.read_text()
    assert "resumed from checkpoint at step" in log
    assert "resumed from checkpoint at step 0" not in log
    assert folder.read_results()["scores"] == store.folder(reference).read_results()["scores"]


def test_a_time_limit_without_warning_interrupts_and_retry_failed_takes_it(
        slurm, runs_dir, tiny_cfg, wait_for):
    """warning=0: no USR2 before the limit, Slurm's SIGTERM at the limit is all it gets."""
    options = SlurmOptions(time="1", warning=0, setup=[f"touch {runs_dir}/setup-ran"])
    run_id = launch_run(long_run(tiny_cfg), runs_dir, executor=SlurmExecutor(options))
    store = RunStore(runs_dir)
    job = launch_of(store, run_id)["job_id"]
    wait_for(lambda: training(store, run_id), 120, "the run to train")
    assert (runs_dir / "setup-ran").exists()  # the setup lines ran before the job
    assert "#SBATCH --signal=USR2@0" in (runs_dir / run_id / "slurm" / f"{job}_submission.sh"
                                         ).read_text()
    # (stopped for a moment: the training writes that before sacct has the TIMEOUT)
    wait_for(lambda: store.get(run_id)["status"] == "interrupted", 240,
             "the time limit to interrupt the run")
    assert (slurm_state(job) or ("",))[0] == "TIMEOUT"
    assert [s.get("job_state") for s in store.list(status="interrupted")] == ["TIMEOUT"]
    listed = json.loads(compt_cli("ls", "--format", "json", "--runs-dir", str(runs_dir)).stdout)
    assert [(r["status"], r["job_state"]) for r in listed] == [("interrupted", "TIMEOUT")]
    done = compt_cli("retry", "--failed", "--runs-dir", str(runs_dir))
    assert done.returncode == 0 and "retrying 1 run(s)" in done.stdout, done.stderr
    assert launch_of(store, run_id)["job_id"] != job
    stop(run_id, runs_dir)


def test_resubmit_resumes_after_a_time_limit_warning_as_often_as_allowed(
        slurm, runs_dir, tiny_cfg, wait_for):
    run_id = launch_run(long_run(tiny_cfg), runs_dir,
                        executor=SlurmExecutor(SlurmOptions(resubmit=1)))
    store = RunStore(runs_dir)
    folder = store.folder(run_id)
    wait_for(lambda: training(store, run_id), 120, "the run to train")
    first = launch_of(store, run_id)["job_id"]
    # what Slurm sends to the job's step before the time limit (--signal=USR2@120)
    subprocess.run(["scancel", "--signal=USR2", f"{first}.0"], check=True)
    wait_for(lambda: launch_of(store, run_id)["job_id"] != first, 60, "a new job")
    assert launch_of(store, run_id)["resubmits"] == 1
    assert store.get(run_id)["status"] in ("queued", "running")  # never interrupted
    wait_for(lambda: "resumed from checkpoint at step" in folder.log_path.read_text(), 120,
             "the new job to resume the run")
    assert "resumed from checkpoint at step 0" not in folder.log_path.read_text()
    second = launch_of(store, run_id)["job_id"]
    wait_for(lambda: store.get(run_id)["status"] == "running", 60, "the run to train again")
    subprocess.run(["scancel", "--signal=USR2", f"{second}.0"], check=True)
    wait_for(lambda: store.get(run_id)["status"] == "interrupted", 60, "the second warning")
    assert launch_of(store, run_id)["job_id"] == second  # resubmit=1: once


def test_compt_stop_gives_a_running_job_all_the_time_it_needs(slurm, runs_dir, tiny_cfg,
                                                              wait_for):
    """SIGTERM alone, no SIGKILL after KillWait: the job ends by itself, not cancelled."""
    run_id = launch_run(long_run(tiny_cfg), runs_dir, executor=SlurmExecutor())
    store = RunStore(runs_dir)
    wait_for(lambda: training(store, run_id), 120, "the run to train")
    job = launch_of(store, run_id)["job_id"]
    assert stop(run_id, runs_dir) == [run_id]
    assert wait_for(lambda: ended(store, run_id), 60, "the run to stop") == "stopped"
    assert "stopped at step" in store.folder(run_id).log_path.read_text()
    assert store.folder(run_id).checkpoint_path.exists()
    wait_for(lambda: (slurm_state(job) or ("",))[0] not in ("RUNNING", "COMPLETING", ""), 60,
             "the job to end")
    assert slurm_state(job)[0] == "COMPLETED"  # never killed


def test_a_requeued_job_stays_the_runs_one_live_job(slurm, runs_dir, tiny_cfg, wait_for):
    """Slurm requeues the job (as after a node failure): the run is queued again, compt
    retry refuses a second job, compt stop cancels the requeued one."""
    run_id = launch_run(long_run(tiny_cfg), runs_dir, executor=SlurmExecutor())
    store = RunStore(runs_dir)
    wait_for(lambda: training(store, run_id), 120, "the run to train")
    job = launch_of(store, run_id)["job_id"]
    subprocess.run(["scontrol", "requeue", job], check=True, capture_output=True)
    wait_for(lambda: "stopped at step" in store.folder(run_id).log_path.read_text(), 60,
             "the requeue to stop the training")
    wait_for(lambda: store.get(run_id)["status"] == "queued", 30,
             f"the run to be queued again (it is {store.get(run_id)['status']})")
    assert [s["status"] for s in store.list()] == ["queued"]  # compt ls, the TUI
    done = compt_cli("retry", run_id, "--runs-dir", str(runs_dir))
    assert done.returncode == 2 and "nothing to retry yet" in done.stderr, done.stderr
    assert launch_of(store, run_id)["job_id"] == job  # no second job
    assert stop(run_id, runs_dir) == [run_id]
    # (queued while slurmctld is still completing the cancel of the requeued job)
    wait_for(lambda: store.get(run_id)["status"] == "stopped", 30, "the run stopped")
    assert ctld_state(job) == "CANCELLED"  # (sacct may say REQUEUED for minutes)


def sbatch_array(spec: str, command: str) -> str:
    """Submit a plain job array (``--array=spec``) running ``command``; its array id."""
    return subprocess.run(["sbatch", "--parsable", f"--array={spec}", "-o", "/dev/null",
                           "-J", "compt-test", "--wrap", command],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_a_running_array_task_is_not_shown_pending(slurm, wait_for, monkeypatch):
    """When a task of ``0-3%1`` starts, sacct often keeps the range row of the pending tasks
    (``N_[1-3%1]``) next to that task's own RUNNING row; the range must not hide it."""
    from compt.executors import slurm as slurm_mod

    monkeypatch.setattr(slurm_mod, "SACCT_CACHE_S", 0.0)
    array, executor, checked = sbatch_array("0-3%1", "sleep 6"), SlurmExecutor(), set()

    def finished() -> bool:
        out = subprocess.run(["sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", array],
                             capture_output=True, text=True, timeout=30).stdout
        rows = dict(line.split("|")[:2] for line in out.splitlines() if "|" in line)
        for job in (f"{array}_{task}" for task in range(4)):
            if rows.get(job) == "RUNNING":
                label = executor.state({"job_id": job}, {"status": "running"}).label
                assert not label.startswith("PENDING"), f"{job} runs, shown {label}:\n{out}"
                checked.add(job)
        return all(rows.get(f"{array}_{task}") == "COMPLETED" for task in range(4))

    try:
        wait_for(finished, 240, "the array to finish", interval=0.3)
    finally:
        subprocess.run(["scancel", array], capture_output=True, timeout=30)
    assert len(checked) >= 3  # most tasks were seen running


HELD = SlurmOptions(extra=["--hold"])  # submitted but never started: nothing races the test


def test_the_index_names_the_slurm_job_of_each_sweep_run_at_once(slurm, runs_dir, tiny_cfg):
    group, ids = launch_sweep([dataclasses.replace(tiny_cfg, seed=s) for s in (0, 1)],
                              runs_dir, jobs=2, executor=SlurmExecutor(HELD))
    index = json.loads((runs_dir / "index.json").read_text())["runs"]
    store = RunStore(runs_dir)
    for run_id in ids:
        assert index[run_id]["executor"] == "slurm"
        assert index[run_id]["job_id"] == launch_of(store, run_id)["job_id"]
    assert {s["job_id"] for s in store.list(group=group)} == {
        launch_of(store, r)["job_id"] for r in ids}


def test_a_slurm_sweep_and_retry_failed_without_jobs_are_not_one_at_a_time(
        slurm, runs_dir, tiny_cfg, wait_for):
    done = compt_cli("sweep", "--grid", "seed=0,1", "--group", "wide", "--executor", "slurm",
                     "--slurm", "extra=--hold", "--runs-dir", str(runs_dir),
                     *tiny_sets(tiny_cfg))
    assert done.returncode == 0, done.stderr
    assert "256 at a time (slurm's default; --jobs sets it)" in " ".join(done.stdout.split())
    submission = next((runs_dir / ".slurm" / "wide").glob("*/*_submission.sh")).read_text()
    assert "#SBATCH --array=0-1%2" in submission  # all at once (submitit caps %N at n)
    store = RunStore(runs_dir)
    ids = store.resolve("wide")
    subprocess.run(["scancel", *(launch_of(store, r)["job_id"] for r in ids)], check=True)
    for run_id in ids:  # as if they had run and failed (sacct may show them pending a while)
        store.folder(run_id).update_status(status="failed", error="test")
    store.sync_many(ids)

    done = compt_cli("retry", "--failed", "--runs-dir", str(runs_dir))
    assert done.returncode == 0, done.stderr
    retried = [p for p in (runs_dir / ".slurm").glob("retry-*/*/*_submission.sh")]
    assert retried and "#SBATCH --array=0-1%2" in retried[0].read_text()


def test_a_second_up_and_its_down_leave_the_first_callers_cluster_running(slurm):
    """.ci/run calls `up` (which finds the cluster running and starts nothing) and `down`
    on exit: that `down` must not stop the daemons another caller's `up` started."""
    if os.geteuid() != 0 or "compt test cluster" not in Path("/etc/slurm/slurm.conf").read_text():
        pytest.skip("the cluster was not started by tests/slurm/cluster.sh as root")
    pid_files = [CLUSTER_STATE / f"{d}.pid" for d in ("slurmctld", "slurmd", "slurmdbd")]
    pids = [int(p.read_text()) for p in pid_files]
    env = {**os.environ, "COMPT_SLURM_OWNER": f"second-caller-{os.getpid()}"}
    for command in ("up", "down"):
        done = subprocess.run(["bash", str(REPO / "tests" / "slurm" / "cluster.sh"), command],
                              capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
    assert "started no daemon: nothing to stop" in done.stderr
    for pid in pids:
        os.kill(pid, 0)  # still alive
    assert _slurm_problem() is None


@pytest.mark.parametrize("option, message", [
    ("partition=no-such-partition", "invalid partition specified: no-such-partition"),
    ("time=1:xx", "is not a valid time"),
])
def test_a_rejected_submission_leaves_nothing_behind(slurm, runs_dir, tiny_cfg, option,
                                                    message):
    for command in (["sweep", "--grid", "seed=0,1"], ["run"]):
        done = compt_cli(*command, "--executor", "slurm", "--slurm", option,
                         "--runs-dir", str(runs_dir), *tiny_sets(tiny_cfg))
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr
        assert done.stderr.startswith("error:") and done.stderr.count("\n") == 1
        assert not [p for p in runs_dir.iterdir() if not p.name.startswith(".")
                    and p.name != "index.json"]
        assert RunStore(runs_dir).list() == []


# -- without a cluster -----------------------------------------------------------------


def test_time_limits_in_slurm_formats():
    assert parse_time("90") == 90
    assert parse_time("1:30:00") == 90
    assert parse_time("10:30") == 11  # MM:SS rounds up
    assert parse_time("2-12") == 3600
    assert parse_time("1-00:30") == 1470
    for bad in ("", "0", "1:xx", "1h", "-5"):
        with pytest.raises(ComptError, match="not a valid time"):
            parse_time(bad)


def test_slurm_options_from_the_config_file_and_the_command_line(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('k = 8\n[slurm]\npartition = "gpu"\ncpus = 4\ntime = "2:00:00"\n'
                      'extra = ["--constraint=a100"]\n')
    executor = build_executor("slurm", config, ["time=30", "qos=high", "extra=--exclusive",
                                                "setup=module load cuda", "warning=300"])
    assert executor.options.setup == ["module load cuda"] and executor.options.warning == 300
    params = executor.options.parameters()
    assert params["partition"] == "gpu" and params["cpus_per_task"] == 4
    assert params["time"] == 30 and params["qos"] == "high"
    assert params["additional_parameters"] == {"constraint": "a100", "exclusive": True}
    from compt.config import build_config
    from compt.sweep import load_sweep

    assert build_config(config).k == 8  # the [slurm] table is not a run setting
    assert load_sweep(config)[0].k == 8
    for bad, message in ((["cpus=two"], "whole number"), (["partiton=gpu"], "Unknown Slurm"),
                         (["warning=-1"], "at least 0"),
                         (["mem=lots"], "size like"), (["extra=constraint"], "--name")):
        with pytest.raises(ComptError, match=message):
            build_executor("slurm", None, bad)
    with pytest.raises(ComptError, match="takes no options"):
        build_executor("local", None, ["partition=gpu"])
    with pytest.raises(ComptError, match="Unknown executor"):
        build_executor("kubernetes")


def test_launch_records_name_their_executor_and_unknown_ones_do_not_break_listing():
    assert executor_for({}).name == "local"
    slurm_launch = {"executor": "slurm", "job_id": "7_1", "options": {"partition": "gpu"}}
    assert executor_for(slurm_launch).options.partition == "gpu"
    assert executor_for(slurm_launch).describe(slurm_launch) == "slurm job 7_1"
    with pytest.raises(ComptError, match="does not know"):
        executor_for({"executor": "nomad"})
    # an unknown executor cannot say the job is gone: the run keeps its status
    assert live_state({"status": "running"}, {"executor": "nomad"})[0] == "running"


def test_sacct_lines_become_job_states(monkeypatch):
    from compt.executors import slurm as slurm_mod

    out = ("41_0|RUNNING|node3|None\n41_1|CANCELLED by 0|node3|None\n41_2|RUNNING|node3|None\n"
           "41_[2-4%2]|PENDING|None assigned|JobArrayTaskLimit\n")  # the range is stale
    calls = []

    def fake_run(argv, **kwargs):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, stdout=out, stderr="")

    monkeypatch.setattr(slurm_mod.subprocess, "run", fake_run)
    monkeypatch.setattr(slurm_mod, "_sacct_cache", {})
    executor = SlurmExecutor()
    states = {j: executor.state({"job_id": j}, {"status": "queued"}) for j in
              ("41_0", "41_1", "41_2", "41_3", "41_9")}
    assert states["41_0"].alive is True and states["41_0"].label == "RUNNING on node3"
    assert states["41_1"].alive is False and states["41_1"].label == "CANCELLED"
    assert states["41_2"].label == "RUNNING on node3"  # its own row beats the range
    assert states["41_3"].label == "PENDING (JobArrayTaskLimit)" and states["41_3"].alive
    assert states["41_9"].alive is None  # sacct does not know it (yet): not dead
    assert len(calls) == 1  # one sacct call answers for the whole array
    assert live_state({"status": "queued"}, {"executor": "slurm", "job_id": "41_1"})[0] == \
        "interrupted"
    assert SlurmOptions.from_mapping({"time": 5}).time == "5"


def test_ls_shows_the_job_column_only_when_a_run_has_a_job():
    from rich.console import Console

    from compt.cli.store_cmds import runs_table

    def render(summaries) -> str:
        console = Console(width=120, record=True)
        console.print(runs_table(summaries))
        return console.export_text()

    base = {"run_id": "r1", "status": "queued", "method": "pt", "tasks": ["rte"], "k": 8,
            "seed": 0}
    assert "job" not in render([base]).split("\n")[0]
    text = render([{**base, "job_state": "PENDING (Priority)"}, {**base, "run_id": "r2"}])
    assert "job" in text.split("\n")[0] and "PENDING (Priority)" in text


def test_slurms_double_sigterm_is_one_stop_request_and_a_later_one_aborts(monkeypatch):
    """Slurm sends SIGTERM to the job and to its step at once: the training must still
    checkpoint (a second signal a moment later is a person who wants out now)."""
    from types import SimpleNamespace

    from compt import runner

    clock = [100.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: clock[0])
    stop = runner.StopSignal()
    trainer = SimpleNamespace(stop_requested=False)
    stop.attach(trainer)
    stop(signal.SIGTERM, None)
    assert trainer.stop_requested
    clock[0] += 0.01
    stop(signal.SIGTERM, None)  # Slurm's repeat: no abort, the checkpoint comes
    clock[0] += 5
    with pytest.raises(runner._Abort):
        stop(signal.SIGTERM, None)
