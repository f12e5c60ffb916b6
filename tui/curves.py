"""Runs' training loss and evaluation scores over steps, as series one chart overlays.

A run's ``metrics.jsonl`` holds train rows (``step``, ``loss``) and eval rows (``step``,
``average``); ``RunCurves`` takes them in as the file grows, so a live run's curve extends
without re-reading what was read. Smoothing and tick placement live here, apart from the
widget, so they are tested without a terminal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

METRICS = ("loss", "eval")  # what a curves chart can show: training loss, eval average
MARKERS = ("●", "x", "+", "■", "◆", "*", "o", "#", "@", "%")  # one per run: NO_COLOR tells
SMOOTHING = (0.0, 0.6, 0.9)  # exponential moving-average weights the chart cycles through
MAX_POINTS = 400  # points drawn per run at most: a long run is thinned by a stride


@dataclass
class RunCurves:
    """One run's loss and eval points, in step order as logged."""

    label: str
    loss: tuple[list[int], list[float]] = field(default_factory=lambda: ([], []))
    eval: tuple[list[int], list[float]] = field(default_factory=lambda: ([], []))

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Take in new metrics rows (rows without a numeric step and value are skipped)."""
        for row in rows:
            step = row.get("step")
            if not isinstance(step, int) or isinstance(step, bool):
                continue
            if "eval" in row:
                _append(self.eval, step, row.get("average"))
            else:
                _append(self.loss, step, row.get("loss"))

    def series(self, metric: str) -> tuple[list[int], list[float]]:
        return self.loss if metric == "loss" else self.eval


def _append(series: tuple[list[int], list[float]], step: int, value: Any) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        series[0].append(step)
        series[1].append(float(value))


def smooth(values: list[float], weight: float) -> list[float]:
    """Exponential moving average, debiased so the first points are not pulled to zero
    (what TensorBoard and W&B call smoothing); ``weight`` 0 returns the values."""
    if weight <= 0:
        return list(values)
    out, average = [], 0.0
    for i, value in enumerate(values, 1):
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight ** i))
    return out


def thin(steps: list[int], values: list[float],
         limit: int = MAX_POINTS) -> tuple[list[int], list[float]]:
    """Every n-th point so at most about ``limit`` remain, always keeping the last."""
    stride = max(1, math.ceil(len(steps) / limit))
    if stride == 1:
        return steps, values
    keep = list(range(0, len(steps), stride))
    if keep[-1] != len(steps) - 1:
        keep.append(len(steps) - 1)
    return [steps[i] for i in keep], [values[i] for i in keep]


def whole_ticks(low: float, high: float, count: int = 5) -> list[int]:
    """At most ``count`` + 1 whole-number ticks on a 1-2-5 spacing covering low..high
    (steps are counted, so a tick never reads 2.5)."""
    span = max(1.0, high - low)
    raw = span / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    spacing = next((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    spacing = max(1, int(spacing))
    first = math.ceil(low / spacing) * spacing
    return list(range(int(first), int(high) + 1, spacing))
