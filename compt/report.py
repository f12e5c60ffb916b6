"""Paper tables from runs: seeds of one configuration grouped, mean ± sample std per task.

Everything here is a pure function over index summaries (docs/CONTRACTS.md), so the CLI,
the TUI and the tests share one implementation; ``compt.export`` renders the results.
Runs are grouped by ``config_key`` (the config without its seeds), never by their row
label alone, so two different configurations are never silently averaged together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from compt.config import META_KEYS, METHODS, SEED_KEYS
from compt.config import differing_keys as config_differing_keys
from compt.errors import ComptError

AVERAGE = "avg"
DEFAULT_ROWS = ("method", "k")
VALUES = ("last", "best")
# Summary keys that describe what a run computes (plus every key under ``hparams``).
SUMMARY_CONFIG_KEYS = ("method", "model", "tasks", "k", "n_sources")
# Config keys that never tell two configurations apart (descriptive, or the seeds).
NOT_IDENTITY = META_KEYS + SEED_KEYS
METHOD_ORDER = METHODS  # the registry's order: pt, the baselines, the compositions
_MISSING = object()

# An index summary (compt.store.Summary) seen as a read-only mapping: views look fields up by
# name (row keys come from the user) and tolerate absent ones, so partial summaries work too.
Summary = Mapping[str, Any]
ConfigLookup = Callable[[Summary], dict[str, Any]]


# -- reading one summary ----------------------------------------------------------------


def lookup(summary: Summary, key: str, default: Any = None) -> Any:
    """A summary's value for ``key``: a top-level field, else one under ``hparams``."""
    if key in summary:
        return summary[key]
    return (summary.get("hparams") or {}).get(key, default)


def has_key(summary: Summary, key: str) -> bool:
    return lookup(summary, key, _MISSING) is not _MISSING


def known_keys(summaries: Iterable[Summary]) -> list[str]:
    keys: dict[str, None] = {}
    for summary in summaries:
        keys.update(dict.fromkeys(k for k in summary if k != "hparams"))
        keys.update(dict.fromkeys(summary.get("hparams") or {}))
    return sorted(keys)


