"""Benchmark: ``compt table`` over 10,000 runs (target: under 2 s end to end).

Writes a run store index with synthetic summaries (8 GLUE tasks each; no run folders are
needed because finished runs are read from the index alone), then times

* each stage in process: reading the index, grouping + aggregating, rendering;
* the whole command in a fresh process (``python -m compt table``), imports included.

Two layouts: a paper-style grid (36 configurations, many seeds each, rows method x k with
a variant column for n_sources) and a wide sweep (3,360 configurations of about 3 seeds,
so the table has thousands of rows). Usage::

    python benchmarks/bench_table.py [--runs 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
TASKS = ["mnli", "qnli", "rte", "cola", "sst2", "stsb", "mrpc", "qqp"]
METHODS = ["pt", "ssum", "msum", "mcat"]


def synthetic(n: int, wide: bool, rng: random.Random) -> list[dict]:
    """``n`` finished-run summaries shaped like compt.store writes them."""
    if wide:  # 4 x 3 x 5 x 7 x 8 = 3,360 configurations
        grid = itertools.product(METHODS, (8, 16, 32), range(1, 6),
                                 (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3), range(4, 36, 4))
        configs = list(grid)
    else:  # 4 x 3 x 3 = 36 configurations
        configs = [(m, k, s, 0.1, 20) for m in METHODS for k in (8, 16, 32) for s in (2, 3, 4)]
    out = []
    for i in range(n):
        method, k, n_sources, lr, prompt_len = configs[i % len(configs)]
        seed = i // len(configs)
        scores = {t: round(rng.uniform(40, 90), 2) for t in TASKS}
        out.append({
            "run_id": f"run{i:05d}", "created": f"2026-01-{1 + i // 86400:02d}T"
            f"{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}+00:00",
            "status": "done", "step": 100, "total": 100,
            "method": method, "tasks": TASKS, "k": k, "seed": seed, "data_seed": seed,
            "n_sources": n_sources, "model": "t5-base",
            "hparams": {"prompt_len": prompt_len, "lr_router": lr, "lr_source": 0.05,
                        "lr_private": 0.02, "epochs": 50, "batch_size": 20, "temperature": 5.0,
                        "router": "learned", "placement": "after", "sampling": "random",
                        "eval_size": 500, "decoding": "rank"},
            "scores": scores, "average": round(sum(scores.values()) / len(scores), 4),
            "duration_s": 93.1, "pid": None, "host": "gpu1", "group": "bench", "name": "",
            "tags": [], "note": "", "error": None, "fingerprint": f"f{i}",
            "config_key": f"{method}-{k}-{n_sources}-{lr}-{prompt_len}",
        })
    return out


def write_index(runs_dir: Path, summaries: list[dict]) -> None:
    """The TinyDB file compt.store reads: {"runs": {run_id: summary}}."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    data = {"runs": {s["run_id"]: s for s in summaries}}
    (runs_dir / "index.json").write_text(json.dumps(data, separators=(",", ":")))


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def in_process(runs_dir: Path, repeat: int) -> dict[str, float]:
    from compt.export import render
    from compt.report import build_table
    from compt.store import RunStore

    store = RunStore(runs_dir)
    load, runs = best_of(repeat, lambda: store.list(status="done"))
    build, table = best_of(repeat, lambda: build_table(runs))
    out = {"runs": len(runs), "rows": len(table.rows), "load_s": load, "aggregate_s": build}
    for fmt in ("terminal", "markdown", "csv", "latex", "json"):
        out[f"render_{fmt}_s"] = best_of(repeat, lambda f=fmt: render(table, f))[0]
    return out


def end_to_end(runs_dir: Path, fmt: str, repeat: int) -> float:
    cmd = [sys.executable, "-m", "compt", "table", "--runs-dir", str(runs_dir), "-f", fmt]
    env = {**os.environ, "COLUMNS": "200"}

    def once() -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env,
                       cwd=ROOT)

    return best_of(repeat, once)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {platform.system()}")
    for wide in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            runs_dir = Path(tmp) / "runs"
            write_index(runs_dir, synthetic(args.runs, wide, random.Random(0)))
            stats = in_process(runs_dir, args.repeat)
            layout = "wide sweep" if wide else "paper grid"
            print(f"\n{layout}: {stats['runs']} runs -> {stats['rows']} rows")
            for key, value in stats.items():
                if key.endswith("_s"):
                    print(f"  {key:<20} {value * 1000:8.1f} ms")
            for fmt in ("terminal", "markdown"):
                seconds = end_to_end(runs_dir, fmt, args.repeat)
                print(f"  compt table -f {fmt:<9} {seconds:6.2f} s end to end (fresh process)")


if __name__ == "__main__":
    main()
