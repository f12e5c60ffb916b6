"""docs/results_real.md from the real benchmark's run store, with compt's own reports only.

Every table on the page is the markdown output of a ``compt`` command printed above it,
so each number can be re-derived from benchmarks/runs-real. Hand-written analysis below
MARKER survives a rewrite.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

MARKER = "<!-- analysis: kept when the benchmark rewrites this page -->"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "results_real.md"
RUNS = PAGE.parent.parent / "benchmarks" / "runs-real"

# (title, selectors of the compared runs, selectors of the baseline)
PT = "real-core8,method=pt"
SSUM = "real-core8,method=ssum"
COMPARISONS = [
    ("ssum vs pt", SSUM, PT),
    ("msum vs pt", "real-core8-product,method=msum", PT),
    ("mcat vs pt", "real-core8-product,method=mcat", PT),
    ("msum vs pt, seeds 3-4", "real-core8-product-more,method=msum", PT),
    ("mcat vs pt, seeds 3-4", "real-core8-product-more,method=mcat", PT),
    ("pool_prompt=false: ssum vs pt, both pooling the input only",
     "real-abl-pool-inputs,method=ssum", "real-abl-pool-inputs,method=pt"),
    ("pool_prompt=false vs default, pt", "real-abl-pool-inputs,method=pt", PT),
    ("pool_prompt=false vs default, ssum", "real-abl-pool-inputs,method=ssum", SSUM),
    ("learning rates / 10: ssum vs pt, both at lr / 10",
     "real-abl-lr-tenth,method=ssum", "real-abl-lr-tenth,method=pt"),
    ("learning rates / 10 vs default, pt", "real-abl-lr-tenth,method=pt", PT),
    ("learning rates / 10 vs default, ssum", "real-abl-lr-tenth,method=ssum", SSUM),
    ("msum, product_norm=matched vs pt", "real-abl-product-matched,method=msum", PT),
    ("mcat, product_norm=matched vs pt", "real-abl-product-matched,method=mcat", PT),
    ("msum, product_norm=matched vs msum", "real-abl-product-matched,method=msum",
     "real-core8-product,method=msum"),
    ("mcat, product_norm=matched vs mcat", "real-abl-product-matched,method=mcat",
     "real-core8-product,method=mcat"),
    ("ssum, source_init=embedding vs pt", "real-abl-src-embedding", PT),
    ("ssum, source_init=embedding vs ssum", "real-abl-src-embedding", SSUM),
    ("ssum, router=constant vs pt", "real-abl-router-constant", PT),
    ("ssum, source_init=zero vs pt", "real-abl-src-zero", PT),
    ("ssum, n_sources=1 vs pt", "real-abl-sources", PT),
    ("ssum, private_encoder=false vs pt", "real-abl-private-encoder", PT),
    ("k = 16: ssum vs pt", "real-core16,method=ssum", "real-core16,method=pt"),
]


def render(compt: Callable[..., str], header: str) -> str:
    """The page: generated tables (each under the command that made it), then the notes."""
    parts = ["# Real text: composed prompts vs plain prompt tuning, and why\n",
             "Reproduce: `compt data build real` once, then "
             "`python benchmarks/bench_real.py` (runs every phase that is not done yet, "
             "then rewrites this page; `--report` only rewrites it).\n", header + "\n"]

    def section(title: str, *args: str) -> None:
        out = compt(*args, "--format", "markdown", check=False).strip()
        if out and "error" not in out.lower()[:20]:
            parts.append(f"### {title}\n\n`compt {' '.join(args)}`\n\n{out}\n")

    parts.append(summary(compt))
    section("All runs at k = 8 (rows: method, variant = what differs)",
            "table", "-k", "8", "--rows", "method,k")
    parts.append(majority_baseline())
    section("k = 16", "table", "-k", "16")
    for title, runs, baseline in COMPARISONS:
        section(f"Paired: {title}", "compare", runs, "--baseline", baseline)
    section("Per-prompt scores, ssum (seed 0, analysis on)", "heatmap", "real-analysis")
    section("Router weights, ssum (seeds averaged)", "router", SSUM)
    notes = ""
    if PAGE.is_file() and MARKER in PAGE.read_text():
        notes = MARKER + PAGE.read_text().split(MARKER, 1)[1]
    return "\n".join(parts) + "\n" + (notes or MARKER + "\n")


def summary(compt: Callable[..., str]) -> str:
    """One line per paired comparison: what, pairs, mean difference, both p-values."""
    lines = ["### Summary of the paired comparisons\n",
             "Each line is `compt compare RUNS --baseline BASELINE` (full tables below): pairs "
             "are (seed, task), the difference is in points of the task's primary score.\n",
             "| comparison | pairs | mean difference | paired t-test p | Wilcoxon p |",
             "|---|--:|--:|--:|--:|"]
    for title, runs, baseline in COMPARISONS:
        out = compt("compare", runs, "--baseline", baseline, "--format", "json", check=False)
        try:
            stats = json.loads(out)["extra"]["stats"]
        except (ValueError, KeyError, TypeError):
            continue
        lines.append(f"| {title} | {stats['pairs']} | {stats['mean_diff']:+.2f} | "
                     f"{_p(stats.get('t_p'))} | {_p(stats.get('wilcoxon_p'))} |")
    return "\n".join(lines) + "\n"


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def majority_baseline() -> str:
    """Always answering a task's most frequent test label, scored like the runs (the gold
    counts come from a finished run's prediction table: every run uses the same test set)."""
    for path in sorted(RUNS.glob("*/results.json")):
        results = json.loads(path.read_text())
        if results.get("predictions"):
            break
    else:
        return ""
    cells, scores = [], []
    for task, table in results["predictions"].items():
        gold = [sum(row) for row in table["combined"]]
        best = max(range(len(gold)), key=gold.__getitem__)
        accuracy = 100 * gold[best] / sum(gold)
        # f1_accuracy tasks: the first label word is the positive class (spam)
        score = accuracy if results["primary_metric"][task] == "accuracy" else (
            (accuracy + (100 * 2 * gold[0] / (gold[0] + sum(gold)) if best == 0 else 0)) / 2)
        cells.append(f"{task} {score:.1f}")
        scores.append(score)
    return (f"Majority-label baseline on the same test examples: {', '.join(cells)}; "
            f"average {sum(scores) / len(scores):.1f}.\n")
