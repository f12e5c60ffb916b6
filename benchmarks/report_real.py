"""docs/results_real.md from the real benchmark's run stores, with compt's own reports only.

Every table on the page is the markdown output of a ``compt`` command printed above it,
so each number can be re-derived from benchmarks/runs-real (MiniLM) and
benchmarks/runs-gemma (Gemma 3). Hand-written analysis below MARKER survives a rewrite.

Groups: ``real-<phase>-gpu`` come from the GPU campaign (``--group-suffix=-gpu``),
``real-<phase>-cpu`` from runs made on the 2-core CPU afterwards, ``real-<phase>`` (no
suffix) from the first, CPU-only measurement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from compt.stats import holm

MARKER = "<!-- analysis: kept when the benchmark rewrites this page -->"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "results_real.md"
RUNS = PAGE.parent.parent / "benchmarks" / "runs-real"
GEMMA = Path("benchmarks") / "runs-gemma"  # relative to the repository root (the cwd)


def core(method: str, k: int) -> str:
    """The main comparison's runs: ten seeds on the GPU (mcat: on the CPU, see the notes)."""
    return f"real-core-{'cpu' if method == 'mcat' else 'gpu'},method={method},k={k}"


PT8, SSUM8 = core("pt", 8), core("ssum", 8)
SENT10 = "real-sentiment-gpu,real-sentiment-cpu,method={}"  # seeds 0-4 GPU, 5-9 CPU
# (title, selectors of the compared runs, selectors of the baseline)
MAIN = [(f"k = {k}: {m} vs pt", core(m, k), core("pt", k))
        for k in (8, 16) for m in ("ssum", "msum", "mcat")]
