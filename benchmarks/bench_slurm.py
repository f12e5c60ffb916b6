"""Per-run overhead of the Slurm executor against the local one, on the same tiny run.

Each repetition launches one tiny run (tiny-t5, one task, max_steps 2, eval_size 8, no
analysis) through each executor, alternating, and times from this process:

* submit:            the launch call itself (folder + sbatch through submitit / a spawn)
* submit -> running: until the run's status.json says it started (``started_ts``)
* train:             running -> results.json written (the same work in both)
* done -> indexed:   results.json written -> runs/index.json says ``done``
* done -> released:  results.json written -> the job is over (local: the process exited;
                     slurm: sacct says COMPLETED)

Needs a working Slurm with accounting (``bash tests/slurm/cluster.sh up``). Run:

    python benchmarks/bench_slurm.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from machine import cpu_name  # noqa: E402

from compt.config import RunConfig  # noqa: E402
from compt.executors.local import LocalExecutor, process_alive  # noqa: E402
from compt.executors.slurm import SlurmExecutor, slurm_state  # noqa: E402
from compt.launcher import launch_run  # noqa: E402
from compt.runfolder import RunFolder, read_json  # noqa: E402
from compt.store import LAUNCH_FILE  # noqa: E402

TINY = {"model": "tiny-t5", "tasks": ["sent_movies"], "k": 4, "eval_size": 8,
        "analysis": False, "max_steps": 2, "device": "cpu"}
POLL_S = 0.01
PHASES = ("submit", "submit -> running", "train", "done -> indexed", "done -> released")


def wait(predicate, timeout: float = 600.0) -> float:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the run did not get there in time")
        time.sleep(POLL_S)
    return time.time()


def indexed_done(runs_dir: Path, run_id: str) -> bool:
    index = read_json(runs_dir / "index.json", {}) or {}
    return (index.get("runs", {}).get(run_id) or {}).get("status") == "done"


def one_run(runs_dir: Path, executor) -> dict[str, float]:
    t0 = time.time()
    run_id = launch_run(RunConfig(**TINY), runs_dir, executor=executor)
    t_submitted = time.time()
    folder = RunFolder(runs_dir / run_id)
    wait(lambda: folder.results_path.is_file())
    t_done = folder.results_path.stat().st_mtime
    t_indexed = wait(lambda: indexed_done(runs_dir, run_id))
    launch = read_json(folder.path / LAUNCH_FILE, {})
    if launch.get("job_id"):
        t_released = wait(lambda: (slurm_state(launch["job_id"]) or ("",))[0] == "COMPLETED")
    else:
        t_released = wait(lambda: not process_alive(launch["pid"]))
    status = folder.read_status()
    assert status["status"] == "done", status
    return {"submit": t_submitted - t0, "submit -> running": status["started_ts"] - t0,
            "train": t_done - status["started_ts"], "done -> indexed": max(0.0, t_indexed - t_done),
            "done -> released": max(0.0, t_released - t_done), "total": t_indexed - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    args = parser.parse_args()
    executors = {"local": LocalExecutor(), "slurm": SlurmExecutor()}
    timings: dict[str, list[dict[str, float]]] = {name: [] for name in executors}
    with tempfile.TemporaryDirectory(prefix="bench-slurm-") as tmp:
        runs_dir = Path(tmp) / "runs"
        one_run(runs_dir, executors["local"])  # warm the file cache; not counted
        for _ in range(args.repeats):
            for name, executor in executors.items():
                timings[name].append(one_run(runs_dir, executor))
    load = os.getloadavg()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs, {platform.python_version()}; "
          f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({uptime})")
    print(f"slurm: {subprocess.run(['sinfo', '-V'], capture_output=True, text=True).stdout.strip()}"
          f"; {args.repeats} repeats, medians in seconds\n")
    print("| phase | local (s) | slurm (s) | slurm - local (s) | slurm / local |")
    print("|---|---:|---:|---:|---:|")
    for phase in (*PHASES, "total"):
        local = statistics.median(t[phase] for t in timings["local"])
        slurm = statistics.median(t[phase] for t in timings["slurm"])
        ratio = f"{slurm / local:.2f}" if local > 0.005 else "-"
        print(f"| {phase} | {local:.2f} | {slurm:.2f} | {slurm - local:+.2f} | {ratio} |")
    if args.json:
        args.json.write_text(json.dumps(timings, indent=2))


if __name__ == "__main__":
    main()
