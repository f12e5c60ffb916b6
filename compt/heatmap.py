"""Labelled matrices: per-prompt scores, router weights, prediction counts, transfer, seeds.

Each view of docs/method.md#analyses becomes a ``Matrix`` (row labels x column labels of numbers,
averaged over a configuration's seeds where there are several) that ``compt.export``
renders as a coloured heatmap with the numbers printed, or as markdown/csv/latex/json.
Builders take plain ``results.json`` dicts and index summaries, so they are easy to test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compt.errors import ComptError
from compt.report import (
    AVERAGE,
    REFERENCE_NOTE,
    Cell,
    Comparison,
    Summary,
    eval_size_note,
    make_cell,
    reference_cells,
    run_order,
    run_scores,
    seed_label,
    task_order,
)
from compt.stats import ALPHA, POWER, PairedTest

if TYPE_CHECKING:
    from compt.references import ReferenceSet

Grid = dict[str, dict[str, float]]  # row label -> column label -> value


@dataclass
class Matrix:
    """Numbers under row and column labels; the last ``footer`` rows summarise the rest."""

    title: str
    corner: str  # header above the row labels
    rows: list[str]
    columns: list[str]
    values: list[list[float | None]]
    std: list[list[float | None]] | None = None  # over seeds, where averaged
    runs: int = 1  # how many runs were averaged
    footer: int = 0
    digits: int = 1
    column_digits: dict[str, int] = field(default_factory=dict)  # per-column overrides
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # machine-readable, json only
    coloured: bool = True

    def digits_for(self, column: str) -> int:
        return self.column_digits.get(column, self.digits)

    @property
    def body(self) -> list[list[float | None]]:
        return self.values[: len(self.values) - self.footer]

    def shade(self, value: float | None) -> float | None:
        """Where ``value`` sits between the body's smallest and largest number (0..1)."""
        numbers = [v for row in self.body for v in row if v is not None]
        if value is None or not numbers:
            return None
        lo, hi = min(numbers), max(numbers)
        return 0.5 if hi == lo else min(1.0, max(0.0, (value - lo) / (hi - lo)))


def averaged(runs: int) -> list[str]:
    return [f"Mean of {runs} runs."] if runs > 1 else []


def average_grids(
    grids: Sequence[Grid], rows: Sequence[str], columns: Sequence[str]
) -> tuple[list[list[float | None]], list[list[float | None]]]:
    """Cell-wise mean and sample std over runs (a cell a run lacks is left out)."""
    means, stds = [], []
    for r in rows:
        cells = [make_cell([g[r][c] for g in grids if c in g.get(r, {})]) for c in columns]
        means.append([cell.mean for cell in cells])
        stds.append([cell.std for cell in cells])
    return means, stds


def column_cells(values: Sequence[Sequence[float | None]]) -> list[Cell]:
    """Mean and std down each column of a matrix (missing numbers left out)."""
    return [make_cell([v for v in column if v is not None])
            for column in zip(*values, strict=True)]


