"""Run-store speed with many runs: ``compt ls``, adding/updating one run, ``compt reindex``.

Goals (issue 3) with 10,000 runs: ``compt ls`` < 1 s, one add/update < 100 ms,
``compt reindex`` < 30 s. The runs are synthetic but shaped like real ones: a full
config.json, a finished status.json and a results.json with 8 tasks, per-prompt scores,
router weights and prediction tables. Run:

    python benchmarks/bench_store.py --runs 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compt.config import RunConfig  # noqa: E402
from compt.runfolder import create_run_folder  # noqa: E402
from compt.store import RunStore  # noqa: E402

TASKS = ["mnli", "qnli", "rte", "cola", "sst2", "stsb", "mrpc", "qqp"]


def fake_run(runs_dir: Path, i: int, rng: random.Random) -> None:
    """Write one finished run's files directly (no fsync: only the setup, not measured)."""
    cfg = RunConfig(method=rng.choice(["pt", "ssum", "msum", "mcat"]), k=rng.choice([8, 16, 32]),
                    seed=i % 3, tasks=["glue"], model="t5-base", group=f"sweep-{i // 100:04d}")
    run_id = f"20260101-{i:06d}-{cfg.method}-{i % 65536:04x}"
    folder = runs_dir / run_id
    folder.mkdir()
    resolved = {**cfg.resolved(), "tasks": TASKS, "batch_size": 20, "total_steps": 250}
    record = {"run_id": run_id, "created": f"2026-01-01T00:00:00+00:{i % 60:02d}",
              "config": cfg.to_dict(), "resolved": resolved, "fingerprint": cfg.fingerprint(),
              "config_key": cfg.config_key()}
    scores = {t: round(rng.uniform(30, 95), 2) for t in TASKS}
    columns = ["src_1", "src_2", "src_3", "all_src", "private", "total"]
    results = {
        "scores": scores, "average": round(sum(scores.values()) / len(scores), 2),
        "metrics": {t: {"accuracy": s} for t, s in scores.items()},
        "primary_metric": dict.fromkeys(TASKS, "accuracy"), "eval_size": dict.fromkeys(TASKS, 500),
        "per_prompt": {"columns": columns, "scores": {t: {c: 50.0 for c in columns}
                                                      for t in TASKS}},
        "router": {"tasks": TASKS, "sources": columns[:3], "logits": [[0.1] * 3] * 8,
                   "weights": [[0.33] * 3] * 8},
        "predictions": {t: {"labels": ["a", "b", "c"], "combined": [[100, 3, 2]] * 3}
                        for t in TASKS},
        "steps": 250, "duration_s": 93.1, "train_time_s": 60.2,
    }
    status = {"status": "done", "step": 250, "total": 250, "pid": 1000 + i, "host": "gpu-1",
              "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:01:33+00:00"}
    for name, data in (("config.json", record), ("results.json", results),
                       ("status.json", status)):
        (folder / name).write_text(json.dumps(data, indent=2))


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def cli_seconds(args: list[str], runs_dir: Path, repeat: int) -> tuple[list[float], float]:
    """Wall seconds of each ``compt ARGS`` process, and the median CPU seconds it used
    (on a shared machine the CPU time shows the cost without the waiting)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COMPT_RUNS_DIR": str(runs_dir),
           "COLUMNS": "80"}
    argv = [sys.executable, "-m", "compt", *args]
    cpu = []

    def once() -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)

    return timed(once, repeat), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, help="Where to build the store (default: a temp dir)")
    args = parser.parse_args()

    runs_dir = (args.dir or Path(tempfile.mkdtemp(prefix="compt-bench-"))) / "runs"
    if runs_dir.exists():
        shutil.rmtree(runs_dir)
    runs_dir.mkdir(parents=True)
    rng = random.Random(0)
    began = time.perf_counter()
    for i in range(args.runs):
        fake_run(runs_dir, i, rng)
    print(f"wrote {args.runs} run folders in {time.perf_counter() - began:.1f} s ({runs_dir})")

    store = RunStore(runs_dir)
    rows = []

    def report(name: str, seconds: list[float] | tuple[list[float], float],
               goal: float | None) -> None:
        cpu = None
        if isinstance(seconds, tuple):
            seconds, cpu = seconds
        median = statistics.median(seconds)
        verdict = "" if goal is None else ("ok" if median < goal else "MISSED")
        goal_text = f"< {goal * 1000:.0f} ms" if goal is not None else ""
        cpu_text = "" if cpu is None else f"{cpu * 1000:.0f} ms"
        rows.append((name, median, min(seconds), max(seconds), cpu_text, goal_text, verdict))
        print(f"{name:44s} median {median * 1000:8.1f} ms  "
              f"(min {min(seconds) * 1000:.1f}, max {max(seconds) * 1000:.1f}) "
              f"{'cpu ' + cpu_text if cpu_text else ''} {verdict}")

    report("compt reindex (scan every folder)", timed(store.reindex, 2), 30.0)
    size = (runs_dir / "index.json").stat().st_size
    print(f"index.json: {size / 1e6:.1f} MB for {args.runs} runs")
    report("RunStore().list() in-process", timed(lambda: RunStore(runs_dir).list(), args.repeat),
           None)
    report("compt ls (process, newest 50)", cli_seconds(["ls"], runs_dir, args.repeat), 1.0)
    report("compt ls --method ssum -k 8 (process)",
           cli_seconds(["ls", "--method", "ssum", "-k", "8"], runs_dir, args.repeat), 1.0)
    report("compt ls --format json (process, all)",
           cli_seconds(["ls", "--format", "json"], runs_dir, args.repeat), None)
    report("python -m compt --help (startup only)", cli_seconds(["--help"], runs_dir, 3), None)

    def add_only() -> list[float]:
        out = []
        for _ in range(args.repeat * 4):
            cfg = RunConfig(model="t5-base", tasks=["glue"], seed=rng.randrange(10**6))
            folder = create_run_folder(runs_dir, cfg)
            fresh = RunStore(runs_dir)
            began = time.perf_counter()
            fresh.sync(folder.run_id)
            out.append(time.perf_counter() - began)
        return out

    def update_one() -> None:
        run_id = f"20260101-{rng.randrange(args.runs):06d}"
        run_id = next(p.name for p in runs_dir.glob(f"{run_id}-*"))
        RunStore(runs_dir).sync(run_id)

    report("add one run: RunStore.sync (new id)", add_only(), 0.1)
    report("update one run: RunStore.sync", timed(update_one, args.repeat * 4), 0.1)
    report("set_note on one run", timed(
        lambda: RunStore(runs_dir).set_note(next(iter(runs_dir.glob("20260101-000123-*"))).name,
                                            "benchmark"), args.repeat * 2), 0.1)

    print()
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"settings: {args.runs} runs, repeat {args.repeat}, warm page cache")
    print()
    print("| measurement | median | min | max | process CPU | goal | |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, median, low, high, cpu_text, goal, verdict in rows:
        print(f"| {name} | {median * 1000:.0f} ms | {low * 1000:.0f} ms | {high * 1000:.0f} ms "
              f"| {cpu_text} | {goal} | {verdict} |")
    if args.dir is None:
        shutil.rmtree(runs_dir.parent)


if __name__ == "__main__":
    main()
