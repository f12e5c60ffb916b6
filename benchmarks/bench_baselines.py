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

from bench_real import BASE as REAL_BASE  # noqa: E402  (benchmarks/bench_real.py)
from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)
from pool import Phase, run_phases  # noqa: E402  (benchmarks/pool.py)

from compt import methods  # noqa: E402
from compt.report import correct_holm, paired_comparison  # noqa: E402
from compt.runfolder import RunFolder  # noqa: E402
from compt.store import RunStore  # noqa: E402

# suite -> the settings of every run on it: the short schedule on both; the real
# suite with docs/results_real.md's protocol (so its pt / ssum / msum / mcat compare)
SUITES = {
    "builtin": ["epochs_preset=short", "analysis=false", "eval_size=200", "checkpoint_every=0"],
    "real_core": [*REAL_BASE, "checkpoint_every=0"],
}


def compt(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "compt", *args], capture_output=True,
                          text=True, check=True, env={**os.environ, "NO_COLOR": "1"}).stdout


def group_name(suite: str, suffix: str) -> str:
    return ("baselines" if suite == "builtin" else f"baselines-{suite}") + suffix


def phases(args) -> list[Phase]:
    grid = [f"seed={args.seeds}", f"k={args.ks}", f"method={args.methods}"]
    return [Phase(args.runs_dir, group_name(suite, args.group_suffix),
                  [*SUITES[suite], *args.sets], grid) for suite in args.suites.split(",")]


def paired_rows(store: RunStore, groups: list[str], ks: list[int]) -> list[str]:
    """Per k: each method against the best composition (highest mean average) at that k,
    tested per seed and Holm-corrected over that k's comparisons (compt.stats)."""
    done = [s for g in groups for s in store.list(status="done", group=g)]
    lines = ["| k | method | vs | mean diff (points) | seeds | t-test p | p Holm | MDE 80 % |",
             "| --: | :-- | :-- | --: | --: | --: | --: | --: |"]
    compositions = [m.name for m in methods.all_methods() if m.family == "composition"]
    for k in ks:
        by_method = {m: [s for s in done if s["method"] == m and s["k"] == k]
                     for m in methods.names()}
        means = {m: statistics.fmean(s["average"] for s in runs)
                 for m, runs in by_method.items() if runs}
        best = max((m for m in compositions if m in means), key=means.get, default=None)
        if best is None:
            continue
        found = [paired_comparison(runs, by_method[best], name=method, baseline_name=best)
                 for method, runs in by_method.items() if method != best and runs]
        correct_holm(found)
        for c in found:
            p = [f"{x:.3f}" if x is not None else "–" for x in (c.per_seed.t_p, c.p_holm,
                                                               c.detectable)]
            lines.append(f"| {k} | {c.name} | {best} | {c.per_seed.mean:+.1f} | "
                         f"{c.per_seed.n} | {p[0]} | {p[1]} | {p[2]} |")
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
    parser.add_argument("--suites", default="builtin,real_core", help=", ".join(SUITES))
    parser.add_argument("--ks", default="8,16")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], dest="sets",
                        help="extra config key=value for every run (e.g. device=cuda)")
    parser.add_argument("--group-suffix", default="", help="appended to every group name")
    parser.add_argument("--until", type=float, help="start no run after this many seconds")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--report-suffixes", default="-gpu,-cpu",
                        help="the page shows, per suite, the groups with these suffixes")
    parser.add_argument("--no-report", action="store_true", help="train only")
    parser.add_argument("--rounds", type=int, default=5, help="speed: interleaved rounds")
    parser.add_argument("--steps", type=int, default=3, help="speed: steps per round")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results_baselines.md")
    args = parser.parse_args()
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        run_phases(phases(args), args.jobs, args.until)
    if not args.no_report:
        write_page(args)


def _compute(folder: Path) -> str:
    """Where a run trained (device and precision), from its config.json."""
    return RunFolder(folder).read_config().get("resolved", {}).get("compute", "?")


def suite_section(args, store: RunStore, suite: str) -> str:
    """One suite: where and how its runs trained, the accuracy table and the paired tests.
    Its runs are the groups of every ``--report-suffixes`` entry (e.g. GPU and CPU runs)."""
    groups = [g for g in (group_name(suite, x) for x in args.report_suffixes.split(","))
              if store.list(group=g)]
    if not groups:
        return ""
    runs = [s for g in groups for s in store.list(group=g)]
    minutes = sum(s.get("duration_s") or 0 for s in runs) / 60
    computes = {g: sorted({_compute(args.runs_dir / s["run_id"]) for s in store.list(group=g)})
                for g in groups}
    where = "; ".join(f"`{g}`: {', '.join(c)}" for g, c in computes.items())
    table = compt("table", *groups, "--pool", "--runs-dir", str(args.runs_dir),
                  "--format", "markdown")
    return (
        f"## {suite}\n\nSettings: `{' '.join(SUITES[suite])}` (everything else compt's "
        f"defaults and each method's presets, docs/baselines.md). Groups and where they "
        f"trained: {where}; {minutes:.0f} min of run time in all.\n\nCells: mean ± sample "
        f"std over seeds (n = runs; `compt table {' '.join(groups)} --pool`: a row pools a "
        f"configuration's GPU and CPU seeds).\n\n{table}\n\n### Paired tests against the best "
        "composition\n\nPairs are (seed, task) with the same k; positive: the method scores "
        "higher than the composition.\n\n"
        + "\n".join(paired_rows(store, groups, [int(k) for k in args.ks.split(",")])) + "\n"
    )


def write_page(args) -> None:
    load = os.getloadavg()
    speed, speed_setup = step_ratios(args.rounds, args.steps)
    store = RunStore(args.runs_dir)
    sections = [suite_section(args, store, suite) for suite in args.suites.split(",")]
    marker = "<!-- analysis: kept when the benchmark rewrites this page -->"
    notes = ""
    if args.out.is_file() and marker in args.out.read_text():
        notes = marker + args.out.read_text().split(marker, 1)[1]
    args.out.write_text(
        "# Baselines in the few-shot protocol: pt, mtpt, SPoT, ATTEMPT, MPT vs ComPT\n\n"
        "Commands: on a GPU host `python benchmarks/bench_baselines.py --jobs 5 --set "
        "device=cuda --group-suffix=-gpu` (every method, k = 8 and 16, seeds 0-2, on "
        "`real_core` and `builtin`); the cells it did not reach, on the CPU: `python "
        "benchmarks/bench_baselines.py --suites real_core --methods mcat --group-suffix=-cpu` "
        "and `--suites builtin --seeds 2 --methods ... --group-suffix=-cpu`; then "
        f"`python benchmarks/bench_baselines.py --report-only` writes this page.\n\n"
        f"Page written on {cpu_name()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()} (load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f}); the GPU runs trained on one NVIDIA H200 (five at a time beside the "
        "real-text benchmark). Model all-MiniLM-L6-v2.\n\n" + "\n".join(filter(None, sections))
        + f"\n## Step time\n\nOne training step in one process on the machine that wrote the "
        f"page ({speed_setup}); median process CPU time over {args.rounds} interleaved rounds "
        f"of {args.steps} steps.\n\n" + "\n".join(speed) + "\n\n" + notes
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
