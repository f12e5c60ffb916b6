"""The config diff of runs: only the keys whose values differ, one column per run.

The same question as ``compt diff A B``, for any number of runs, as data the compare
screen shows and exports (markdown / csv / latex) like its other views.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compt.config import differing_keys
from compt.export import latex_escape

ALWAYS = ("method", "k", "seed")  # shown even when equal: they name the runs


@dataclass
class ConfigDiff:
    """Keys (rows) x runs (columns) of config values that differ, and score rows."""

    run_ids: list[str]
    keys: list[str]
    values: list[list[str]]  # per key, per run
    scores: list[tuple[str, list[str]]]  # (task, score per run)

    @property
    def identical(self) -> bool:
        return not [k for k in self.keys if k not in ALWAYS]


def value_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | dict):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_diff(configs: dict[str, dict[str, Any]], summaries: Mapping[str, Mapping[str, Any]]
                ) -> ConfigDiff:
    """``configs``: run id -> the "config" dict of its config.json (same order as columns)."""
    run_ids = list(configs)
    keys = list(dict.fromkeys(k for c in configs.values() for k in c))
    changed = set(differing_keys(list(configs.values())))
    differ = [k for k in keys if k in ALWAYS or k in changed]
    values = [[value_text(configs[r].get(k)) for r in run_ids] for k in differ]
    tasks = list(dict.fromkeys(t for s in summaries.values() for t in s.get("scores") or {}))
    scores = [(t, [_score((summaries[r].get("scores") or {}).get(t)) for r in run_ids])
              for t in tasks]
    if tasks:
        scores.append(("average", [_score(summaries[r].get("average")) for r in run_ids]))
    return ConfigDiff(run_ids, differ, values, scores)


def _score(value: Any) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.1f}"


def _rows(diff: ConfigDiff) -> list[list[str]]:
    rows = [[k, *v] for k, v in zip(diff.keys, diff.values, strict=True)]
    return rows + [[f"score: {t}", *v] for t, v in diff.scores]


def render_diff(diff: ConfigDiff, fmt: str) -> str:
    """The diff as markdown, csv or latex text."""
    header = ["key", *diff.run_ids]
    rows = _rows(diff)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows([header, *rows])
        return buffer.getvalue()
    if fmt == "latex":
        lines = [f"\\begin{{tabular}}{{l{'l' * len(diff.run_ids)}}}", "\\toprule",
                 " & ".join(latex_escape(h) for h in header) + " \\\\", "\\midrule"]
        lines += [" & ".join(latex_escape(c) for c in row) + " \\\\" for row in rows]
        return "\n".join([*lines, "\\bottomrule", "\\end{tabular}"]) + "\n"
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