def _union(lists: Sequence[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(x for items in lists for x in items))


def _need(results: Sequence[dict], key: str, what: str, title: str) -> list[dict]:
    found = [r[key] for r in results if r and r.get(key)]
    if not found:
        raise ComptError(
            f"{title or 'The selection'} has no {what} in its results.json. It is written by "
            "training when analysis is on (config key 'analysis'); plain prompt tuning (pt) has "
            "no sources, so no per-prompt scores or router."
        )
    return found


# -- sources across seeds -----------------------------------------------------------------
# Source i of one seed is not source i of another: each seed starts its sources from other
# random values. Before averaging, each run's sources are matched to the first run's by
# their router-weight profiles (the weight every task gives them), one-to-one with the
# Hungarian method; where the router cannot tell sources apart (a constant router, or no
# router recorded), the CLI shows each seed on its own instead (``per_seed_matrices``).

ALIGNED = "Sources aligned across seeds by router-weight profile (linear_sum_assignment): " \
    "src_i is the first run's source i and its match in each other run."
NOT_ALIGNED = "Sources NOT aligned across seeds (the router cannot tell them apart): " \
    "averaging src_i by index mixes unrelated prompts; see each seed with --sources per-seed."


def _profiles(router: dict, tasks: Sequence[str]) -> list[list[float]]:
    """Sources x tasks: the softmax weight each task gives each source."""
    rows = dict(zip(router["tasks"], router["weights"], strict=False))
    return [[rows[t][i] if t in rows else 0.0 for t in tasks]
            for i in range(len(router["sources"]))]


def source_alignment(routers: Sequence[dict | None]) -> list[list[int]] | None:
    """For each run, ``order[j]``: the index of its source that matches the first run's
    source j. ``None`` when that cannot be told: a run without a router, different source
    counts, or a first run whose sources all have the same profile (a constant router)."""
    present = [r for r in routers if r and r.get("weights")]
    if not present or len(present) < len(routers):
        return None
    if len({len(r["sources"]) for r in present}) > 1:
        return None
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    tasks = list(present[0]["tasks"])
    reference = np.array(_profiles(present[0], tasks))
    if np.ptp(reference, axis=0).max() < 1e-6:
        return None
    orders = []
    for router in present:
        profile = np.array(_profiles(router, tasks))
        cost = ((reference[:, None, :] - profile[None, :, :]) ** 2).sum(axis=-1)
        _, order = linear_sum_assignment(cost)
        orders.append([int(i) for i in order])
    return orders


def _reorder(names: Sequence[str], order: Sequence[int], ref: Sequence[str]) -> dict[str, str]:
    """Column renames for one run: its source ``order[j]`` becomes the reference's source j."""
    return {names[i]: ref[j] for j, i in enumerate(order)}


def per_prompt_matrix(results: Sequence[dict], title: str = "") -> Matrix:
    """Per-prompt scores (docs/method.md#analyses): tasks x prompts, plus a mean row; over
    several seeds the sources are aligned first where the router allows it."""
    runs = [r for r in results if r and r.get("per_prompt")]
    found = _need(results, "per_prompt", "per-prompt scores", title)
    grids: list[Grid] = [p["scores"] for p in found]
    notes = averaged(len(found))
    alignment = source_alignment([r.get("router") for r in runs]) if len(runs) > 1 else None
    extra: dict[str, Any] = {}
    if alignment:
        ref = runs[0]["router"]["sources"]
        renames = [_reorder(r["router"]["sources"], o, ref) for r, o in zip(runs, alignment)]
        grids = [{t: {renames[i].get(c, c): v for c, v in row.items()} for t, row in g.items()}
                 for i, g in enumerate(grids)]
        notes.append(ALIGNED)
        extra["source_alignment"] = alignment
    elif len(found) > 1:
        notes.append(NOT_ALIGNED)
    columns = _union([p["columns"] for p in found])
    tasks = _union([list(g) for g in grids])
    values, std = average_grids(grids, tasks, columns)
    means = [cell.mean for cell in column_cells(values)]
    notes += _eval_size_note(found, runs)
    return Matrix(title, "task", [*tasks, "mean"], columns, [*values, means],
                  [*std, [None] * len(columns)], runs=len(found), footer=1,
                  notes=notes, extra=extra)


def _eval_size_note(found: Sequence[dict], runs: Sequence[dict]) -> list[str]:
    """Say on how many test examples the per-prompt scores are, when the run's own score
    used another number (then 'total' differs from the run's score)."""
    sizes = {n for p in found for n in (p.get("eval_size") or {}).values()}
    scored = {n for r in runs for n in (r.get("eval_size") or {}).values()}
    if not sizes:
        return []
    shown = "/".join(str(n) for n in sorted(sizes))
    note = f"Per-prompt scores on {shown} test examples per task"
    if scored and scored != sizes:
        note += (f"; the run's own scores use {'/'.join(str(n) for n in sorted(scored))} "
                 "(config analysis_eval_size vs eval_size), so 'total' can differ from them")
    return [note + "."]


def per_seed_matrices(results: Sequence[dict], labels: Sequence[str], title: str = "",
                      view: str = "heatmap") -> list[Matrix]:
    """One matrix per run (no averaging): for sources that cannot be aligned across seeds."""
    out = []
    for result, label in zip(results, labels, strict=True):
        name = f"{title}, {label}" if title else label
        try:
            out += ([per_prompt_matrix([result], name)] if view == "heatmap"
                    else router_matrices([result], name))
        except ComptError:
            continue
    for m in out:
        m.notes.append("Each seed on its own: sources are not comparable across seeds.")
    return out


def router_matrices(results: Sequence[dict], title: str = "") -> list[Matrix]:
    """Router logits and softmax weights (tasks x sources), averaged over seeds after
    aligning the sources where the weights tell them apart."""
    found = _need(results, "router", "router weights", title)
    tasks = _union([r["tasks"] for r in found])
    alignment = source_alignment(found) if len(found) > 1 else None
    if alignment:
        ref = found[0]["sources"]
        found = [{**r, "sources": [ref[j] for j in range(len(o))],
                  **{key: [[row[i] for i in o] for row in r[key]] for key in ("weights", "logits")}}
                 for r, o in zip(found, alignment)]
    sources = _union([r["sources"] for r in found])
    out = []
    for key, name in (("weights", "router weights (softmax)"), ("logits", "router logits")):
        grids = [{t: dict(zip(r["sources"], row, strict=False))
                  for t, row in zip(r["tasks"], r[key], strict=False)} for r in found]
        values, std = average_grids(grids, tasks, sources)
        label = f"{title}: {name}" if title else name
        notes = averaged(len(found))
        if len(found) > 1:
            notes.append(ALIGNED if alignment else NOT_ALIGNED)
        out.append(Matrix(label, "task", tasks, sources, values, std, runs=len(found),
                          digits=3 if key == "weights" else 2, notes=notes,
                          extra={"source_alignment": alignment} if alignment else {}))
    if len(found) > 1:
        out[0].notes.append("Weights are the mean of each run's softmax weights.")
    return out


PREDICTION_VARIANTS = ("combined", "source", "private")


def prediction_matrices(
    results: dict,
    tasks: Sequence[str] | None = None,
    variants: Sequence[str] = PREDICTION_VARIANTS,
    title: str = "",
) -> list[Matrix]:
    """Gold x predicted label counts per task and per prompt variant the run recorded."""
    predictions = (results or {}).get("predictions") or {}
    if not predictions:
        raise ComptError(f"{title or 'The run'} has no prediction tables in its results.json.")
    unknown = [t for t in tasks or [] if t not in predictions]
    if unknown:
        raise ComptError(
            f"No predictions for task(s) {', '.join(unknown)}; this run has "
            f"{', '.join(predictions)}."
        )
    out = []
    for task in tasks or list(predictions):
        table = predictions[task]
        labels = list(table["labels"])
        for variant in variants:
            counts = table.get(variant)
            if not counts:
                continue
            total = sum(sum(row) for row in counts)
            correct = sum(counts[i][i] for i in range(min(len(counts), len(labels))))
            accuracy = 100.0 * correct / total if total else 0.0
            # greedy decoding adds a last column for outputs that are no label word
            predicted = labels + ["invalid"] * (len(counts[0]) - len(labels))
            out.append(Matrix(
                f"{task} ({variant})", "gold \\ pred", labels, predicted,
                [[float(c) for c in row] for row in counts], digits=0,
                notes=[f"{correct} of {total} correct ({accuracy:.1f}%)."],
                extra={"task": task, "variant": variant, "accuracy": accuracy},
            ))
    return out


def transfer_matrix(transfers: Sequence[dict], title: str = "") -> Matrix:
    """Fig. A1: rows are the task whose prompt is used, columns the test set scored."""
    found = [t for t in transfers if t and t.get("tasks")]
    if not found:
        raise ComptError(
            f"{title or 'The selection'} has no transfer matrix (transfer.json): compute it "
            "with `compt analyze RUN` on a finished run."
        )
    tasks = _union([t["tasks"] for t in found])
    grids = [{a: dict(zip(t["tasks"], row, strict=False))
              for a, row in zip(t["tasks"], t["scores"], strict=False)} for t in found]
    values, std = average_grids(grids, tasks, tasks)
    return Matrix(title or "cross-task transfer", "prompt \\ test", tasks, tasks, values, std,
                  runs=len(found),
                  notes=["Row: the task whose target prompt is used; column: the test set.",
                         *averaged(len(found)), *_transfer_size(found)])


def _transfer_size(found: Sequence[dict]) -> list[str]:
    sizes = sorted({t["eval_size"] for t in found if t.get("eval_size")})
    return [f"Scores on {'/'.join(map(str, sizes))} test examples per task."] if sizes else []


def seeds_matrix(summaries: Sequence[Summary], value: str = "last", title: str = "") -> Matrix:
    """One configuration's runs side by side (a row per seed) with mean, std and range."""
    runs = run_order(summaries)
    columns = [*task_order(runs), AVERAGE]
    labels = [seed_label(s) for s in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{lab} ({s.get('run_id')})" for lab, s in zip(labels, runs, strict=True)]
    values = []
    for summary in runs:
        scores, average, _ = run_scores(summary, value)
        values.append([average if c == AVERAGE else scores.get(c) for c in columns])
    cells = column_cells(values)
    spread = [max(c.values) - min(c.values) if c.values else None for c in cells]
    return Matrix(title, "run", [*labels, "mean", "std", "range"], columns,
                  [*values, [c.mean for c in cells], [c.std for c in cells], spread],
                  runs=len(runs), footer=3, coloured=False, notes=eval_size_note(runs),
                  extra={"run_ids": [s.get("run_id") for s in runs]})


def _mean(values: Sequence[float]) -> float:
    """The mean of a list known to be non-empty (each of a comparison's tasks has a pair)."""
    return math.fsum(values) / len(values)


def comparison_matrix(comparison: Comparison, digits: int = 1) -> Matrix:
    """Per-task and per-seed means of the matched pairs on both sides, difference and count.

    The seed rows are the units of the primary test (stats_matrix): each seed's averages
    over the tasks both of its runs scored."""
    c = comparison
    rows: list[str] = []
    values: list[list[float | None]] = []
    for task in c.tasks:
        pairs = [p for p in c.pairs if p.task == task]
        ours, base = _mean([p.value for p in pairs]), _mean([p.baseline for p in pairs])
        rows.append(task)
        values.append([ours, base, ours - base, float(len(pairs))])
    for seed in c.seeds:
        rows.append(c.unit_label(seed.unit))
        values.append([seed.value, seed.baseline, seed.diff, float(seed.tasks)])
    ours, base = _mean([p.value for p in c.pairs]), _mean([p.baseline for p in c.pairs])
    rows.append("all pairs")
    values.append([ours, base, ours - base, float(len(c.pairs))])
    notes = [f"{len(c.seeds)} seed(s) x {len(c.tasks)} task(s): {len(c.pairs)} matched "
             f"(seed, task) pairs; a seed's row averages its matched tasks."]
    if c.unmatched:
        notes.append(f"{c.unmatched} (seed or task) entries had no partner and were left out.")
    return Matrix(f"{c.name} vs {c.baseline}", "task", rows,
                  [c.name, c.baseline, "diff", "pairs"], values, footer=len(c.seeds) + 1,
                  digits=digits, column_digits={"pairs": 0}, notes=notes, coloured=False)


P_DIGITS = 4
SIGNIFICANT = 0.05


def stats_matrix(comparisons: Sequence[Comparison], digits: int = 1) -> Matrix:
    """The paired tests of comparisons against one baseline: per seed (primary, with Holm's
    correction and the power) and per (seed, task) pair (secondary), with what they mean."""
    effect = comparisons[0].effect
    seeds_for = f"seeds for {effect:g}"
    columns = ["pairs", "diff", "sd", "t", "p", "p Holm", "Wilcoxon p", "MDE 80%", seeds_for]
    rows: list[str] = []
    values: list[list[float | None]] = []
    for c in comparisons:
        prefix = f"{c.name}: " if len(comparisons) > 1 else ""
        for label, test, primary in (("per seed", c.per_seed, True),
                                     ("seed x task", c.per_pair, False)):
            rows.append(prefix + label)
            values.append([float(test.n), test.mean, test.sd, test.t_stat, test.t_p,
                           c.p_holm if primary else None, test.w_p,
                           c.detectable if primary else None,
                           None if not primary or c.seeds_needed is None
                           else float(c.seeds_needed)])
    family = comparisons[0].family
    floors = sorted({c.per_seed.n for c in comparisons if c.per_seed.n > 1})
    notes = [
        "per seed (primary): one pair per seed, the two runs' averages over their matched "
        "tasks; p: paired t-test. Wilcoxon p is a check; its exact p is at least "
        + ", ".join(f"{2 / 2**n:.3g} with {n} seeds" for n in floors) + ".",
        "seed x task (secondary): every (seed, task) pair as if independent, which they are "
        "not (the tasks of one run share its seed, data sample and training): its p is "
        "optimistic.",
        f"p Holm: the per-seed p corrected by Holm's method over the {family} tests this "
        f"command makes (family-wise alpha {ALPHA})." if family > 1 else
        "p Holm = p: a single test, nothing to correct.",
        f"MDE 80%: the smallest true difference the per-seed t-test detects with "
        f"{POWER:.0%} power (alpha {ALPHA}, two-sided, paired; noncentral t at the sd of "
        f"the per-seed differences); {seeds_for}: the seeds a difference of {effect:g} "
        "points needs at that sd (–: undefined, fewer than two seeds or no spread).",
        *(_verdict(c, digits) for c in comparisons),
    ]
    extra = {"stats": [_stats_dict(c) for c in comparisons]}
    return Matrix(f"paired tests vs {comparisons[0].baseline}", "comparison", rows, columns,
                  values, digits=digits,
                  column_digits={"pairs": 0, "diff": 2, "sd": 2, "t": 3, "p": P_DIGITS,
                                 "p Holm": P_DIGITS, "Wilcoxon p": P_DIGITS, seeds_for: 0},
                  notes=notes, extra=extra, coloured=False)


def _verdict(c: Comparison, digits: int) -> str:
    """One plain sentence per comparison: a difference shown, or what could have been."""
    seeds = f"{c.per_seed.n} seed(s)"
    if c.p_holm is not None and c.p_holm < SIGNIFICANT:
        return (f"{c.name}: {c.per_seed.mean:+.{digits}f} points per seed over {seeds}, "
                f"p Holm = {c.p_holm:.2g}.")
    p = (f"p Holm = {c.p_holm:.2g}" if c.p_holm is not None else "no test with one seed"
         if c.per_seed.n < 2 else "no test: the differences do not vary")
    reach = (f"; {seeds} detect about {c.detectable:.{digits}f} points at 80 % power"
             if c.detectable is not None else "")
    return f"{c.name}: no difference shown ({c.per_seed.mean:+.{digits}f}, {p}){reach}."


def _significant(x: float | None) -> float | None:
    """Ten significant digits: exact for any report, stable across scipy builds (unlike
    the last bits of a root solve), and a tiny p stays a tiny p (no fixed decimals)."""
    return None if x is None else float(f"{x:.10g}")


def _test_dict(test: PairedTest) -> dict[str, Any]:
    numbers = {"mean_diff": test.mean, "sd": test.sd, "t_stat": test.t_stat, "t_p": test.t_p,
               "wilcoxon_stat": test.w_stat, "wilcoxon_p": test.w_p}
    return {"n": test.n, **{k: _significant(v) for k, v in numbers.items()}}


def _stats_dict(c: Comparison) -> dict[str, Any]:
    """Every number of a comparison, to ten significant digits, for json."""
    return {"name": c.name, "baseline": c.baseline,
            "per_seed": {**_test_dict(c.per_seed), "p_holm": _significant(c.p_holm),
                         "family": c.family},
            "seed_task": _test_dict(c.per_pair),
            "alpha": ALPHA, "power": POWER, "detectable_effect": _significant(c.detectable),
            "effect": c.effect, "seeds_needed": c.seeds_needed, "unmatched": c.unmatched}


# -- reference rows beside the per-seed and paired views (compt.references) --------------


def seeds_with_references(matrix: Matrix, sets: Sequence[ReferenceSet]) -> Matrix:
    """A configuration's per-seed matrix with each reference, on the data seeds of these
    very runs, as further footer rows (``ref <name>``)."""
    run_ids = list(matrix.extra.get("run_ids") or [])
    added = 0
    for refs in sets:
        if not set(run_ids) & set(refs.run_ids):
            continue
        for name, scores in refs.over(run_ids).items():
            cells = reference_cells(scores, matrix.columns)
            matrix.rows.append(f"ref {name}")
            matrix.values.append([cells[c].mean for c in matrix.columns])
            added += 1
    matrix.footer += added
    if added:
        matrix.notes.append(REFERENCE_NOTE)
    return matrix


def comparison_references(comparison: Comparison, sets: Sequence[ReferenceSet],
                          run_ids: Sequence[str], digits: int = 1) -> Matrix:
    """Both sides of a paired comparison beside the reference rows of the compared runs
    (``run_ids``: the group's), on the same matched (seed, task) pairs: per task, the means
    and each reference on the pairs' data seeds."""
    sets = [refs for refs in sets if set(run_ids) & set(refs.run_ids)]
    names = list(dict.fromkeys(n for refs in sets for n in refs.scores))
    scores = {n: {s: t for refs in sets for s, t in refs.scores.get(n, {}).items()}
              for n in names}
    rows, values, below = [], [], []
    for task in [*comparison.tasks, AVERAGE]:
        pairs = [p for p in comparison.pairs if task == AVERAGE or p.task == task]
        found_refs = [[scores[n][p.unit[1]][p.task] for p in pairs
                       if p.task in scores[n].get(p.unit[1], {})] for n in names]
        ref_means = [_mean(found) if found else None for found in found_refs]
        ours = _mean([p.value for p in pairs])
        rows.append("all pairs" if task == AVERAGE else task)
        values.append([ours, _mean([p.baseline for p in pairs]), *ref_means])
        found = [r for r in ref_means if r is not None]
        if found and round(ours, digits) <= round(max(found), digits):
            below.append(rows[-1])
    notes = [REFERENCE_NOTE]
    if below:
        notes.append(f"{comparison.name} does not beat the best reference on: "
                     f"{', '.join(below)}.")
    return Matrix(f"{comparison.name} and {comparison.baseline} beside the references", "task",
                  rows, [comparison.name, comparison.baseline, *(f"ref {n}" for n in names)],
                  values, footer=1, digits=digits, notes=notes,
                  extra={"below_reference": below}, coloured=False)
