"""The training loss over steps (plotext), fed row by row as metrics.jsonl grows."""

from __future__ import annotations

from typing import Any

from textual_plotext import PlotextPlot

MAX_POINTS = 1000  # points plotted at most: a longer run is thinned by a stride


class LossChart(PlotextPlot):
    """Loss per optimizer step; eval averages, when logged, are listed in the title."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps: list[float] = []
        self.losses: list[float] = []
        self.evals: list[tuple[int, float]] = []

    def on_mount(self) -> None:
        super().on_mount()
        self.replot()

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Take in new metrics rows (train rows carry a loss, eval rows an average)."""
        for row in rows:
            if "eval" in row and isinstance(row.get("average"), int | float):
                self.evals.append((int(row.get("step") or 0), float(row["average"])))
            elif isinstance(row.get("loss"), int | float) and isinstance(row.get("step"), int):
                self.steps.append(row["step"])
                self.losses.append(float(row["loss"]))
        if rows and self.is_mounted:
            self.replot()

    def replot(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        title = "training loss"
        if self.losses:
            title += f" · last {self.losses[-1]:.4f} at step {self.steps[-1]}"
        if self.evals:
            step, average = self.evals[-1]
            title += f" · eval avg {average:.1f} (step {step})"
        plt.title(title)
        plt.xlabel("step")
        if self.losses:
            stride = max(1, len(self.losses) // MAX_POINTS)
            plt.plot(self.steps[::stride], self.losses[::stride], marker="braille")
        self.refresh()