def label_text(value: Any) -> str:
    """How a config value reads in a row label: lists joined with '+', floats short."""
    if value is None:
        return "–"
    if isinstance(value, list | tuple):
        return "+".join(label_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def tasks_short(tasks: Sequence[str]) -> str:
    """A run's tasks in one short cell: the first and how many more (``sent_movies+2``)."""
    if not tasks:
        return "-"
    return tasks[0] if len(tasks) == 1 else f"{tasks[0]}+{len(tasks) - 1}"


def run_scores(
    summary: Summary, value: str = "last"
) -> tuple[dict[str, float], float | None, bool]:
    """The per-task scores and average a run contributes, and whether ``best`` fell back.

    ``best`` reads ``best_scores`` / ``best_average`` (dev-selected checkpoint) where the
    run has them and the final scores otherwise.
    """
    if value not in VALUES:
        raise ComptError(f"--value must be one of {', '.join(VALUES)}, got '{value}'.")
    fell_back = False
    scores, average = summary.get("scores"), summary.get("average")
    if value == "best":
        if summary.get("best_scores"):
            scores, average = summary["best_scores"], summary.get("best_average")
        else:
            fell_back = True
    scores = {t: float(s) for t, s in (scores or {}).items() if _is_number(s)}
    if not _is_number(average):
        average = math.fsum(scores.values()) / len(scores) if scores else None
    return scores, (float(average) if average is not None else None), fell_back


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def eval_size_note(summaries: Iterable[Summary]) -> list[str]:
    """How many test examples per task the scores rest on (config ``eval_size``), so that
    they are not compared unknowingly with an analysis on fewer examples."""
    sizes = {(s.get("hparams") or {}).get("eval_size", "?") for s in summaries}
    sizes.discard("?")  # summaries written before the key existed
    if not sizes:
        return []
    shown = "/".join(sorted("all" if n is None else str(n) for n in sizes))
    differs = " (eval_size differs between runs)" if len(sizes) > 1 else ""
    return [f"Scores on {shown} test examples per task{differs}."]


def run_order(summaries: Iterable[Summary]) -> list[Summary]:
    """Oldest first (then by id): the order every view lists runs and first-seen tasks in."""
    return sorted(summaries, key=lambda s: (str(s.get("created") or ""), str(s.get("run_id"))))


def task_order(summaries: Iterable[Summary]) -> list[str]:
    """Tasks in first-seen order over the runs (each run's own task order)."""
    seen: dict[str, None] = {}
    for summary in summaries:
        seen.update(dict.fromkeys(summary.get("tasks") or []))
        seen.update(dict.fromkeys(summary.get("scores") or {}))
    return list(seen)


def group_by_config(summaries: Iterable[Summary]) -> dict[str, list[Summary]]:
    """Runs sharing a ``config_key`` are seeds of one configuration (insertion ordered)."""
    groups: dict[str, list[Summary]] = {}
    for summary in summaries:
        key = summary.get("config_key") or summary.get("fingerprint") or summary.get("run_id")
        groups.setdefault(str(key), []).append(summary)
    return groups


def seed_of(summary: Summary) -> tuple[Any, Any]:
    data_seed = summary.get("data_seed")
    return summary.get("seed"), summary.get("seed") if data_seed is None else data_seed


def seed_label(summary: Summary) -> str:
    seed, data_seed = seed_of(summary)
    return f"seed {seed}" if data_seed == seed else f"seed {seed}/data {data_seed}"


# -- telling configurations apart --------------------------------------------------------


def identity(summary: Summary) -> dict[str, Any]:
    """The configuration keys a summary carries (no seeds, no descriptive keys)."""
    ident = {k: summary[k] for k in SUMMARY_CONFIG_KEYS if k in summary}
    ident.update(summary.get("hparams") or {})
    return ident


def differing_keys(configs: Sequence[dict[str, Any]]) -> list[str]:
    """Identity keys (sorted) on which the configs disagree."""
    return sorted(k for k in config_differing_keys(list(configs)) if k not in NOT_IDENTITY)


def variant_labels(
    groups: Sequence[list[Summary]], config_of: ConfigLookup | None = None
) -> list[str]:
    """Short ``key=value`` labels that tell apart configurations sharing one row label.

    The summaries' own keys are tried first; where they cannot tell every group apart,
    each group's full config (``config_of``, e.g. read from config.json) is consulted;
    as a last resort the config key itself is shown.
    """
    if len(groups) < 2:
        return [""] * len(groups)
    for describe in (identity, config_of):
        if describe is None:
            continue
        configs = [describe(g[0]) or {} for g in groups]
        keys = differing_keys(configs)
        labels = [" ".join(f"{k}={label_text(c.get(k))}" for k in keys) for c in configs]
        if keys and len(set(labels)) == len(labels):
            return labels
    return [f"config={str(g[0].get('config_key', '?'))[:8]}" for g in groups]


@dataclass
class Configuration:
    """The runs (seeds) of one configuration, with the labels that name it."""

    key: str
    names: tuple[str, ...]  # the label keys, e.g. ("method", "k")
    labels: tuple[str, ...]
    variant: str  # what tells it apart from configurations sharing ``labels``; often ""
    runs: list[Summary]

    def title(self) -> str:
        """A heading: the labels and variant, or the run id for a single run."""
        parts = [v if n == "method" else f"{n}={v}" for n, v in zip(self.names, self.labels,
                                                                     strict=True)]
        text = " ".join([*parts, self.variant]).strip()
        return f"{text} ({self.runs[0].get('run_id')})" if len(self.runs) == 1 else text


def _sort_key(text: str) -> tuple:
    if text in METHOD_ORDER:
        return (0, METHOD_ORDER.index(text), "")
    try:
        return (1, float(text), "")
    except ValueError:
        return (2, 0.0, text)


def labelled_groups(
    summaries: Iterable[Summary],
    rows: Sequence[str] = DEFAULT_ROWS,
    config_of: ConfigLookup | None = None,
    pool: bool = False,
) -> list[Configuration]:
    """Configurations in table order (pt first, numbers numerically), each labelled by ``rows``.

    ``pool``: one configuration per label, the runs of every configuration under it
    counted as its seeds (e.g. the same grid trained partly on a GPU, partly on a CPU,
    whose identities differ in ``compute``)."""
    by_label: dict[tuple[str, ...], list[list[Summary]]] = {}
    for group in group_by_config(summaries).values():
        label = tuple(label_text(lookup(group[0], k)) for k in rows)
        by_label.setdefault(label, []).append(group)
    out = []
    for label in sorted(by_label, key=lambda lab: tuple(_sort_key(t) for t in lab)):
        groups = by_label[label]
        if pool:
            groups = [[s for g in groups for s in g]]
        named = zip(groups, variant_labels(groups, config_of), strict=True)
        for group, variant in sorted(named, key=lambda gv: gv[1]):
            key = str(group[0].get("config_key"))
            out.append(Configuration(key, tuple(rows), label, variant, group))
    return out


# -- the table ---------------------------------------------------------------------------


@dataclass
class Cell:
    """One task's scores over the seeds of a configuration."""

    values: list[float]
    mean: float | None
    std: float | None  # sample std (ddof=1); None below two values
    rank: int | None = None  # 1 = best in its column, 2 = second

    @property
    def n(self) -> int:
        return len(self.values)


def make_cell(values: Sequence[float]) -> Cell:
    values = list(values)
    n = len(values)
    if not n:
        return Cell([], None, None)
    mean = math.fsum(values) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return Cell(values, mean, std)


@dataclass
class Row:
    """One configuration: its label, its runs and a cell per column."""

    labels: tuple[str, ...]
    config_key: str
    run_ids: list[str]
    cells: dict[str, Cell]

    @property
    def n_runs(self) -> int:
        return len(self.run_ids)


@dataclass
class Table:
    """A paper table: rows are configurations, columns are tasks plus the average."""

    label_names: tuple[str, ...]
    columns: list[str]
    rows: list[Row]
    expected: int  # seeds a complete configuration has
    title: str = ""
    notes: list[str] = field(default_factory=list)
    digits: int = 1

    def short(self, row: Row) -> bool:
        return row.n_runs < self.expected


def mark_best(rows: Sequence[Row], columns: Iterable[str], digits: int = 1) -> None:
    """Rank each column: best (1) and second (2) by the mean as displayed (ties share).

    Nothing is marked in a column with fewer than two rows holding a value.
    """
    for column in columns:
        cells = (r.cells[column] for r in rows)
        shown = [(cell, round(cell.mean, digits)) for cell in cells if cell.mean is not None]
        top = sorted({mean for _, mean in shown}, reverse=True)[:2]
        places = {value: place for place, value in enumerate(top, 1)} if len(shown) > 1 else {}
        for cell, mean in shown:
            cell.rank = places.get(mean)


def build_table(
    summaries: Iterable[Summary],
    rows: Sequence[str] = DEFAULT_ROWS,
    value: str = "last",
    seeds: int | None = None,
    config_of: ConfigLookup | None = None,
    digits: int = 1,
    title: str = "",
    pool: bool = False,
) -> Table:
    """Group runs by configuration and aggregate each task over seeds.

    ``rows`` are the label keys (summary fields or hparams); configurations that share
    a label get a ``variant`` label naming what differs, unless ``pool`` makes them one
    row (labelled_groups). ``seeds`` is how many runs a complete configuration has
    (default: the most any configuration has).
    """
    ordered = run_order(summaries)
    if not ordered:
        raise ComptError("No runs to tabulate: the selection is empty.")
    rows = tuple(rows) or DEFAULT_ROWS
    unknown = [k for k in rows if not any(has_key(s, k) for s in ordered)]
    if unknown:
        raise ComptError(
            f"Unknown row key(s) {', '.join(unknown)} for --rows. "
            f"Keys the selected runs have: {', '.join(known_keys(ordered))}."
        )
    columns = [*task_order(ordered), AVERAGE]
    fallbacks = 0
    table_rows: list[Row] = []
    configs = labelled_groups(ordered, rows, config_of, pool)
    with_variant = any(c.variant for c in configs)
    for config in configs:
        per_column: dict[str, list[float]] = {c: [] for c in columns}
        for summary in config.runs:
            scores, average, fell_back = run_scores(summary, value)
            fallbacks += fell_back
            for task, score in scores.items():
                per_column[task].append(score)
            if average is not None:
                per_column[AVERAGE].append(average)
        cells = {c: make_cell(v) for c, v in per_column.items()}
        labels = (*config.labels, config.variant) if with_variant else config.labels
        table_rows.append(Row(labels, config.key, [s["run_id"] for s in config.runs], cells))
    label_names = (*rows, "variant") if with_variant else rows
    mark_best(table_rows, columns, digits)
    expected = seeds if seeds else max(r.n_runs for r in table_rows)
    notes = []
    short = next((r for r in table_rows if r.n_runs < expected), None)
    if short:
        notes.append(f"n={short.n_runs}/{expected} marks a configuration with fewer than "
                     f"{expected} seeds.")
    if fallbacks:
        notes.append(f"{fallbacks} run(s) have no best-checkpoint scores; their final scores "
                     "are used.")
    notes += eval_size_note(ordered)
    return Table(label_names, columns, table_rows, expected, title, notes, digits)


# -- paired comparison -------------------------------------------------------------------


@dataclass
class Pair:
    """One matched unit: the same seed (and match keys) and task on both sides."""

    unit: tuple[Any, ...]
    task: str
    value: float
    baseline: float

    @property
    def diff(self) -> float:
        return self.value - self.baseline


@dataclass
class Comparison:
    """A group against a baseline over matched (seed, task) pairs, with paired tests."""

    name: str
    baseline: str
    pairs: list[Pair]
    tasks: list[str]
    mean_diff: float | None
    t_stat: float | None
    t_p: float | None
    w_stat: float | None
    w_p: float | None
    unmatched: int = 0


def _by_unit(summaries: Sequence[Summary], match: Sequence[str], side: str) -> dict:
    units: dict[tuple, Summary] = {}
    for summary in summaries:
        unit = (*seed_of(summary), *(label_text(lookup(summary, k)) for k in match))
        if unit in units:
            raise ComptError(
                f"The {side} holds two runs for the same seed and {', '.join(match) or 'setting'} "
                f"({units[unit].get('run_id')} and {summary.get('run_id')}): they differ in "
                "something else. Narrow it with filters (e.g. --method, key=value) so each seed "
                "appears once."
            )
        units[unit] = summary
    return units


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def paired_comparison(
    runs: Sequence[Summary],
    baseline: Sequence[Summary],
    value: str = "last",
    match: Sequence[str] = ("k",),
    name: str = "group",
    baseline_name: str = "baseline",
) -> Comparison:
    """Mean difference, paired t-test and Wilcoxon signed-rank over matched pairs.

    Runs are matched on their seeds plus the ``match`` keys (k by default), then
    per task; tasks or seeds present on one side only are left out and counted.
    """
    from scipy import stats  # scipy is slow to import: only this view needs it

    ours, theirs = _by_unit(runs, match, "group"), _by_unit(baseline, match, "baseline")
    pairs: list[Pair] = []
    unmatched = len(set(ours) ^ set(theirs))
    for unit in sorted(set(ours) & set(theirs), key=repr):
        mine, base = run_scores(ours[unit], value)[0], run_scores(theirs[unit], value)[0]
        unmatched += len(set(mine) ^ set(base))
        pairs += [Pair(unit, t, mine[t], base[t]) for t in mine if t in base]
    if not pairs:
        raise ComptError(
            f"'{name}' and '{baseline_name}' share no (seed, task) pair to compare: check that "
            "both were run with the same seeds, tasks and k."
        )
    diffs = [p.diff for p in pairs]
    t_stat = t_p = w_stat = w_p = None
    if len(pairs) > 1 and any(d != diffs[0] for d in diffs):
        result = stats.ttest_rel([p.value for p in pairs], [p.baseline for p in pairs])
        t_stat, t_p = _finite(result.statistic), _finite(result.pvalue)
    if any(diffs):
        result = stats.wilcoxon([p.value for p in pairs], [p.baseline for p in pairs])
        w_stat, w_p = _finite(result.statistic), _finite(result.pvalue)
    tasks = list(dict.fromkeys(p.task for p in pairs))
    return Comparison(name, baseline_name, pairs, tasks, math.fsum(diffs) / len(diffs),
                      t_stat, t_p, w_stat, w_p, unmatched)
