"""A sweep read along one key: the score against k, a learning rate or n_sources, one line
per method, each point the mean over the runs (seeds) that share it, with their spread.

Reference rows (majority, zero-shot, training-free k-shot) are drawn as horizontal lines
when a provider registered through ``register_reference_source`` has them; with none
registered (or none for these runs) the plot simply has no such lines.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compt.errors import ComptError
from compt.report import label_text

NOT_SWEPT = frozenset({"seed"})  # varies in every sweep, but is averaged over, not plotted
AVERAGE = "average"


@dataclass(frozen=True)
class ReferenceLine:
    """A score every method is measured against, drawn across the whole axis."""

    name: str
    value: float


# (the runs' summaries, their configs by run id, the task or None for the average)
#   -> the lines to draw
ReferenceSource = Callable[[Sequence[Mapping[str, Any]], dict[str, dict[str, Any]], str | None],
                           list[ReferenceLine]]
_REFERENCE_SOURCES: list[ReferenceSource] = []


def register_reference_source(source: ReferenceSource) -> None:
    """Let a module that knows reference scores put them on every sweep plot."""
    if source not in _REFERENCE_SOURCES:
        _REFERENCE_SOURCES.append(source)


def reference_lines(summaries: Sequence[Mapping[str, Any]], configs: dict[str, dict[str, Any]],
                    task: str | None) -> list[ReferenceLine]:
    """Every registered source's lines; a source that fails or has none adds nothing."""
    lines: list[ReferenceLine] = []
    for source in _REFERENCE_SOURCES:
        try:
            lines += source(summaries, configs, task)
        except ComptError:
            continue
    return lines


def cached_reference_lines(summaries: Sequence[Mapping[str, Any]],
                           configs: dict[str, dict[str, Any]],
                           task: str | None) -> list[ReferenceLine]:
    """The reference rows a report command has cached for these runs (the TUI never
    computes one: it would load a model), each the mean over the runs' data seeds of the
    task's score, or of the average over the tasks."""
    from compt.references import cached_references, config_reader

    sets = cached_references(summaries, config_reader(lambda s: configs.get(s["run_id"], {})))
    run_ids = [str(s["run_id"]) for s in summaries]
    lines = []
    for refs in sets:
        for name, by_seed in refs.over(run_ids).items():
            values = [scores[task] if task else statistics.fmean(scores.values())
                      for scores in by_seed.values() if (task in scores if task else scores)]
            if values:
                label = f"{name} ({refs.setting})" if refs.setting else name
                lines.append(ReferenceLine(label, statistics.fmean(values)))
    return lines


register_reference_source(cached_reference_lines)


@dataclass
class SweepLine:
    """One method's points: x values ascending, the mean score and its std over seeds."""

    label: str
    xs: list[float]
    means: list[float]
    stds: list[float]
    counts: list[int]


@dataclass
class SweepAxis:
    key: str
    score: str  # "average" or a task name
    lines: list[SweepLine]
    references: list[ReferenceLine]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def swept_keys(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Config keys with a number in every run and two or more values across them."""
    keys: list[str] = []
    for key in dict.fromkeys(k for config in configs for k in config):
        values = [_number(config.get(key)) for config in configs]
        if key not in NOT_SWEPT and None not in values and len(set(values)) > 1:
            keys.append(key)
    return keys


def score_names(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    """"average" and every task some run has a score for."""
    tasks = dict.fromkeys(t for s in summaries for t in (s.get("scores") or {}))
    return [AVERAGE, *tasks]


def sweep_axis(summaries: Sequence[Mapping[str, Any]], configs: dict[str, dict[str, Any]],
               key: str, score: str = AVERAGE) -> SweepAxis:
    """The points of ``score`` against ``key`` per method (runs without the score are left out)."""
    points: dict[str, dict[float, list[float]]] = {}
    for summary in summaries:
        x = _number(configs.get(summary["run_id"], {}).get(key))
        value = _number(summary.get("average") if score == AVERAGE
                        else (summary.get("scores") or {}).get(score))
        if x is not None and value is not None:
            method = label_text(summary.get("method"))
            points.setdefault(method, {}).setdefault(x, []).append(value)
    if not points:
        raise ComptError(f"No finished run has a {score} score and a number for {key}.")
    lines = []
    for method, by_x in points.items():
        xs = sorted(by_x)
        lines.append(SweepLine(method, xs, [statistics.fmean(by_x[x]) for x in xs],
                               [statistics.stdev(by_x[x]) if len(by_x[x]) > 1 else 0.0
                                for x in xs], [len(by_x[x]) for x in xs]))
    task = None if score == AVERAGE else score
    return SweepAxis(key, score, lines, reference_lines(summaries, configs, task))