ABLATIONS = [
    ("1 source: ssum vs pt", "real-abl-sources-gpu,n_sources=1", PT8),
    ("1 source vs 3 sources, ssum", "real-abl-sources-gpu,n_sources=1", SSUM8),
    ("2 sources: ssum vs pt", "real-abl-sources-gpu,n_sources=2", PT8),
    ("private encoder off: ssum vs pt", "real-abl-private-encoder-gpu", PT8),
    ("private encoder off vs on, ssum", "real-abl-private-encoder-gpu", SSUM8),
    ("product_norm=matched: msum vs pt", "real-abl-product-matched-gpu,method=msum", PT8),
    ("pool_prompt=false: ssum vs pt, both pooling the input only",
     "real-abl-pool-inputs-gpu,method=ssum", "real-abl-pool-inputs-gpu,method=pt"),
    ("pool_prompt=false vs default, pt", "real-abl-pool-inputs-gpu,method=pt", PT8),
    ("pool_prompt=false vs default, ssum", "real-abl-pool-inputs-gpu,method=ssum", SSUM8),
    ("learning rates / 10: ssum vs pt, both at lr / 10",
     "real-abl-lr-tenth-gpu,method=ssum", "real-abl-lr-tenth-gpu,method=pt"),
    ("learning rates / 10 vs default, pt", "real-abl-lr-tenth-gpu,method=pt", PT8),
    ("learning rates / 10 vs default, ssum", "real-abl-lr-tenth-gpu,method=ssum", SSUM8),
    ("learning rates / 10, ssum vs default pt", "real-abl-lr-tenth-gpu,method=ssum", PT8),
    ("learning rates / 100: ssum vs pt, both at lr / 100",
     "real-abl-lr-hundredth-gpu,method=ssum", "real-abl-lr-hundredth-gpu,method=pt"),
    ("paper schedule (50 epochs, doubled): ssum vs pt",
     "real-paper-schedule-gpu,method=ssum", "real-paper-schedule-gpu,method=pt"),
    ("paper schedule vs short, pt", "real-paper-schedule-gpu,method=pt", PT8),
    ("sentiment suite (5 related tasks): ssum vs pt",
     "real-sentiment-gpu,method=ssum", "real-sentiment-gpu,method=pt"),
    ("sentiment suite, seeds 5-9 (CPU): ssum vs pt", "real-sentiment-cpu,method=ssum",
     "real-sentiment-cpu,method=pt"),
    ("sentiment suite, all ten seeds: ssum vs pt", SENT10.format("ssum"), SENT10.format("pt")),
    ("sentiment suite: multi-task PT (CPU) vs pt", "real-sentiment-mtpt-cpu",
     "real-sentiment-gpu,method=pt"),
    ("sentiment suite: ssum vs multi-task PT (CPU)", "real-sentiment-gpu,method=ssum",
     "real-sentiment-mtpt-cpu"),
    ("sentiment suite at learning rates / 10 (CPU): ssum vs pt",
     "real-sentiment-lr-tenth-cpu,method=ssum", "real-sentiment-lr-tenth-cpu,method=pt"),
    ("sentiment suite, 1 source (CPU): ssum vs pt", "real-sentiment-1src-cpu",
     "real-sentiment-gpu,method=pt"),
    ("sentiment suite, 1 source vs 3 sources, ssum", "real-sentiment-1src-cpu",
     "real-sentiment-gpu,method=ssum"),
    ("device: pt on the CPU (fp32) vs on the GPU (bf16), seeds 0-4", "real-core8,method=pt",
     PT8),
]
# the first, CPU-only measurement (2-core machine, fp32, five seeds): kept for the record
CPU = [
    ("ssum vs pt", "real-core8,method=ssum", "real-core8,method=pt"),
    ("ssum, router=constant vs pt", "real-abl-router-constant", "real-core8,method=pt"),
    ("ssum, source_init=embedding vs pt", "real-abl-src-embedding", "real-core8,method=pt"),
    ("ssum, source_init=zero vs pt (3 seeds)", "real-abl-src-zero", "real-core8,method=pt"),
    ("mcat, product_norm=matched vs pt", "real-abl-product-matched,method=mcat",
     "real-core8,method=pt"),
]
GEMMA_COMPARISONS = [
    ("short schedule (80 steps): ssum vs pt", "gemma-short-gpu,method=ssum",
     "gemma-short-gpu,method=pt"),
    ("paper schedule (200 steps): ssum vs pt", "gemma-paper-gpu,method=ssum",
     "gemma-paper-gpu,method=pt"),
    ("paper vs short schedule, pt", "gemma-paper-gpu,method=pt", "gemma-short-gpu,method=pt"),
    ("short schedule: msum vs pt", "gemma-short-product-gpu,method=msum",
     "gemma-short-gpu,method=pt"),
    ("short schedule: mcat vs pt", "gemma-short-product-gpu,method=mcat",
     "gemma-short-gpu,method=pt"),
]


def render(compt: Callable[..., str], header: str) -> str:
    """The page: generated tables (each under the command that made it), then the notes."""
    parts = ["# Real text: composed prompts vs plain prompt tuning, and why\n", header + "\n"]

    def section(title: str, *args: str) -> None:
        out = compt(*args, "--format", "markdown", check=False).strip()
        if out and "error" not in out.lower()[:20]:
            parts.append(f"### {title}\n\n`compt {' '.join(args)}`\n\n{out}\n")

    parts.append("## MiniLM (sentence encoder), `real_core`\n")
    parts.append(summary(compt, "Main comparison: k = 8 and 16, ten seeds", MAIN))
    parts.append(summary(compt, "Diagnosis: one change at a time, k = 8, five seeds",
                         ABLATIONS))
    section("All core runs (rows: method, k)", "table", "real-core-gpu", "real-core-cpu")
    parts.append(majority_baseline())
    detailed = MAIN[:3] + [a for a in ABLATIONS if a[0].startswith(("sentiment suite, all",
                                                                    "sentiment suite at"))]
    for title, runs, baseline in detailed:
        section(f"Paired: {title}", "compare", runs, "--baseline", baseline)
    groups = sorted({a.split(",")[0] for _, a, _ in ABLATIONS[:-1]
                     if not a.startswith("real-sentiment")})
    section("Every ablation run (rows: method, k; variant = what differs)", "table", *groups,
            "--rows", "method,k")
    section("The sentiment suite (`real_sentiment`: mr, rt, tweets, products, editorials)",
            "table", "real-sentiment-gpu", "real-sentiment-cpu", "real-sentiment-mtpt-cpu",
            "real-sentiment-lr-tenth-cpu", "real-sentiment-1src-cpu", "--rows", "method,k")
    section("Per-prompt scores, ssum (seed 0, k = 8, analysis on)", "heatmap",
            "real-analysis-gpu")
    section("Router weights, ssum (k = 8, ten seeds averaged)", "router", SSUM8)
    parts.append(summary(compt, "The first measurement, CPU only (for the record)", CPU))
    parts.append("## Gemma 3 270M (causal LM), `mr`, `tweets`, `sms_spam`\n")
    parts.append(summary(compt, "Paired comparisons", GEMMA_COMPARISONS, GEMMA))
    section("All Gemma runs on the GPU", "table", "gemma-short-gpu", "gemma-paper-gpu",
            "gemma-short-product-gpu", "--rows", "method,k", "--runs-dir", str(GEMMA))
    notes = ""
    if PAGE.is_file() and MARKER in PAGE.read_text():
        notes = MARKER + PAGE.read_text().split(MARKER, 1)[1]
    return "\n".join(parts) + "\n" + (notes or MARKER + "\n")


