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
from typing import TYPE_CHECKING, Any

from compt.config import META_KEYS, METHODS, SEED_KEYS
from compt.config import differing_keys as config_differing_keys
from compt.errors import ComptError
from compt.stats import DEFAULT_EFFECT, PairedTest

if TYPE_CHECKING:
    from compt.references import ReferenceSet

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


def data_caveats(results: Mapping[str, Any]) -> list[str]:
    """The caveats of a run's data: stand-in test sets, few-shot samples that lack a class."""
    lines = []
    for task, record in (results.get("data") or {}).items():
        if record.get("note"):
            lines.append(f"{task}: {record['note']}")
        if record.get("missing_classes"):
            lines.append(f"{task}: the few-shot sample lacks the class(es) "
                         f"{', '.join(record['missing_classes'])} (sampling=balanced gives "
                         f"k per class).")
    return lines


def task_notes(summaries: Iterable[Summary]) -> list[str]:
    """The caveats runs recorded about a task's data (a stand-in test set), once per task,
    so a score on a stand-in is never read as one on the real test set; and a task whose
    runs read different sources (the hub's rte and LM-BFF's), which one column mixes."""
    seen: dict[str, str] = {}
    sources: dict[str, set[str]] = {}
    for summary in summaries:
        for task, note in (summary.get("task_notes") or {}).items():
            seen.setdefault(task, note)
        for task, source in (summary.get("task_sources") or {}).items():
            sources.setdefault(task, set()).add(source)
    mixed = [f"{task}: runs on different data sources share this column "
             f"({', '.join(sorted(found))})." for task, found in sorted(sources.items())
             if len(found) > 1]
    return [f"{task}: {note}." for task, note in sorted(seen.items())] + mixed


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
    below_reference: bool = False  # a trained mean not above its best reference row

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
    reference: bool = False  # a reference row (no training; compt.references)

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
        return not row.reference and row.n_runs < self.expected

    @property
    def trained_rows(self) -> list[Row]:
        return [row for row in self.rows if not row.reference]


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
    notes += task_notes(ordered)
    return Table(label_names, columns, table_rows, expected, title, notes, digits)


# -- reference rows ----------------------------------------------------------------------

REFERENCE_MARK = "°"
REFERENCE_NOTE = (
    "ref rows: no training (docs/reports.md#reference-rows): majority = always the most "
    "frequent test label; zero-shot = the frozen backbone with no prompt; centroid / "
    "in-context = training-free k-shot on each run's own few-shot sample; mean ± std over "
    "the runs' data seeds.")
BELOW_NOTE = f"{REFERENCE_MARK} not above the best ref row of its setting in that column."


def reference_cells(scores: Mapping[int, Mapping[str, float]], columns: Sequence[str]
                    ) -> dict[str, Cell]:
    """A reference's cells: each task over the data seeds, the average of each seed's tasks."""
    per_seed = [scores[seed] for seed in sorted(scores)]
    cells = {c: make_cell([s[c] for s in per_seed if c in s]) for c in columns if c != AVERAGE}
    tasks = [c for c in columns if c != AVERAGE]
    cells[AVERAGE] = make_cell([math.fsum(s[t] for t in tasks if t in s) / n
                                for s in per_seed if (n := sum(t in s for t in tasks))])
    return cells


def _shown(cell: Cell, digits: int) -> float | None:
    """The mean as the table displays it."""
    return None if cell.mean is None else round(cell.mean, digits)


def _shared_labels(table: Table, members: Sequence[Row]) -> list[str]:
    """The label values all ``members`` share ("" where they differ; no variant)."""
    shared = [labels[0] if len(set(labels)) == 1 else ""
              for labels in zip(*(r.labels for r in members), strict=True)]
    shared = shared or [""] * len(table.label_names)
    if "variant" in table.label_names:
        shared[table.label_names.index("variant")] = ""
    return shared


def add_references(table: Table, sets: Sequence[ReferenceSet]) -> Table:
    """Append the reference rows of each setting under the trained rows, and mark every
    trained cell whose mean (as displayed) does not beat its setting's best reference.

    A setting's rows carry the labels its trained rows share; where two settings would
    read the same, the row names say what tells the settings apart."""
    name_at = table.label_names.index("method") if "method" in table.label_names else 0
    trained = table.trained_rows
    members = [[r for r in trained if set(r.run_ids) & set(refs.run_ids)] for refs in sets]
    shared = [_shared_labels(table, rows) for rows in members]
    clash = len({tuple(labels) for labels in shared}) < len(shared)
    for refs, runs, labels_of_set in zip(sets, members, shared, strict=True):
        rows = []
        for name, scores in refs.scores.items():
            title = f"{name} ({refs.setting})" if clash and refs.setting else name
            labels = tuple(title if i == name_at else v for i, v in enumerate(labels_of_set))
            rows.append(Row(labels, f"ref:{name}", [], reference_cells(scores, table.columns),
                            reference=True))
        for column in table.columns:
            shown = [m for r in rows if (m := _shown(r.cells[column], table.digits)) is not None]
            for row in runs:
                mean = _shown(row.cells[column], table.digits)
                row.cells[column].below_reference = bool(shown) and mean is not None and (
                    mean <= max(shown))
        table.rows += rows
    if any(r.reference for r in table.rows):
        table.notes.append(REFERENCE_NOTE)
    if any(c.below_reference for r in trained for c in r.cells.values()):
        table.notes.append(BELOW_NOTE)
    return table


# -- paired comparison -------------------------------------------------------------------


