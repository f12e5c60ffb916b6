"""Typed messages that workers post to the UI thread (never touching widgets themselves)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.message import Message

from compt.store import Summary
from tui.live import LiveUpdate
from tui.rows import RunRow


class RunsLoaded(Message):
    """A fresh read of the whole index: every run, live ones with their status."""

    def __init__(self, rows: dict[str, RunRow], index_mtime: int | None) -> None:
        super().__init__()
        self.rows = rows
        self.index_mtime = index_mtime


class RunsChanged(Message):
    """Live updates for some runs (status, losses, or a finished run's new summary)."""

    def __init__(self, updates: list[LiveUpdate], summaries: dict[str, Summary]) -> None:
        super().__init__()
        self.updates = updates
        self.summaries = summaries


class RunFollowed(Message):
    """What one run's folder gained since the last look (the detail screen's live feed)."""

    def __init__(self, summary: dict[str, Any] | None, live: dict[str, Any] | None,
                 log_lines: list[str], metrics_rows: list[dict[str, Any]],
                 results: dict[str, Any] | None, config: dict[str, Any] | None,
                 results_problem: str | None = None) -> None:
        super().__init__()
        self.summary = summary  # the index summary; None: unchanged
        self.live = live  # status.json with the state corrected for a dead process; None: same
        self.log_lines = log_lines
        self.metrics_rows = metrics_rows
        self.results = results  # None: unchanged
        self.config = config  # config.json, on the first look only
        self.results_problem = results_problem  # why results.json cannot be shown; None: fine


class WorkerFailed(Message):
    """A background job failed: the app shows its error in a modal (one handler for all)."""

    def __init__(self, error: BaseException, job: str) -> None:
        super().__init__()
        self.error = error
        self.job = job


class CompareBuilt(Message):
    """The compare screen's views, built off the UI thread (or why a view cannot be)."""

    def __init__(self, views: dict[str, Any], problems: dict[str, str]) -> None:
        super().__init__()
        self.views = views
        self.problems = problems


class SweepRead(Message):
    """The compared runs' summaries and configs, for the sweep plot's axis."""

    def __init__(self, summaries: Sequence[Mapping[str, Any]],
                 configs: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.summaries = summaries
        self.configs = configs


class CurvesGrew(Message):
    """New metrics rows per run id (the curves chart's feed; live runs keep sending)."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.rows = rows