def summary(compt: Callable[..., str], title: str, comparisons: list[tuple[str, str, str]],
            runs_dir: Path = RUNS) -> str:
    """One line per paired comparison: what, seeds, mean difference, per-seed p and its
    Holm correction over the table's lines, the detectable effect, and the optimistic
    (seed, task) p beside it."""
    lines = [f"### {title}\n",
             "Each line is `compt compare RUNS --baseline BASELINE --pool`: the test pairs each "
             "seed's run averages (the (seed, task) pairs of one run are not independent; their "
             "p is shown for the record). p Holm: corrected over this table's lines. The "
             "difference is in points of the task's primary score; MDE: the difference the "
             "seeds detect at 80 % power.\n",
             "| comparison | runs | baseline | seeds | mean difference | t-test p | p Holm | "
             "MDE 80 % | (seed, task) pairs | pairs t-test p |",
             "|---|---|---|--:|--:|--:|--:|--:|--:|--:|"]
    found: list[tuple[str, str, str, dict | None]] = []
    for name, runs, baseline in comparisons:
        out = compt("compare", runs, "--baseline", baseline, "--pool", "--format", "json",
                    "--runs-dir", str(runs_dir), check=False)
        try:
            found.append((name, runs, baseline, json.loads(out)[-1]["extra"]["stats"][0]))
        except (ValueError, KeyError, TypeError, IndexError):
            found.append((name, runs, baseline, None))
    adjusted = holm([s["per_seed"]["t_p"] if s else None for *_, s in found])
    for (name, runs, baseline, stats), p_holm in zip(found, adjusted, strict=True):
        if stats is None:
            lines.append(f"| {name} | `{runs}` | `{baseline}` | 0 | not run | – | – | – | – | – |")
            continue
        seed, pairs, mde = stats["per_seed"], stats["seed_task"], stats["detectable_effect"]
        lines.append(f"| {name} | `{runs}` | `{baseline}` | {seed['n']} | "
                     f"{seed['mean_diff']:+.2f} | {_p(seed['t_p'])} | {_p(p_holm)} | "
                     f"{'–' if mde is None else f'{mde:.1f}'} | {pairs['n']} | "
                     f"{_p(pairs['t_p'])} |")
    return "\n".join(lines) + "\n"


def _p(value: float | None) -> str:
    return "–" if value is None else "< 0.001" if value < 0.001 else f"{value:.3f}"


def majority_baseline() -> str:
    """Always answering a task's most frequent test label, scored like the runs (the gold
    counts come from a finished run's prediction table: every run uses the same test set)."""
    for path in sorted(RUNS.glob("*/results.json")):
        results = json.loads(path.read_text())
        if results.get("predictions") and "mr" in results["predictions"]:
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