@dataclass
class Matched:
    """Our number and the baseline's for one unit: a seed (with its match keys)."""

    unit: tuple[Any, ...]
    value: float
    baseline: float

    @property
    def diff(self) -> float:
        return self.value - self.baseline


@dataclass
class Pair(Matched):
    """One (seed, task) pair: a task's scores on both sides."""

    task: str = ""


@dataclass
class SeedPair(Matched):
    """One seed's pair: the two runs' averages over the tasks both scored (the primary unit)."""

    tasks: int = 0


class NoPairs(ComptError):
    """Two sides share no (seed, task) pair: a configuration ``compare_each`` skips."""


@dataclass
class Comparison:
    """A group against a baseline: paired tests per seed (primary) and per (seed, task)
    pair (secondary: the tasks of one run are not independent), with the power of the
    per-seed test (compt.stats)."""

    name: str
    baseline: str
    match: tuple[str, ...]
    pairs: list[Pair]
    seeds: list[SeedPair]
    tasks: list[str]
    per_seed: PairedTest
    per_pair: PairedTest
    effect: float  # the effect whose seed count is asked for (points)
    detectable: float | None  # smallest effect the per-seed t-test detects at 80 % power
    seeds_needed: int | None  # seeds ``effect`` needs at the per-seed sd
    unmatched: int = 0
    p_holm: float | None = None  # per-seed t-test p, Holm-corrected over ``family`` tests
    family: int = 1

    @property
    def mean_diff(self) -> float:
        return self.per_pair.mean

    def unit_label(self, unit: tuple[Any, ...]) -> str:
        """``seed 0`` (``seed 0/data 1``), plus the match keys, e.g. ``seed 0 k=8``."""
        seed, data_seed, *matched = unit
        text = f"seed {seed}" if data_seed == seed else f"seed {seed}/data {data_seed}"
        return " ".join([text, *(f"{k}={v}" for k, v in zip(self.match, matched, strict=True))])


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


def paired_comparison(
    runs: Sequence[Summary],
    baseline: Sequence[Summary],
    value: str = "last",
    match: Sequence[str] = ("k",),
    name: str = "group",
    baseline_name: str = "baseline",
    effect: float = DEFAULT_EFFECT,
) -> Comparison:
    """Paired t-test and Wilcoxon signed-rank per seed and per (seed, task) pair.

    Runs are matched on their seeds plus the ``match`` keys (k by default), then per task;
    tasks or seeds present on one side only are left out and counted. A seed's pair is
    the two runs' averages over the tasks both scored, so both sides average alike.
    """
    from compt import stats

    ours, theirs = _by_unit(runs, match, "group"), _by_unit(baseline, match, "baseline")
    pairs: list[Pair] = []
    seeds: list[SeedPair] = []
    unmatched = len(set(ours) ^ set(theirs))
    for unit in sorted(set(ours) & set(theirs), key=repr):
        mine, base = run_scores(ours[unit], value)[0], run_scores(theirs[unit], value)[0]
        unmatched += len(set(mine) ^ set(base))
        matched = [Pair(unit, mine[t], base[t], task=t) for t in mine if t in base]
        if matched:
            pairs += matched
            seeds.append(SeedPair(unit, math.fsum(p.value for p in matched) / len(matched),
                                  math.fsum(p.baseline for p in matched) / len(matched),
                                  tasks=len(matched)))
    if not pairs:
        raise NoPairs(
            f"'{name}' and '{baseline_name}' share no (seed, task) pair to compare: check that "
            "both were run with the same seeds, tasks and k."
        )
    per_seed = stats.paired_test([s.diff for s in seeds])
    tasks = list(dict.fromkeys(p.task for p in pairs))
    return Comparison(name, baseline_name, tuple(match), pairs, seeds, tasks, per_seed,
                      stats.paired_test([p.diff for p in pairs]), effect,
                      stats.detectable_effect(per_seed.n, per_seed.sd),
                      stats.seeds_needed(effect, per_seed.sd), unmatched, per_seed.t_p)


def correct_holm(comparisons: Sequence[Comparison]) -> None:
    """Holm-correct the per-seed t-test p of comparisons one command makes together."""
    from compt.stats import holm

    pvalues = [c.per_seed.t_p for c in comparisons]
    family = sum(p is not None for p in pvalues)  # an undefined test is no test
    for comparison, adjusted in zip(comparisons, holm(pvalues), strict=True):
        comparison.p_holm, comparison.family = adjusted, family


def compare_each(
    configs: Sequence[Configuration],
    baseline: Sequence[Summary],
    baseline_name: str,
    value: str = "last",
    match: Sequence[str] = ("k",),
    effect: float = DEFAULT_EFFECT,
) -> tuple[list[Comparison], list[str]]:
    """Every configuration (bar the baseline's runs) against one baseline, Holm-corrected
    together; configurations sharing no pair with it are returned by title, skipped."""
    base_ids = {s.get("run_id") for s in baseline}
    comparisons, skipped = [], []
    for config in configs:
        runs = [s for s in config.runs if s.get("run_id") not in base_ids]
        if not runs:
            continue
        try:
            comparisons.append(paired_comparison(runs, baseline, value, match, config.title(),
                                                 baseline_name, effect))
        except NoPairs:
            skipped.append(config.title())
    if not comparisons:
        raise ComptError(
            f"Nothing to compare with '{baseline_name}': no other configuration shares a seed "
            "and task with it (check the seeds, tasks and --match keys of both sides)."
        )
    correct_holm(comparisons)
    return comparisons, skipped
