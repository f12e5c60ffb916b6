"""Baselines benchmark: pt, mtpt, SPoT, ATTEMPT(-m), MPT vs ComPT's compositions.

Two parts, both written to ``docs/results_baselines.md``:

1. accuracy: every method x k x seed as detached runs (``compt sweep --jobs``, a finished
   cell is skipped, so the benchmark can be stopped and continued) in a private store;
   then the table (mean ± std over seeds) and, per k, a paired test (t-test and Wilcoxon
   over matched (seed, task) pairs) of each method against the best composition at that k;
2. speed: one training step (forward, backward, AdamW) of each method in this one
   process, in interleaved rounds, as a ratio to pt's step; two-stage methods per stage.

    python benchmarks/bench_baselines.py                      # sweep, wait, speed, page
    python benchmarks/bench_baselines.py --report-only        # page from finished runs
    python benchmarks/bench_baselines.py --seeds 0 --ks 8     # a smaller grid
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

from compt import methods  # noqa: E402
from compt.report import paired_comparison  # noqa: E402
from compt.store import RunStore  # noqa: E402

GROUP = "baselines"
SETTINGS = ["epochs=8", "analysis=false", "eval_size=60", "checkpoint_every=0"]


def compt(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "compt", *args], capture_output=True,
                          text=True, check=True, env={**os.environ, "NO_COLOR": "1"}).stdout


def sweep(args) -> None:
    grid = ["--grid", f"seed={args.seeds}", "--grid", f"k={args.ks}",
            "--grid", f"method={args.methods}"]
    sets = [x for s in [*SETTINGS, *args.sets] for x in ("--set", s)]
    print(compt("sweep", *grid, *sets, "--jobs", str(args.jobs), "--group", GROUP,
                "--runs-dir", str(args.runs_dir)))
    store = RunStore(args.runs_dir)
    while any(s.get("status") in ("queued", "running") for s in store.list(group=GROUP)):
        time.sleep(30)


def paired_rows(store: RunStore, ks: list[int]) -> list[str]:
    """Per k: each method against the best composition (highest mean average) at that k."""
    done = store.list(status="done", group=GROUP)
    lines = ["| k | method | vs | mean diff (points) | pairs | t-test p | Wilcoxon p |",
             "| --: | :-- | :-- | --: | --: | --: | --: |"]
    compositions = [m.name for m in methods.all_methods() if m.family == "composition"]
    for k in ks:
        by_method = {m: [s for s in done if s["method"] == m and s["k"] == k]
                     for m in methods.names()}
        means = {m: statistics.fmean(s["average"] for s in runs)
                 for m, runs in by_method.items() if runs}
        best = max((m for m in compositions if m in means), key=means.get, default=None)
        if best is None:
            continue
        for method, runs in by_method.items():
            if method == best or not runs:
                continue
            c = paired_comparison(runs, by_method[best], name=method, baseline_name=best)
            p = [f"{x:.3f}" if x is not None else "–" for x in (c.t_p, c.w_p)]
            lines.append(f"| {k} | {method} | {best} | {c.mean_diff:+.1f} | {len(c.pairs)} | "
                         f"{p[0]} | {p[1]} |")
    return lines


def step_ratios(rounds: int, steps: int) -> tuple[list[str], str]:
    """Each method's (and stage's) median step time over interleaved rounds, / pt's."""
    import torch

    from compt.config import RunConfig
    from compt.data import train_batches
    from compt.train import build_experiment, make_optimizer

    variants = {}
    for method in methods.all_methods():
        cfg = RunConfig(method=method.name, k=16, analysis=False, eval_size=1)
        exp = build_experiment(cfg)
        optimizer = make_optimizer(exp.model, cfg)
        batch = train_batches(exp.train_data, exp.batch_size, 0, 0, exp.model.backbone.pad_id)[0]
        for stage, name in enumerate(method.stages):
            label = method.name if len(method.stages) == 1 else f"{method.name} ({name})"
            variants[label] = (exp, optimizer, batch, stage)
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(-1, rounds):  # round -1 warms every variant up and is not counted
        order = list(variants)
        shift = max(r, 0) % len(order)
        order = order[shift:] + order[:shift]
        for label in order:
            exp, optimizer, batch, stage = variants[label]
            exp.model.prompt.method.enter_stage(exp.model.prompt, stage, fresh=False)
            tick = time.process_time()
            for _ in range(steps):
                loss = exp.model.loss(batch, 1.0)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            if r >= 0:
                times[label].append((time.process_time() - tick) / steps)
    base = statistics.median(times["pt"])
    lines = ["| method | CPU s / step | ratio to pt |", "| :-- | --: | --: |"]
    lines += [f"| {label} | {statistics.median(t):.3f} | {statistics.median(t) / base:.2f} |"
              for label, t in times.items()]
    return lines, f"{torch.get_num_threads()} torch threads, batch 20 (6 tasks), k = 16"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "benchmarks" / "runs-baselines")
    parser.add_argument("--methods", default=",".join(methods.names()))
    parser.add_argument("--ks", default="8,16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="extra config key=value for every run")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="speed: interleaved rounds")
    parser.add_argument("--steps", type=int, default=3, help="speed: steps per round")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results_baselines.md")
    args = parser.parse_args()
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        sweep(args)
    load = os.getloadavg()
    speed, speed_setup = step_ratios(args.rounds, args.steps)
    table = compt("table", "--runs-dir", str(args.runs_dir), "--group", GROUP,
                  "--format", "markdown")
    store = RunStore(args.runs_dir)
    minutes = sum(s.get("duration_s") or 0 for s in store.list(group=GROUP)) / 60
    settings = " ".join(f"--set {s}" for s in args.sets)
    marker = "<!-- analysis: kept when the benchmark rewrites this page -->"
    notes = ""
    if args.out.is_file() and marker in args.out.read_text():
        notes = marker + args.out.read_text().split(marker, 1)[1]
    args.out.write_text(
        "# Baselines in the few-shot protocol: pt, mtpt, SPoT, ATTEMPT, MPT vs ComPT\n\n"
        f"Command: `python benchmarks/bench_baselines.py --methods {args.methods} "
        f"--ks {args.ks} --seeds {args.seeds} --jobs {args.jobs} {settings}`\n\n"
        f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, CPU only, shared with other work (load average when "
        f"the page was written: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}). Model "
        f"all-MiniLM-L6-v2, suite `builtin` (6 tasks), settings {', '.join(SETTINGS)} "
        f"(everything else compt's defaults and each method's presets, docs/baselines.md). "
        f"{minutes:.0f} min of run time in all.\n\n"
        "## Accuracy\n\nCells: mean ± sample std over seeds (n = runs).\n\n" + table +
        "\n\n## Paired tests against the best composition\n\nPairs are (seed, task) with "
        "the same k; positive: the method scores higher than the composition.\n\n"
        + "\n".join(paired_rows(store, [int(k) for k in args.ks.split(",")])) +
        f"\n\n## Step time\n\nOne training step in one process ({speed_setup}); "
        f"median process CPU time over {args.rounds} interleaved rounds of {args.steps} "
        "steps.\n\n" + "\n".join(speed) + "\n\n" + notes
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
