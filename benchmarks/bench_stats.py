"""Benchmark: what compt's statistics claim, checked by simulation, and what they cost.

Writes docs/results_stats.md with

1. the minimum detectable effect at 80 % power (compt.stats, noncentral t) for 2-30 seeds,
   beside the normal rule 2.8 sd / sqrt(n), and the Wilcoxon floor;
2. a Monte Carlo check of that power: normal per-seed differences whose true mean is the
   MDE are rejected by scipy's t-test about 80 % of the time;
3. why (seed, task) pairs overclaim: with no true difference, a seed effect shared by the
   tasks of one run makes the pair-level t-test reject far more often than 5 %, the
   per-seed test does not;
4. the CPU cost of the tests: ``compare_each`` over many configurations against
   ``build_table`` on the same in-memory summaries.

Usage::

    python benchmarks/bench_stats.py [--trials 20000] [--configs 50]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

from compt import stats  # noqa: E402
from compt.report import build_table, compare_each, labelled_groups  # noqa: E402

PAGE = ROOT / "docs" / "results_stats.md"
SEEDS = (2, 3, 4, 5, 6, 8, 10, 15, 20, 30)
TASKS = ["mnli", "qnli", "rte", "cola", "sst2", "stsb", "mrpc", "qqp"]


def power_table() -> list[str]:
    normal = scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)
    lines = ["| seeds | MDE 80 % (sd units, noncentral t) | normal rule 2.8 / sqrt(n) | "
             "ratio | Wilcoxon floor (two-sided) |", "| --: | --: | --: | --: | --: |"]
    for n in SEEDS:
        mde = stats.detectable_effect(n, 1.0)
        assert mde is not None
        rule = normal / math.sqrt(n)
        lines.append(f"| {n} | {mde:.2f} | {rule:.2f} | {mde / rule:.2f} | "
                     f"{2 / 2**n:.3g} |")
    return lines


def t_rejects(diffs: np.ndarray) -> np.ndarray:
    """Per row of ``diffs``: does a two-sided one-sample t-test reject mean 0 at 0.05?"""
    n = diffs.shape[1]
    t = diffs.mean(axis=1) / (diffs.std(axis=1, ddof=1) / math.sqrt(n))
    return np.abs(t) > scipy_stats.t.ppf(0.975, n - 1)


def power_check(trials: int, rng: np.random.Generator) -> list[str]:
    lines = ["| seeds | true difference (sd units) = MDE | rejected in simulation | "
             "compt.stats.power |", "| --: | --: | --: | --: |"]
    for n in (3, 5, 10):
        mde = stats.detectable_effect(n, 1.0)
        assert mde is not None
        rate = t_rejects(rng.normal(mde, 1.0, size=(trials, n))).mean()
        lines.append(f"| {n} | {mde:.3f} | {rate:.3f} | {stats.power(mde, 1.0, n):.3f} |")
    return lines


def overclaim(trials: int, rng: np.random.Generator) -> tuple[list[str], list[float]]:
    """No true difference; each run's tasks share a seed effect (sd ``shared``) on top of
    their own noise (sd 1): how often does each test reject at alpha 0.05?"""
    lines = ["| seeds | tasks | shared seed effect sd | per-seed t-test rejects | "
             "(seed, task) t-test rejects |", "| --: | --: | --: | --: | --: |"]
    rates = []
    for n, shared in ((3, 0.5), (3, 1.0), (5, 1.0), (10, 1.0), (10, 2.0)):
        tasks = 6
        diffs = (rng.normal(0.0, shared, size=(trials, n, 1))
                 + rng.normal(0.0, 1.0, size=(trials, n, tasks)))
        per_seed = t_rejects(diffs.mean(axis=2)).mean()
        per_pair = t_rejects(diffs.reshape(trials, n * tasks)).mean()
        lines.append(f"| {n} | {tasks} | {shared:g} | {per_seed:.3f} | {per_pair:.3f} |")
        rates.append(float(per_pair))
    return lines, rates


def summaries(configs: int, seeds: int, rng: random.Random) -> list[dict]:
    out = []
    for c in range(configs):
        for seed in range(seeds):
            scores = {t: 50 + c * 0.1 + rng.gauss(0, 3) for t in TASKS}
            out.append({"run_id": f"c{c:03d}-s{seed}", "created": f"2026-01-01T{c:05d}{seed}",
                        "status": "done", "method": "pt" if c == 0 else "ssum", "k": 8,
                        "seed": seed, "data_seed": seed, "tasks": TASKS,
                        "hparams": {"lr": 0.001 * (c + 1)}, "scores": scores,
                        "average": sum(scores.values()) / len(scores),
                        "config_key": f"config-{c}"})
    return out


def cost(configs: int, seeds: int, repeat: int) -> list[str]:
    runs = summaries(configs, seeds, random.Random(0))
    baseline = [s for s in runs if s["method"] == "pt"]
    compare_each(labelled_groups(runs), baseline, "pt")  # warm up scipy's imports
    stats._unit_effect.cache_clear()
    start = time.process_time()
    compare_each(labelled_groups(runs), baseline, "pt")
    cold = time.process_time() - start  # solves the detectable effect for 5 seeds once
    table_s, tests_s = [], []
    for _ in range(repeat):
        start = time.process_time()
        build_table(runs)
        middle = time.process_time()
        compare_each(labelled_groups(runs), baseline, "pt")
        table_s.append(middle - start)
        tests_s.append(time.process_time() - middle)
    table, tests = min(table_s), min(tests_s)
    return ["| what | CPU seconds (best of "
            f"{repeat}) | per comparison |", "| :-- | --: | --: |",
            f"| build_table, {configs} configurations x {seeds} seeds x {len(TASKS)} tasks | "
            f"{table:.3f} | |",
            f"| compare_each, the {configs - 1} others against the first, Holm, first call "
            f"(solves the detectable effect per seed count once) | {cold:.3f} | "
            f"{1000 * cold / (configs - 1):.1f} ms |",
            f"| compare_each again (those solves cached) | {tests:.3f} | "
            f"{1000 * tests / (configs - 1):.1f} ms |",
            f"| ratio tests / table | {tests / table:.1f} | |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--configs", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    load = os.getloadavg()
    power_lines = power_check(args.trials, rng)
    overclaim_lines, rates = overclaim(args.trials, rng)
    parts = [
        "# Results: what the statistics of `compt compare` claim, and what they cost",
        "",
        "Written by `python benchmarks/bench_stats.py "
        f"--trials {args.trials} --configs {args.configs} --seeds {args.seeds} "
        f"--repeat {args.repeat}` on {cpu_name()} ({os.cpu_count()} cores, Python "
        f"{platform.python_version()}), load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} at the start. How to read the numbers: "
        "[reports.md](reports.md#reading-the-statistics).",
        "",
        "## The effect a number of seeds can detect",
        "",
        "At 80 % power, alpha 0.05, two-sided, paired, in units of the sd of the per-seed "
        "differences. Multiply by that sd (the `sd` column of the per-seed row) for points.",
        "",
        *power_table(),
        "",
        "## The power is what it says: a simulation",
        "",
        f"{args.trials} simulated studies per line, normal per-seed differences with sd 1 "
        "and a true mean equal to the MDE; the share the t-test rejects.",
        "",
        *power_lines,
        "",
        "## Why (seed, task) pairs overclaim",
        "",
        f"{args.trials} simulated studies per line with **no** true difference: each run's "
        "six task differences share a seed effect (the sd given) plus their own noise (sd 1). "
        "A test that keeps its promise rejects 5 % of them.",
        "",
        *overclaim_lines,
        "",
        "## What the tests cost",
        "",
        *cost(args.configs, args.seeds, args.repeat),
        "",
        "## Reading",
        "",
        "- Few seeds detect only large differences, and fewer than the normal rule suggests: "
        "the t-test's own critical value and its uncertain sd cost a factor "
        f"{stats.detectable_effect(3, 1.0) / (2.8016 / math.sqrt(3)):.1f} at 3 seeds and "
        f"{stats.detectable_effect(5, 1.0) / (2.8016 / math.sqrt(5)):.2f} at 5. A page that "
        "says '3 seeds detect about 1.6 sd' overstates what they can see by that factor.",
        "- The simulated power matches compt.stats to within the simulation's noise "
        f"(±{2 * math.sqrt(0.16 / args.trials):.3f} at two standard errors), so the MDE column "
        "of `compt compare` means what it says when the per-seed differences are roughly "
        "normal.",
        "- Counting the (seed, task) pairs as independent turns a 5 % test into one that "
        f"finds a difference that is not there in {min(rates):.0%} to {max(rates):.0%} of "
        "these studies, as soon "
        "as a seed moves all tasks of its run together (the shared sources and router make "
        "that the normal case for compositions). The per-seed test keeps its 5 %. Hence "
        "compt reads the per-seed row first and never uses the pairs for power.",
        "- The statistics are cheap beside training but not free beside a table: "
        "`compt table` without `--baseline` never imports scipy; with it, a few "
        "milliseconds per row.",
        "",
    ]
    PAGE.write_text("\n".join(parts))
    print(PAGE.read_text())


if __name__ == "__main__":
    main()
