"""Accuracy benchmark: pt vs ssum vs msum vs mcat on the built-in suite, mean ± std over seeds.

Runs every cell of the grid in its own run folder (a finished cell is skipped, so the
benchmark can be stopped and continued), then writes the paper-style table with
``compt table`` to a results page. Defaults: all-MiniLM-L6-v2, k in {8, 16}, seeds 0-2.

    python benchmarks/bench_accuracy.py                    # the full grid (~1 h on 2 cores)
    python benchmarks/bench_accuracy.py --ks 8 --seeds 0   # one seed at k=8
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- analysis: kept when the benchmark rewrites this page -->"
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

from compt.config import build_config  # noqa: E402
from compt.runfolder import create_run_folder, read_json  # noqa: E402
from compt.runner import execute_run, preflight  # noqa: E402


def finished_fingerprints(runs_dir: Path) -> set[str]:
    done = set()
    for folder in runs_dir.glob("*/"):
        status = read_json(folder / "status.json", {}) or {}
        if status.get("status") == "done":
            done.add((read_json(folder / "config.json", {}) or {}).get("fingerprint"))
    return done


def training_minutes(runs_dir: Path) -> float:
    """Compute spent on the finished runs of the benchmark (however many invocations)."""
    seconds = 0.0
    for folder in runs_dir.glob("*/"):
        results = read_json(folder / "results.json", {}) or {}
        seconds += results.get("duration_s") or 0.0
    return seconds / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "benchmarks" / "runs-accuracy")
    parser.add_argument("--methods", default="pt,ssum,msum,mcat")
    parser.add_argument("--ks", default="8,16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="extra config key=value for every run")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results_accuracy.md")
    args = parser.parse_args()
    args.runs_dir.mkdir(parents=True, exist_ok=True)

    grid = list(itertools.product(args.methods.split(","), map(int, args.ks.split(",")),
                                  map(int, args.seeds.split(","))))
    done = finished_fingerprints(args.runs_dir)
    began = time.time()
    for i, (method, k, seed) in enumerate(grid, 1):
        cfg = build_config(None, {"method": method, "k": k, "seed": seed,
                                  "group": "bench-accuracy"}, ["analysis=false", *args.sets])
        if cfg.fingerprint() in done:
            print(f"[{i}/{len(grid)}] {method} k={k} seed={seed}: already done")
            continue
        tick = time.time()
        folder = create_run_folder(args.runs_dir, cfg)
        results = execute_run(folder, cfg, tasks=preflight(cfg))
        if not results:
            print(f"stopped at {method} k={k} seed={seed}; run again to continue")
            return
        print(f"[{i}/{len(grid)}] {method} k={k} seed={seed}: average "
              f"{results['average']:.1f} ({time.time() - tick:.0f} s)", flush=True)

    table = subprocess.run(
        [sys.executable, "-m", "compt", "table", "--runs-dir", str(args.runs_dir),
         "--group", "bench-accuracy", "--format", "markdown"],
        capture_output=True, text=True, check=True, env={**os.environ, "NO_COLOR": "1"},
    ).stdout
    extra = " ".join(f"--set {s}" for s in args.sets)
    preset = build_config(None, None, args.sets).epochs_preset
    notes = ""  # hand-written analysis below the marker survives a re-run
    if args.out.is_file() and MARKER in args.out.read_text():
        notes = MARKER + args.out.read_text().split(MARKER, 1)[1]
    args.out.write_text(
        f"# Accuracy: composed prompts vs vanilla prompt tuning (built-in suite, "
        f"epochs preset '{preset}')\n\n"
        f"Command: `python benchmarks/bench_accuracy.py --methods {args.methods} "
        f"--ks {args.ks} --seeds {args.seeds} {extra}`\n\n"
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; CPU only. Model all-MiniLM-L6-v2, suite "
        f"`builtin` (6 tasks), default config (epochs preset '{preset}', eval_size 200 per "
        f"task, rank classification), analysis off. Runs: {training_minutes(args.runs_dir):.0f} "
        f"min of run time in all (this invocation: {(time.time() - began) / 60:.0f} min).\n\n"
        "Cells: mean ± sample std over seeds (n = runs); best per column bold (*), "
        "second underlined (†).\n\n" + table + "\n" + notes
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
