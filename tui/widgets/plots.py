"""Charts of several runs drawn with plotext in the terminal (textual-plotext's widget):
curves over steps, and a sweep's score against one config key.

Each run or method gets its own marker as well as its own colour, and the legend shows
the marker, so the lines stay apart with NO_COLOR.
"""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot

from tui.curves import MARKERS, SMOOTHING, RunCurves, smooth, thin, whole_ticks
from tui.sweep_axis import SweepAxis


def padded(axis: SweepAxis) -> tuple[float, float]:
    """The y range holding every mean ± std and reference line, with a little room above
    and below so that no line runs along the frame."""
    values = [v for line in axis.lines for m, s in zip(line.means, line.stds, strict=True)
              for v in (m - s, m + s)] + [r.value for r in axis.references]
    low, high = min(values), max(values)
    room = max(0.5, 0.08 * (high - low))
    return low - room, high + room

METRIC_TITLE = {"loss": "training loss", "eval": "eval average"}


class CurvesChart(PlotextPlot):
    """Runs' loss or eval average over steps, overlaid; ``add_rows`` extends a live run."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.curves: dict[str, RunCurves] = {}
        self.metric = "loss"
        self.smoothing = SMOOTHING[0]

    def on_mount(self) -> None:
        super().on_mount()
        self.replot()

    def set_runs(self, labels: dict[str, str]) -> None:
        """The runs to draw, by id, with their legend labels (their rows come later)."""
        self.curves = {run_id: RunCurves(label) for run_id, label in labels.items()}

    def add_rows(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        for run_id, new in rows.items():
            if run_id in self.curves and new:
                self.curves[run_id].add(new)
        if any(rows.values()) and self.is_mounted:
            self.replot()

    def next_metric(self) -> None:
        self.metric = "eval" if self.metric == "loss" else "loss"
        self.replot()

    def next_smoothing(self) -> None:
        self.smoothing = SMOOTHING[(SMOOTHING.index(self.smoothing) + 1) % len(SMOOTHING)]
        self.replot()

    @property
    def title(self) -> str:
        return f"{METRIC_TITLE[self.metric]} over steps · smoothing {self.smoothing:g}"

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("step")
        drawn: list[int] = []  # first and last step of every curve drawn
        for i, curve in enumerate(self.curves.values()):
            steps, values = curve.series(self.metric)
            if not steps:
                continue
            steps, values = thin(steps, smooth(values, self.smoothing))
            plt.plot(steps, values, marker=MARKERS[i % len(MARKERS)], label=curve.label)
            drawn += [steps[0], steps[-1]]
        if not drawn:
            plt.title(f"{self.title} · none logged yet")
        else:
            plt.xticks([float(t) for t in whole_ticks(min(drawn), max(drawn))])
        self.refresh()


class SweepChart(PlotextPlot):
    """One line per method against the swept key, error bars of one std over seeds, and
    reference scores as horizontal lines."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis: SweepAxis | None = None

    def show(self, axis: SweepAxis) -> None:
        self.axis = axis
        self.replot()

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        axis = self.axis
        if axis is None:
            return
        plt.title(f"{axis.score} against {axis.key} · mean ± std over seeds")
        plt.xlabel(axis.key)
        for i, line in enumerate(axis.lines):
            marker = MARKERS[i % len(MARKERS)]
            plt.plot(line.xs, line.means, marker=marker, label=line.label)
            if any(line.stds):
                plt.error(line.xs, line.means, yerr=line.stds)
        xs = sorted({x for line in axis.lines for x in line.xs})
        for reference in axis.references:
            plt.hline(reference.value)
            plt.text(f"{reference.name} {reference.value:.1f}", xs[0], reference.value,
                     alignment="left")
        plt.xticks(xs, [f"{x:g}" for x in xs])
        plt.ylim(*padded(axis))
        self.refresh()
